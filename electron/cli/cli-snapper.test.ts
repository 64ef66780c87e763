import assert from 'node:assert/strict';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { PackageEntry } from '../../shared/types.ts';
import { findProgram, requireProgram, runSync, runSyncChecked } from '../core/exec.ts';
import { parseSnapperStatus } from '../core/files/snapper-letters.ts';
import {
  buildRpms,
  DEFAULT_RPMDB_DIR,
  type RpmSpec,
  rpmQueryPackages,
} from '../core/fixtures/rpm-fixture.ts';
import {
  buildSnapperRoot,
  DPKG_STATUS_IN_ROOT,
  type SnapperRoot,
  SSHD_CONFIG,
  snapperRootSkipReason,
} from '../core/fixtures/snapper-root.ts';
import { deltaByDpkg } from '../core/fixtures/test-support.ts';
import { assertOneLineError, cliRunner } from './cli-test-support.ts';

/**
 * The CLI on real snapper roots (loop-backed btrfs, real snapper, real rpm databases): `status`,
 * `packages diff`, `files diff`, `etc drift` and `history` checked against snapper's own list and
 * status, `rpm -qa`, `rpm -V` and `dpkg-query`; selectors as snapper flags its snapshots; the
 * commands that have no snapper side yet refused in one line.
 */

const { cli, json, cleanup } = cliRunner('cli-snapper');
after(cleanup);

const SKIP = snapperRootSkipReason();
const SKIP_DPKG = snapperRootSkipReason('dpkg') || (!findProgram('dpkg-query') && 'dpkg-query is missing');
if (SKIP) console.log(`# hindsight CLI on snapper roots: skipped — ${SKIP}`);

interface CliSnapshot {
  number: number;
  type: string;
  preNumber: number | null;
  date: string | null;
  user: string;
  cleanup: string;
  description: string;
  userdata: Record<string, string>;
  default: boolean;
  active: boolean;
}

interface CliStatus {
  backend: string;
  root: string;
  config: string;
  snapshots: CliSnapshot[];
  defaultSubvolume: { id: number; path: string; number: number | null };
  activeSubvolume: { id: number; path: string; number: number | null; readOnly: boolean };
  changes: Record<string, unknown>[];
}

interface CliDrift {
  backend: string;
  snapshot: { number: number; type: string };
  format: string;
  entries: { path: string; package: string; status: string; changes: string[]; letters: string }[];
  unchangedCount: number;
  pending: {
    path: string;
    mergePath: string;
    kind: string;
    holds: string;
    owners: string[];
    baseStatus: string | null;
  }[];
}

interface CliDelta {
  backend: string;
  from: { number: number; type: string; packages: number };
  to: { number: number; type: string; packages: number };
  format: string;
  added: PackageEntry[];
  removed: PackageEntry[];
  upgraded: { name: string; arch: string; from: string; to: string }[];
  downgraded: unknown[];
}

/** snapper's own list (`--utc --jsonout list`), in the CLI's field names. */
function snapperList(fx: SnapperRoot): CliSnapshot[] {
  const own = JSON.parse(fx.snapper(['--utc', '--jsonout', 'list'])) as {
    root: (Omit<CliSnapshot, 'preNumber' | 'userdata'> & {
      'pre-number': number | null;
      userdata: Record<string, string> | null;
    })[];
  };
  return own.root.map((e) => ({
    number: e.number,
    type: e.type,
    preNumber: e['pre-number'],
    date: e.date ? `${e.date.replace(' ', 'T')}Z` : null,
    user: e.user,
    cleanup: e.cleanup,
    description: e.description,
    userdata: e.userdata ?? {},
    default: e.default,
    active: e.active,
  }));
}

const folderOf = (fx: SnapperRoot, n: number): string =>
  n === 0 ? fx.root : join(fx.root, '.snapshots', String(n), 'snapshot');

/** `rpm -qa` on a snapshot: rpm opens its sqlite database for writing, so it queries a copy. */
function rpmQa(tree: string): PackageEntry[] {
  const copy = mkdtempSync(join(tmpdir(), 'hindsight-rpmdb-'));
  try {
    cpSync(join(tree, DEFAULT_RPMDB_DIR), join(copy, DEFAULT_RPMDB_DIR), { recursive: true });
    return rpmQueryPackages(copy);
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}

/** `dpkg-query -W` on a copy of the snapshot's dpkg status: installed packages only. */
function dpkgQuery(tree: string): PackageEntry[] {
  const admin = mkdtempSync(join(tmpdir(), 'hindsight-dpkg-admin-'));
  try {
    cpSync(join(tree, DPKG_STATUS_IN_ROOT), join(admin, 'status'));
    const out = runSyncChecked(requireProgram('dpkg-query'), [
      `--admindir=${admin}`,
      '-W',
      '-f',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax
      '${db:Status-Abbrev}\\t${Package}\\t${Version}\\t${Architecture}\\n',
    ]).toString('utf8');
    return out
      .split('\n')
      .filter((l) => l.startsWith('ii'))
      .map((l) => {
        const [, name = '', version = '', arch = ''] = l.split('\t');
        return { name, version, arch };
      });
  } finally {
    rmSync(admin, { recursive: true, force: true });
  }
}

/**
 * What the package manager's own lists say changed: by name, since these fixtures have one
 * architecture per name. Every version change in these stories is an upgrade.
 */
function expectedDelta(before: PackageEntry[], after: PackageEntry[]) {
  const old = new Map(before.map((p) => [p.name, p]));
  const now = new Map(after.map((p) => [p.name, p]));
  const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : 1);
  return {
    added: after.filter((p) => !old.has(p.name)).sort(byName),
    removed: before.filter((p) => !now.has(p.name)).sort(byName),
    upgraded: after
      .filter((p) => old.has(p.name) && old.get(p.name)?.version !== p.version)
      .map((p) => ({ name: p.name, arch: p.arch, from: old.get(p.name)?.version, to: p.version }))
      .sort(byName),
  };
}

interface CliFileEntry {
  path: string;
  pathBase64?: string;
  status: 'added' | 'removed' | 'modified';
  changes: string[];
  from: Record<string, unknown> | null;
  to: Record<string, unknown> | null;
}

interface CliFiles {
  backend: string;
  root: string;
  from: { number: number; type: string };
  to: { number: number; type: string };
  paths: string[];
  entries: CliFileEntry[];
  counts: { added: number; removed: number; modified: number };
  notEntered: number;
}

/** A path's bytes as one latin1 string: snapper prints names byte for byte, not as UTF-8. */
const bytesOf = (e: CliFileEntry): string =>
  (e.pathBase64 !== undefined ? Buffer.from(e.pathBase64, 'base64') : Buffer.from(e.path)).toString('latin1');

/** The CLI's entries in snapper status's own form: `c..... /path`, sorted. */
function asSnapperLines(files: CliFiles): string[] {
  return files.entries
    .map((e) => {
      const has = (c: string): boolean => e.changes.includes(c);
      const letters =
        e.status === 'added'
          ? '+.....'
          : e.status === 'removed'
            ? '-.....'
            : `${has('type') ? 't' : has('content') || has('target') ? 'c' : '.'}${has('mode') ? 'p' : '.'}${has('owner') ? 'u' : '.'}${has('group') ? 'g' : '.'}..`;
      return `${letters} ${bytesOf(e)}`;
    })
    .sort();
}

/** `snapper status FROM..TO`, read byte for byte; only paths under `under` (bytes, no slashes) when given. */
function snapperStatus(fx: SnapperRoot, from: number, to: number, under?: string): string[] {
  const out = runSyncChecked(
    requireProgram('snapper'),
    ['--no-dbus', '--root', fx.root, 'status', `${from}..${to}`],
    {
      env: { ...process.env, LC_ALL: 'C' },
    },
  ).toString('latin1');
  return parseSnapperStatus(out)
    .filter((l) => under === undefined || l.path === `/${under}` || l.path.startsWith(`/${under}/`))
    .map((l) => `${l.letters} ${l.path}`)
    .sort();
}

/** `rpm -V -a` on a root, config files only: path -> `missing` or the letters 5 L M U G that failed. */
function rpmVerifyConfig(tree: string): Map<string, string> {
  const result = runSync(
    requireProgram('rpm'),
    ['--root', tree, '--dbpath', `/${DEFAULT_RPMDB_DIR}`, '-V', '-a'],
    {
      env: { ...process.env, LC_ALL: 'C' },
    },
  );
  const out = new Map<string, string>();
  for (const line of result.stdout.toString('utf8').split('\n')) {
    const m = /^(missing|\S{9}) +(?:([cdglra]) )?(\/.*)$/.exec(line);
    if (m?.[2] !== 'c') continue;
    const flags = m[1] as string;
    // S and T are not checked: a changed size is a changed digest, and mtimes say nothing of content.
    out.set(
      m[3] as string,
      flags === 'missing'
        ? 'missing'
        : [...flags]
            .filter((c) => '5LMUG'.includes(c))
            .sort()
            .join(''),
    );
  }
  return out;
}

function actualDelta(delta: CliDelta) {
  const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : 1);
  return {
    added: [...delta.added].sort(byName),
    removed: [...delta.removed].sort(byName),
    upgraded: [...delta.upgraded].sort(byName),
  };
}

describe('hindsight CLI on a Tumbleweed-like snapper root (rpm)', { skip: SKIP }, () => {
  let fx: SnapperRoot;
  before(() => {
    fx = buildSnapperRoot({ flavour: 'tumbleweed' });
  });
  after(() => fx?.cleanup());

  it('status --json lists what `snapper --no-dbus --root R --jsonout list` lists, and names the backend', () => {
    const status = json<CliStatus>(['status', '--sysroot', fx.root]);
    assert.equal(status.backend, 'snapper');
    assert.equal(status.root, fx.root);
    assert.equal(status.config, 'root');
    assert.deepEqual(status.snapshots, snapperList(fx));
    assert.deepEqual(status.defaultSubvolume, {
      id: status.defaultSubvolume.id,
      path: '@/.snapshots/1/snapshot',
      number: 1,
    });
    assert.deepEqual(status.activeSubvolume, {
      id: status.defaultSubvolume.id,
      path: '@/.snapshots/1/snapshot',
      number: 1,
      readOnly: false,
    });
    const { install, upgrade, timeline } = fx.story;
    assert.ok(install && upgrade && timeline);
    assert.deepEqual(status.changes, [
      { kind: 'single', number: 1, description: 'first root filesystem' },
      {
        kind: 'pre-post',
        description: 'zypper in foo',
        userdata: { important: 'yes' },
        pre: install.pre,
        post: install.post,
      },
      {
        kind: 'pre-post',
        description: 'zypper dup',
        userdata: { important: 'no' },
        pre: upgrade.pre,
        post: upgrade.post,
      },
      { kind: 'single', number: timeline, description: 'timeline' },
    ]);
  });

  it('packages diff --changelogs gives the entries rpm -q --changelog lists above the old version, and their CVEs', () => {
    const { pre, post } = fx.story.upgrade as { pre: number; post: number };
    const result = json<{
      changelogs: {
        packages: {
          name: string;
          direction: string;
          changelog: { entries: { version: string; text: string }[] } | null;
        }[];
        cvesFixed: string[];
      };
    }>(['packages', 'diff', String(pre), String(post), '--changelogs', '--sysroot', fx.root]);
    const openssh = result.changelogs.packages.find((p) => p.name === 'openssh');
    assert.equal(openssh?.direction, 'upgrade');
    // rpm's own view of the new package's changelog, from a copy of the post snapshot's database.
    const copy = mkdtempSync(join(tmpdir(), 'hindsight-rpmdb-'));
    let rpmLog = '';
    try {
      cpSync(join(folderOf(fx, post), DEFAULT_RPMDB_DIR), join(copy, DEFAULT_RPMDB_DIR), { recursive: true });
      rpmLog = runSyncChecked(requireProgram('rpm'), [
        '--root',
        copy,
        '--dbpath',
        `/${DEFAULT_RPMDB_DIR}`,
        '-q',
        '--changelog',
        'openssh',
      ]).toString('utf8');
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
    // rpm lists all three; the ones newer than 9.6p1-1.1 are what the upgrade brought.
    const rpmVersions = [...rpmLog.matchAll(/^\* .* - (\S+)$/gm)].map((m) => m[1]);
    assert.deepEqual(rpmVersions, ['9.8p1-2.1', '9.8p1-1.1', '9.6p1-1.1']);
    assert.deepEqual(
      openssh?.changelog?.entries.map((e) => e.version),
      ['9.8p1-2.1', '9.8p1-1.1'],
    );
    assert.match(openssh?.changelog?.entries[0]?.text ?? '', /signal handler race/);
    assert.deepEqual(result.changelogs.cvesFixed, ['CVE-2024-6387']);
    const human = cli(['packages', 'diff', String(pre), String(post), '--changelogs', '--sysroot', fx.root]);
    assert.match(human.stdout, /^Fixes 1 CVE: CVE-2024-6387\.$/m);
  });

  it('status says which backend it read, and shows each pre/post pair as one change', () => {
    const result = cli(['status', '--sysroot', fx.root]);
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.split('\n');
    assert.equal(lines[0], `snapper root ${fx.root} (config root)`);
    const { upgrade } = fx.story;
    assert.ok(upgrade);
    const row = lines.find((l) => l.includes(`${upgrade.pre}..${upgrade.post} `));
    assert.ok(row, result.stdout);
    assert.match(row, /pre\/post .* number\s+zypper dup\s+important=no/);
    // One row per change: snapshot 0, the single 1, two pairs and the timeline snapshot.
    assert.equal(lines.filter((l) => /^[● ]\s+\d/.test(l)).length, 5, result.stdout);
    assert.match(result.stdout, /^● +1 +single .*active, default$/m);
    assert.match(
      result.stdout,
      /^Boots next: snapshot 1 \(default subvolume @\/\.snapshots\/1\/snapshot\)\.$/m,
    );
  });

  it('packages diff between the pre and post of "zypper dup" is what rpm -qa says of both snapshots', () => {
    const { upgrade } = fx.story;
    assert.ok(upgrade);
    const delta = json<CliDelta>([
      'packages',
      'diff',
      String(upgrade.pre),
      String(upgrade.post),
      '--sysroot',
      fx.root,
    ]);
    const before = rpmQa(folderOf(fx, upgrade.pre));
    const after = rpmQa(folderOf(fx, upgrade.post));
    assert.equal(delta.backend, 'snapper');
    assert.equal(delta.format, 'rpm');
    assert.deepEqual(
      [delta.from.number, delta.from.type, delta.to.number, delta.to.type],
      [upgrade.pre, 'pre', upgrade.post, 'post'],
    );
    assert.equal(delta.from.packages, before.length);
    assert.equal(delta.to.packages, after.length);
    assert.deepEqual(actualDelta(delta), expectedDelta(before, after));
    assert.deepEqual(delta.downgraded, []);
    // The story itself, so that an empty delta on both sides cannot pass.
    assert.deepEqual(delta.upgraded.map((c) => c.name).sort(), ['bash', 'openssh']);
    assert.deepEqual(
      delta.removed.map((p) => p.name),
      ['oldtool'],
    );

    const human = cli(['packages', 'diff', String(upgrade.pre), String(upgrade.post), '--sysroot', fx.root]);
    assert.equal(human.code, 0, human.stderr);
    const lines = human.stdout.split('\n');
    assert.equal(lines[0], `snapper root ${fx.root} (config root)`);
    assert.match(lines[1] as string, new RegExp(`^<<< snapshot ${upgrade.pre} \\(pre\\): zypper dup `));
    assert.match(
      lines[2] as string,
      new RegExp(`^>>> snapshot ${upgrade.post} \\(post of ${upgrade.pre}\\): zypper dup `),
    );
    assert.match(human.stdout, /^Packages: 5 -> 4 \(2 upgraded, 0 downgraded, 0 added, 1 removed\)\.$/m);
  });

  it('current (snapshot 0) is the live root: its packages are what rpm -qa says of the root', () => {
    const { install } = fx.story;
    assert.ok(install);
    const delta = json<CliDelta>(['packages', 'diff', String(install.pre), 'current', '--sysroot', fx.root]);
    assert.equal(delta.to.number, 0);
    assert.deepEqual(actualDelta(delta), expectedDelta(rpmQa(folderOf(fx, install.pre)), rpmQa(fx.root)));
  });

  it('selectors: default and active (and booted) name the snapshots snapper flags so', () => {
    const flagged = (flag: 'default' | 'active') =>
      snapperList(fx)
        .filter((s) => s[flag])
        .map((s) => s.number);
    for (const [selector, flag] of [
      ['default', 'default'],
      ['active', 'active'],
      ['booted', 'active'],
    ] as const) {
      const delta = json<CliDelta>(['packages', 'diff', selector, '0', '--sysroot', fx.root]);
      assert.deepEqual([delta.from.number], flagged(flag), selector);
    }
  });

  it('bad and unknown selectors are one-line errors with their codes', () => {
    const bad = assertOneLineError(
      cli(['packages', 'diff', 'rollback', '1', '--sysroot', fx.root, '--json']),
      'bad-selector',
      2,
    );
    assert.match(bad, /"rollback" is not a snapshot selector/);
    const none = assertOneLineError(
      cli(['packages', 'diff', '99', '1', '--sysroot', fx.root, '--json']),
      'no-such-deployment',
    );
    assert.match(none, /no snapshot 99 in .* \(snapper lists 0, 1, 2, 3, 4, 5, 6\)$/);
    assertOneLineError(cli(['status', '--os', 'debian', '--sysroot', fx.root, '--json']), 'bad-request', 2);
  });

  it('commands with no snapper side yet are refused in one line, with the code unsupported', () => {
    for (const args of [
      ['upgrade', '--check'],
      ['etc', 'merge', '4', '5'],
      ['etc', 'apply', '4', '5', '--path', 'hosts', '--take', 'local'],
      ['rollback-preview'],
      ['pin', '3'],
    ]) {
      const line = assertOneLineError(cli([...args, '--sysroot', fx.root, '--json']), 'unsupported');
      assert.match(line, /is not supported on snapper roots yet/, args.join(' '));
    }
  });

  it('files diff between the pre and post of "zypper dup" is what snapper status lists, path for path', () => {
    const { upgrade } = fx.story;
    assert.ok(upgrade);
    const files = json<CliFiles>([
      'files',
      'diff',
      String(upgrade.pre),
      String(upgrade.post),
      '--sysroot',
      fx.root,
    ]);
    assert.equal(files.backend, 'snapper');
    assert.deepEqual(
      [files.from.number, files.from.type, files.to.number, files.to.type],
      [upgrade.pre, 'pre', upgrade.post, 'post'],
    );
    const theirs = snapperStatus(fx, upgrade.pre, upgrade.post);
    assert.deepEqual(asSnapperLines(files), theirs);
    assert.ok(theirs.includes('+..... /etc/ssh/sshd_config.rpmnew'), theirs.join('\n'));
    assert.ok(theirs.includes('-..... /usr/bin/oldtool'), theirs.join('\n'));
    const count = (s: string) => files.entries.filter((e) => e.status === s).length;
    assert.deepEqual(files.counts, {
      added: count('added'),
      removed: count('removed'),
      modified: count('modified'),
    });
    const bash = files.entries.find((e) => e.path === '/usr/bin/bash-fixture');
    assert.deepEqual(
      [bash?.status, bash?.changes, bash?.from?.type, bash?.to?.type],
      ['modified', ['content'], 'file', 'file'],
    );

    const human = cli(['files', 'diff', String(upgrade.pre), String(upgrade.post), '--sysroot', fx.root]);
    assert.equal(human.code, 0, human.stderr);
    assert.equal(human.stdout.split('\n')[0], `snapper root ${fx.root} (config root)`);
    assert.match(human.stdout, /^\+\.{5} \/etc\/ssh\/sshd_config\.rpmnew$/m);
    assert.match(human.stdout, /^c\.{5} \/usr\/bin\/bash-fixture {2}\(content\)$/m);
    const { added, removed, modified } = files.counts;
    assert.match(
      human.stdout,
      new RegExp(`^${added} added, ${removed} removed, ${modified} modified\\.$`, 'm'),
    );
  });

  it('files diff to the live root: a name that is not UTF-8 comes with its exact bytes, mounts are not entered', () => {
    const { timeline } = fx.story;
    assert.ok(timeline);
    const name = Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a, 0x21]); // "café" in latin1, a newline, "!"
    writeFileSync(Buffer.concat([Buffer.from(`${fx.root}/etc/`), name]), 'not UTF-8\n');
    const files = json<CliFiles>(['files', 'diff', String(timeline), 'current', '--sysroot', fx.root]);
    assert.equal(files.to.number, 0);
    const odd = files.entries.find((e) => e.pathBase64 !== undefined);
    assert.ok(odd, JSON.stringify(files.entries));
    assert.deepEqual(
      Buffer.from(odd.pathBase64 as string, 'base64'),
      Buffer.concat([Buffer.from('/etc/'), name]),
    );
    assert.equal(odd.path, '/etc/caf\\xe9\\n!');
    assert.equal(odd.status, 'added');
    // .snapshots, home and var are other subvolumes mounted into the live root.
    assert.equal(files.notEntered, 3);
    assert.ok(!files.entries.some((e) => /^\/(\.snapshots|home|var)\//.test(e.path)));
    // snapper prints the newline as it is, so its line for this name breaks in two: compare the rest.
    const all = snapperStatus(fx, timeline, 0);
    assert.ok(all.includes('+..... /etc/caf\u00e9'), 'snapper lists the name up to its newline');
    const theirs = all.filter((l) => !l.includes('/etc/caf'));
    assert.deepEqual(
      asSnapperLines(files).filter((l) => !l.includes('/etc/caf')),
      theirs,
    );
    assert.ok(theirs.includes('c..... /etc/motd'), theirs.join('\n'));
    const human = cli(['files', 'diff', String(timeline), 'current', '--sysroot', fx.root]);
    assert.match(human.stdout, /^\+\.{5} "\/etc\/caf\\xe9\\n!"$/m);
    assert.match(human.stdout, /^Not entered: 3 nested subvolumes or mount points /m);
  });

  it('files diff PATH... keeps to those subtrees, with or without the leading slash', () => {
    const { install } = fx.story;
    assert.ok(install);
    const range = [String(install.pre), String(install.post)];
    const etc = json<CliFiles>(['files', 'diff', ...range, 'etc', '--sysroot', fx.root]);
    assert.deepEqual(etc.paths, ['etc']);
    assert.deepEqual(asSnapperLines(etc), snapperStatus(fx, install.pre, install.post, 'etc'));
    assert.deepEqual(asSnapperLines(etc), ['+..... /etc/foo.conf']);
    const both = json<CliFiles>(['files', 'diff', ...range, '/etc/', '/usr/bin', '--sysroot', fx.root]);
    assert.deepEqual(
      asSnapperLines(both),
      [
        ...snapperStatus(fx, install.pre, install.post, 'etc'),
        ...snapperStatus(fx, install.pre, install.post, 'usr/bin'),
      ].sort(),
    );
    assert.ok(asSnapperLines(both).includes('+..... /usr/bin/foo'));
    assert.deepEqual(
      json<CliFiles>(['files', 'diff', ...range, 'nowhere', '--sysroot', fx.root]).entries,
      [],
    );
    assertOneLineError(
      cli(['files', 'diff', ...range, '../etc', '--sysroot', fx.root, '--json']),
      'bad-request',
      2,
    );
  });

  it('files diff: bad selectors, unknown snapshots and a missing TO are one-line errors', () => {
    assert.match(
      assertOneLineError(
        cli(['files', 'diff', 'rollback', '1', '--sysroot', fx.root, '--json']),
        'bad-selector',
        2,
      ),
      /"rollback" is not a snapshot selector/,
    );
    assert.match(
      assertOneLineError(
        cli(['files', 'diff', '1', '99', '--sysroot', fx.root, '--json']),
        'no-such-deployment',
      ),
      /no snapshot 99 in /,
    );
    assertOneLineError(cli(['files', 'diff', '1', '--sysroot', fx.root, '--json']), 'bad-request', 2);
    assertOneLineError(cli(['files', 'list', '1', '2', '--sysroot', fx.root, '--json']), 'bad-request', 2);
    assert.match(
      assertOneLineError(cli(['etc', 'drift', 'staged', '--sysroot', fx.root, '--json']), 'bad-selector', 2),
      /"staged" is not a snapshot selector/,
    );
    assertOneLineError(cli(['etc', 'drift', '99', '--sysroot', fx.root, '--json']), 'no-such-deployment');
  });

  it('history lists the changes snapper recorded, newest first, a pre/post pair as one change', () => {
    const { install, upgrade, timeline } = fx.story;
    assert.ok(install && upgrade && timeline);
    const history = json<{ backend: string; total: number; changes: Record<string, unknown>[] }>([
      'history',
      '--sysroot',
      fx.root,
    ]);
    assert.equal(history.backend, 'snapper');
    const list = snapperList(fx);
    const at = (n: number) => list.find((s) => s.number === n) as CliSnapshot;
    assert.deepEqual(
      history.changes.map((c) => [c.kind, c.number, c.pre, c.post, c.description]),
      [
        ['single', timeline, null, null, 'timeline'],
        ['pre-post', null, upgrade.pre, upgrade.post, 'zypper dup'],
        ['pre-post', null, install.pre, install.post, 'zypper in foo'],
        ['single', 1, null, null, 'first root filesystem'],
      ],
    );
    assert.equal(history.total, 4);
    const dup = history.changes[1] as Record<string, unknown>;
    assert.deepEqual(dup, {
      kind: 'pre-post',
      number: null,
      pre: upgrade.pre,
      post: upgrade.post,
      description: 'zypper dup',
      userdata: { important: 'no' },
      date: at(upgrade.pre).date,
      endDate: at(upgrade.post).date,
      user: 'root',
      cleanup: 'number',
      default: false,
      active: false,
    });
    const limited = json<{ total: number; changes: unknown[] }>([
      'history',
      '--limit',
      '2',
      '--sysroot',
      fx.root,
    ]);
    assert.deepEqual([limited.total, limited.changes.length], [4, 2]);

    const human = cli(['history', '--sysroot', fx.root]);
    assert.equal(human.code, 0, human.stderr);
    const rows = human.stdout.split('\n').filter((l) => l.includes('zypper dup'));
    assert.equal(rows.length, 1, human.stdout);
    assert.match(
      rows[0] as string,
      new RegExp(`^${upgrade.pre}\\.\\.${upgrade.post} +pre/post .* zypper dup +important=no$`),
    );
    assert.match(
      cli(['history', '--limit', '1', '--sysroot', fx.root]).stdout,
      /^3 older not shown \(--limit\)\.$/m,
    );
    assertOneLineError(cli(['history', '--limit', '0', '--sysroot', fx.root, '--json']), 'bad-request', 2);
  });

  it('etc drift of the post of "zypper dup" lists the .rpmnew rpm left as a pending merge', () => {
    const { upgrade } = fx.story;
    assert.ok(upgrade);
    const drift = json<CliDrift>(['etc', 'drift', String(upgrade.post), '--sysroot', fx.root]);
    assert.equal(drift.snapshot.number, upgrade.post);
    assert.equal(drift.format, 'rpm');
    assert.deepEqual(
      drift.pending.map((p) => [p.path, p.mergePath, p.kind, p.holds]),
      [[`/${SSHD_CONFIG}`, `/${SSHD_CONFIG}.rpmnew`, 'rpmnew', 'upstream']],
    );
    // Before the upgrade there was nothing to merge.
    assert.deepEqual(json<CliDrift>(['etc', 'drift', String(upgrade.pre), '--sysroot', fx.root]).pending, []);
  });

  // Last: it installs into the live root, which the tests above compare.
  it('etc drift of the live root is what rpm -V says of its config files, with the pending merge', () => {
    // The fixture's packages declare no %config: openssh again, now with sshd_config as
    // %config(noreplace), over the local edit, so rpm itself keeps the edit and writes the .rpmnew;
    // and a package whose config files are then changed the ways rpm -V tells apart.
    const specs: RpmSpec[] = [
      {
        name: 'openssh',
        version: '9.8p1',
        release: '3.1',
        files: { [`/${SSHD_CONFIG}`]: '# sshd_config from openssh 9.8p1-3.1\nPort 22\n' },
        config: [`/${SSHD_CONFIG}`],
      },
      {
        name: 'cfgtool',
        version: '1.0',
        release: '1.1',
        files: {
          '/etc/cfgtool/mode.conf': 'mode\n',
          '/etc/cfgtool/gone.conf': 'gone\n',
          '/etc/cfgtool/owner.conf': 'owner\n',
          '/etc/cfgtool/kept.conf': 'kept\n',
        },
        config: [
          '/etc/cfgtool/mode.conf',
          '/etc/cfgtool/gone.conf',
          '/etc/cfgtool/owner.conf',
          '/etc/cfgtool/kept.conf',
        ],
      },
    ];
    const rpms = buildRpms(specs, join(tmpdir(), 'hindsight-rpm-cache'));
    const rpmArgs = [
      '--root',
      fx.root,
      '--dbpath',
      `/${DEFAULT_RPMDB_DIR}`,
      '--nodeps',
      '--noscripts',
      '--notriggers',
    ];
    runSyncChecked(requireProgram('rpm'), [...rpmArgs, '-U', ...rpms], {
      env: { ...process.env, LC_ALL: 'C' },
    });
    chmodSync(join(fx.root, 'etc/cfgtool/mode.conf'), 0o600);
    unlinkSync(join(fx.root, 'etc/cfgtool/gone.conf'));
    chownSync(join(fx.root, 'etc/cfgtool/owner.conf'), 1, 0);

    const drift = json<CliDrift>(['etc', 'drift', '--sysroot', fx.root]);
    assert.equal(drift.snapshot.number, 0);
    const theirs = rpmVerifyConfig(fx.root);
    const ours = new Map(
      drift.entries.map((e) => [e.path, e.status === 'missing' ? 'missing' : [...e.letters].sort().join('')]),
    );
    assert.deepEqual(new Map([...ours].sort()), new Map([...theirs].sort()));
    assert.deepEqual(Object.fromEntries([...ours].sort()), {
      '/etc/cfgtool/gone.conf': 'missing',
      '/etc/cfgtool/mode.conf': 'M',
      '/etc/cfgtool/owner.conf': 'U',
      [`/${SSHD_CONFIG}`]: '5',
    });
    const sshd = drift.entries.find((e) => e.path === `/${SSHD_CONFIG}`);
    assert.deepEqual([sshd?.package, sshd?.status, sshd?.changes], ['openssh', 'modified', ['content']]);
    assert.equal(drift.unchangedCount, 1);
    assert.deepEqual(
      drift.pending.map((p) => [p.path, p.mergePath, p.kind, p.owners, p.baseStatus]),
      [[`/${SSHD_CONFIG}`, `/${SSHD_CONFIG}.rpmnew`, 'rpmnew', ['openssh'], 'modified']],
    );

    const human = cli(['etc', 'drift', '--sysroot', fx.root]);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /^modified +5 +\/etc\/ssh\/sshd_config +openssh +content$/m);
    assert.match(human.stdout, /^missing +- +\/etc\/cfgtool\/gone\.conf +cfgtool/m);
    assert.match(human.stdout, /^4 config files not as installed, 1 unchanged\.$/m);
    assert.match(
      human.stdout,
      /^ {2}pending merge {2}\/etc\/ssh\/sshd_config\.rpmnew: the package's new version, not merged into \/etc\/ssh\/sshd_config \(openssh\)$/m,
    );
  });
});

describe('hindsight CLI on a MicroOS-like snapper root (an update waiting)', { skip: SKIP }, () => {
  let fx: SnapperRoot;
  before(() => {
    fx = buildSnapperRoot({ flavour: 'microos' });
  });
  after(() => fx?.cleanup());

  it('status flags the update default and the running root active, as snapper does', () => {
    const status = json<CliStatus>(['status', '--sysroot', fx.root]);
    assert.deepEqual(status.snapshots, snapperList(fx));
    const update = fx.story.update as number;
    assert.deepEqual(
      status.snapshots.filter((s) => s.default).map((s) => s.number),
      [update],
    );
    assert.deepEqual(
      status.snapshots.filter((s) => s.active).map((s) => s.number),
      [1],
    );
    const human = cli(['status', '--sysroot', fx.root]);
    assert.match(human.stdout, new RegExp(`^Boots next: snapshot ${update} `, 'm'));
    assert.match(human.stdout, /^Active \(mounted at .*\): snapshot 1, read-only\.$/m);
  });

  it('packages diff active default: what the update brings, as rpm -qa says of both snapshots', () => {
    const delta = json<CliDelta>(['packages', 'diff', 'active', 'default', '--sysroot', fx.root]);
    const update = fx.story.update as number;
    assert.deepEqual([delta.from.number, delta.to.number], [1, update]);
    assert.deepEqual(actualDelta(delta), expectedDelta(rpmQa(folderOf(fx, 1)), rpmQa(folderOf(fx, update))));
    assert.deepEqual(
      delta.added.map((p) => p.name),
      ['foo'],
    );
  });
});

/** What btrfs says boots next: the default subvolume's path from the filesystem's top. */
function defaultSubvolumePath(root: string): string {
  const line = runSyncChecked(requireProgram('btrfs'), ['subvolume', 'get-default', root]).toString('utf8');
  return / path (\S+)\s*$/.exec(line)?.[1] ?? line.trim();
}

interface CliOperation {
  message: string;
  status: {
    snapshots: CliSnapshot[];
    pendingRollback: { target: number; previousDefault: number; made: number[] } | null;
  };
}

describe('hindsight CLI changes a snapper root through the helper', { skip: SKIP }, () => {
  let fx: SnapperRoot;
  before(() => {
    fx = buildSnapperRoot({ flavour: 'tumbleweed' });
  });
  after(() => fx?.cleanup());

  it('rollback --to the install pre snapshot boots a writable copy of it next, as btrfs and snapper say; --undo puts 1 back', () => {
    const pre = (fx.story.install as { pre: number }).pre;
    const before = snapperList(fx).map((s) => s.number);
    const done = json<CliOperation>(['rollback', '--to', String(pre), '--sysroot', fx.root]);
    const listed = snapperList(fx);
    const made = listed.map((s) => s.number).filter((n) => !before.includes(n));
    assert.equal(made.length, 2, 'a backup and a writable copy');
    const copy = Math.max(...made);
    assert.equal(defaultSubvolumePath(fx.root), `@/.snapshots/${copy}/snapshot`);
    assert.deepEqual(
      listed.filter((s) => s.default).map((s) => s.number),
      [copy],
    );
    assert.deepEqual(done.status.pendingRollback, {
      target: pre,
      previousDefault: 1,
      made: made.sort((a, b) => a - b),
    });
    assert.deepEqual(done.status.snapshots, listed);

    const human = cli(['rollback', '--undo', '--sysroot', fx.root]);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /^Snapshot 1 boots next again/m);
    assert.equal(defaultSubvolumePath(fx.root), '@/.snapshots/1/snapshot');
    assert.deepEqual(
      snapperList(fx).map((s) => s.number),
      before,
    );
    const again = cli(['rollback', '--undo', '--sysroot', fx.root, '--json']);
    assertOneLineError(again, 'refused');
  });

  it('rollback needs --to on a snapper root, and refuses what is no snapshot', () => {
    assertOneLineError(cli(['rollback', '--sysroot', fx.root, '--json']), 'bad-request', 2);
    assertOneLineError(cli(['rollback', '--to', '99', '--sysroot', fx.root, '--json']), 'no-such-deployment');
    assertOneLineError(cli(['rollback', '--to', 'current', '--sysroot', fx.root, '--json']), 'refused');
  });

  it('snapshot modify sets the description and userdata snapper lists; snapshot delete removes a pre and its post together', () => {
    const timeline = fx.story.timeline as number;
    const modified = cli([
      'snapshot',
      'modify',
      String(timeline),
      '--description',
      'before the party',
      '--userdata',
      'important=yes',
      '--sysroot',
      fx.root,
    ]);
    assert.equal(modified.code, 0, modified.stderr);
    const shown = snapperList(fx).find((s) => s.number === timeline);
    assert.equal(shown?.description, 'before the party');
    assert.deepEqual(shown?.userdata, { important: 'yes' });

    const { pre, post } = fx.story.install as { pre: number; post: number };
    const half = cli(['snapshot', 'delete', String(pre), '--sysroot', fx.root, '--json']);
    assert.match(assertOneLineError(half, 'refused'), /delete both/);
    const both = cli(['snapshot', 'delete', String(pre), String(post), '--sysroot', fx.root]);
    assert.equal(both.code, 0, both.stderr);
    const left = snapperList(fx).map((s) => s.number);
    assert.ok(!left.includes(pre) && !left.includes(post), `${pre} and ${post} are gone: ${left}`);
    assertOneLineError(cli(['snapshot', 'delete', '1', '--sysroot', fx.root, '--json']), 'refused');
  });
});

describe('hindsight CLI settles a pending .rpmnew and restores a file, with undo', { skip: SKIP }, () => {
  let fx: SnapperRoot;
  before(() => {
    fx = buildSnapperRoot({ flavour: 'tumbleweed' });
  });
  after(() => fx?.cleanup());

  const rpmVerify = (pkg: string): string =>
    runSync(requireProgram('rpm'), [
      '--root',
      fx.root,
      '--dbpath',
      `/${DEFAULT_RPMDB_DIR}`,
      '-V',
      pkg,
    ]).stdout.toString('utf8');

  it('etc resolve --take merged writes the three-way merge (the local Port and the new line), drops the .rpmnew; etc undo puts both back', () => {
    const file = join(fx.root, SSHD_CONFIG);
    const rpmnew = `${file}.rpmnew`;
    const [before, beforeNew] = [readFileSync(file), readFileSync(rpmnew)];
    assert.match(rpmVerify('openssh'), /^S\.5\S* +c \/etc\/ssh\/sshd_config$/m, 'rpm -V: the local edit');
    const done = json<CliOperation & { backupId: string }>([
      'etc',
      'resolve',
      '/etc/ssh/sshd_config',
      '--take',
      'merged',
      '--sysroot',
      fx.root,
    ]);
    const merged = readFileSync(file, 'utf8');
    assert.match(merged, /^Port 2222$/m);
    assert.match(merged, /^KbdInteractiveAuthentication no$/m);
    assert.equal(existsSync(rpmnew), false);
    // Still not the package's file: rpm -V goes on reporting the edit, now merged.
    assert.match(rpmVerify('openssh'), /^S\.5\S* +c \/etc\/ssh\/sshd_config$/m);

    const undo = cli(['etc', 'undo', done.backupId, '--sysroot', fx.root]);
    assert.equal(undo.code, 0, undo.stderr);
    assert.deepEqual(readFileSync(file), before);
    assert.deepEqual(readFileSync(rpmnew), beforeNew);
    assertOneLineError(cli(['etc', 'undo', done.backupId, '--sysroot', fx.root, '--json']), 'refused');
  });

  it("files restore copies /etc/motd from a snapshot into the live root; etc undo puts today's back", () => {
    const timeline = fx.story.timeline as number;
    const live = join(fx.root, 'etc/motd');
    const before = readFileSync(live);
    const old = readFileSync(join(fx.root, '.snapshots', String(timeline), 'snapshot', 'etc/motd'));
    assert.notDeepEqual(before, old);
    const done = json<CliOperation & { backupId: string }>([
      'files',
      'restore',
      String(timeline),
      '/etc/motd',
      '--sysroot',
      fx.root,
    ]);
    assert.deepEqual(readFileSync(live), old);
    assert.equal(cli(['etc', 'undo', done.backupId, '--sysroot', fx.root]).code, 0);
    assert.deepEqual(readFileSync(live), before);
    assertOneLineError(
      cli(['files', 'restore', String(timeline), '../etc/motd', '--sysroot', fx.root, '--json']),
      'bad-request',
      2,
    );
    assertOneLineError(
      cli(['files', 'restore', String(timeline), 'etc/nothing', '--sysroot', fx.root, '--json']),
      'bad-path',
    );
  });
});

describe('hindsight demo --snapper DIR', { skip: SKIP }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'hindsight-snapper-demo-'));
  let device: string | null = null;
  after(() => {
    const root = join(dir, 'root');
    if (runSync(requireProgram('mountpoint'), ['-q', root]).code === 0)
      runSyncChecked(requireProgram('umount'), ['-R', root]);
    // Only the loop device this test's demo attached.
    if (device) runSync(requireProgram('losetup'), ['-d', device]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('builds a snapper root the app and CLI open, and shows the same one again while it is mounted', () => {
    const built = json<{ root: string; device: string; reused: boolean }>(['demo', '--snapper', dir]);
    device = built.device;
    assert.equal(built.root, join(dir, 'root'));
    assert.equal(built.reused, false);
    assert.match(built.device, /^\/dev\/loop\d+$/);
    const status = json<{ backend: string; snapshots: CliSnapshot[] }>(['status', '--sysroot', built.root]);
    assert.equal(status.backend, 'snapper');
    assert.ok(
      status.snapshots.some((s) => s.description === 'zypper dup' || s.description === 'apt full-upgrade'),
    );
    const again = json<{ root: string; device: string | null; reused: boolean }>(['demo', '--snapper', dir]);
    assert.deepEqual([again.root, again.device, again.reused], [built.root, null, true]);
  });
});

describe('hindsight CLI rolls back a MicroOS-like root by its default subvolume', { skip: SKIP }, () => {
  let fx: SnapperRoot;
  before(() => {
    fx = buildSnapperRoot({ flavour: 'microos' });
  });
  after(() => fx?.cleanup());

  it('rollback --to 1 makes snapshot 1 the default again, no copy made; --undo makes the update boot next again', () => {
    const update = fx.story.update as number;
    const before = snapperList(fx).map((s) => s.number);
    assert.equal(defaultSubvolumePath(fx.root), `@/.snapshots/${update}/snapshot`);
    const done = json<CliOperation>(['rollback', '--to', '1', '--sysroot', fx.root]);
    assert.equal(defaultSubvolumePath(fx.root), '@/.snapshots/1/snapshot');
    assert.deepEqual(
      snapperList(fx).map((s) => s.number),
      before,
      'a read-only root makes no copy',
    );
    assert.equal(done.status.pendingRollback?.target, 1);
    const undone = json<CliOperation>(['rollback', '--undo', '--sysroot', fx.root]);
    assert.equal(defaultSubvolumePath(fx.root), `@/.snapshots/${update}/snapshot`);
    assert.equal(undone.status.pendingRollback, null);
  });
});

describe('hindsight CLI on a snapper root with a dpkg database', { skip: SKIP_DPKG }, () => {
  let fx: SnapperRoot;
  before(() => {
    fx = buildSnapperRoot({ flavour: 'tumbleweed', packages: 'dpkg' });
  });
  after(() => fx?.cleanup());

  it('packages diff of each apt run is what dpkg-query says of both snapshots', () => {
    const { install, upgrade } = fx.story;
    assert.ok(install && upgrade);
    for (const change of [install, upgrade]) {
      const delta = json<CliDelta>([
        'packages',
        'diff',
        String(change.pre),
        String(change.post),
        '--sysroot',
        fx.root,
      ]);
      const before = dpkgQuery(folderOf(fx, change.pre));
      const after = dpkgQuery(folderOf(fx, change.post));
      assert.equal(delta.format, 'dpkg');
      assert.deepEqual([delta.from.packages, delta.to.packages], [before.length, after.length]);
      assert.deepEqual(actualDelta(delta), expectedDelta(before, after));
      // And each version change in the direction dpkg --compare-versions gives it.
      assert.deepEqual(
        {
          added: delta.added.map((p) => p.name).sort(),
          removed: delta.removed.map((p) => p.name).sort(),
          upgraded: delta.upgraded.map((c) => `${c.name} ${c.from} ${c.to}`).sort(),
          downgraded: [],
        },
        deltaByDpkg(before, after),
      );
      assert.ok(delta.added.length + delta.removed.length + delta.upgraded.length > 0);
    }
    const status = json<CliStatus>(['status', '--sysroot', fx.root]);
    assert.deepEqual(status.snapshots, snapperList(fx));
  });
});

describe('hindsight files diff on a folder that is no system', () => {
  const folder = mkdtempSync(join(tmpdir(), 'hindsight-not-snapper-'));
  after(() => rmSync(folder, { recursive: true, force: true }));

  it('says in one line what the folder lacks', () => {
    const line = assertOneLineError(
      cli(['files', 'diff', '0', '1', '--sysroot', folder, '--json']),
      'not-a-sysroot',
    );
    assert.match(line, /not an OSTree sysroot|snapper root/);
  });
});

describe('hindsight CLI on a snapper root, not as root', () => {
  const skip =
    process.getuid?.() !== 0
      ? 'needs root to switch to another user'
      : !findProgram('setpriv') && 'setpriv is missing';
  const folder = mkdtempSync(join(tmpdir(), 'hindsight-snapper-marks-'));
  after(() => rmSync(folder, { recursive: true, force: true }));

  it('says in one line that reading a snapper root needs root', { skip }, () => {
    // Only the marks that make a folder a snapper root: the answer must come before anything is run.
    chmodSync(folder, 0o755);
    mkdirSync(join(folder, '.snapshots'));
    mkdirSync(join(folder, 'etc/snapper/configs'), { recursive: true });
    writeFileSync(join(folder, 'etc/snapper/configs/root'), 'SUBVOLUME="/"\n');
    for (const args of [
      ['status'],
      ['packages', 'diff', '1', '2'],
      ['files', 'diff', '1', '2'],
      ['etc', 'drift'],
      ['history'],
    ]) {
      const line = assertOneLineError(
        cli([...args, '--sysroot', folder, '--json'], { asUser: 65534 }),
        'not-authorized',
      );
      assert.equal(
        line,
        `hindsight: reading the snapper root ${folder} needs root (snapper --no-dbus and btrfs read the disk directly); run this as root`,
      );
    }
  });
});
