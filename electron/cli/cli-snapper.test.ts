import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { PackageEntry } from '../../shared/types.ts';
import { findProgram, requireProgram, runSyncChecked } from '../core/exec.ts';
import { DEFAULT_RPMDB_DIR, rpmQueryPackages } from '../core/fixtures/rpm-fixture.ts';
import {
  buildSnapperRoot,
  DPKG_STATUS_IN_ROOT,
  type SnapperRoot,
  snapperRootSkipReason,
} from '../core/fixtures/snapper-root.ts';
import { deltaByDpkg } from '../core/fixtures/test-support.ts';

/**
 * The CLI on real snapper roots (loop-backed btrfs, real snapper, real rpm databases): `status` and
 * `packages diff` checked against snapper's own list, `rpm -qa` and `dpkg-query`; selectors as
 * snapper flags its snapshots; the commands that have no snapper side yet refused in one line.
 */

const LAUNCHER = fileURLToPath(new URL('./hindsight.mjs', import.meta.url));
const dataHome = mkdtempSync(join(tmpdir(), 'hindsight-cli-snapper-data-'));
after(() => rmSync(dataHome, { recursive: true, force: true }));

const SKIP = snapperRootSkipReason();
const SKIP_DPKG = snapperRootSkipReason('dpkg') || (!findProgram('dpkg-query') && 'dpkg-query is missing');
if (SKIP) console.log(`# hindsight CLI on snapper roots: skipped — ${SKIP}`);

/** The real CLI, a separate process, as a person runs it. */
function cli(args: string[], options: { asUser?: number } = {}) {
  const env = { ...process.env, XDG_DATA_HOME: dataHome, LC_ALL: 'C' };
  const [program, argv] =
    options.asUser === undefined
      ? [process.execPath, [LAUNCHER, ...args]]
      : [
          requireProgram('setpriv'),
          [
            `--reuid=${options.asUser}`,
            `--regid=${options.asUser}`,
            '--clear-groups',
            process.execPath,
            LAUNCHER,
            ...args,
          ],
        ];
  const result = spawnSync(program, argv, { encoding: 'utf8', env });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function json<T>(args: string[]): T {
  const result = cli([...args, '--json']);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as T;
}

function assertOneLineError(result: ReturnType<typeof cli>, code: string, exit = 1): string {
  assert.equal(result.code, exit, result.stderr);
  const lines = result.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line on stderr: ${result.stderr}`);
  assert.match(lines[0] as string, /^hindsight: /);
  assert.doesNotMatch(result.stderr, /\s+at \S+ \(/, 'no stack trace');
  assert.equal((JSON.parse(result.stdout) as { error: { code: string } }).error.code, code);
  return lines[0] as string;
}

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
  changes: Record<string, unknown>[];
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
      ['rollback'],
      ['rollback', '--to', '3'],
      ['upgrade', '--check'],
      ['etc', 'drift'],
      ['etc', 'merge', '4', '5'],
      ['rollback-preview'],
      ['history'],
      ['pin', '3'],
      ['serve'],
    ]) {
      const line = assertOneLineError(cli([...args, '--sysroot', fx.root, '--json']), 'unsupported');
      assert.match(line, /is not supported on snapper roots yet/, args.join(' '));
    }
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
    for (const args of [['status'], ['packages', 'diff', '1', '2']]) {
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
