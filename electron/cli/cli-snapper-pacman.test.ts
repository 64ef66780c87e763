import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { PackageEntry } from '../../shared/types.ts';
import { requireProgram, runSync, runSyncChecked } from '../core/exec.ts';
import { pacmanQuery, runPacman } from '../core/fixtures/pacman-fixture.ts';
import {
  buildSnapperPacmanPackages,
  buildSnapperRoot,
  type SnapperRoot,
  SSHD_CONFIG,
  snapperRootSkipReason,
} from '../core/fixtures/snapper-root.ts';
import { assertOneLineError, cliRunner } from './cli-test-support.ts';

/**
 * The CLI on a real snapper root whose package database is pacman's, as on Arch with snap-pac:
 * packages from makepkg, installed, upgraded and removed by pacman itself between snapper's pre and
 * post snapshots, and a `.pacnew` pacman wrote beside a locally edited backup file. Checked against
 * `pacman -Q`, `vercmp` and `pacman -Qii` run on the snapshots.
 */

const { cli, json, cleanup } = cliRunner('cli-snapper-pacman');
after(cleanup);

const SKIP = snapperRootSkipReason('pacman');
if (SKIP) console.log(`# hindsight CLI on a pacman snapper root: skipped — ${SKIP}`);

interface CliDelta {
  backend: string;
  from: { number: number; type: string; packages: number };
  to: { number: number; type: string; packages: number };
  format: string;
  added: PackageEntry[];
  removed: PackageEntry[];
  upgraded: { name: string; arch: string; from: string; to: string }[];
  downgraded: { name: string; arch: string; from: string; to: string }[];
}

interface CliDrift {
  backend: string;
  snapshot: { number: number; type: string };
  format: string;
  entries: { path: string; package: string; status: string; changes: string[] }[];
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

interface CliFiles {
  backend: string;
  from: { number: number; type: string };
  to: { number: number; type: string };
  paths: string[];
  entries: { path: string; status: string; changes: string[] }[];
}

const folderOf = (fx: SnapperRoot, n: number): string =>
  n === 0 ? fx.root : join(fx.root, '.snapshots', String(n), 'snapshot');

/**
 * The delta a person gets by hand: `pacman -Qi --root SNAPSHOT --dbpath SNAPSHOT/var/lib/pacman` on
 * both snapshots (`-Q` reads without locking, so read-only snapshots are fine), `vercmp` per change.
 */
function deltaByPacman(fx: SnapperRoot, from: number, to: number) {
  const before = pacmanQuery(fx.workDir, folderOf(fx, from));
  const after = pacmanQuery(fx.workDir, folderOf(fx, to));
  const vercmp = requireProgram('vercmp');
  const old = new Map(before.map((p) => [p.name, p]));
  const now = new Map(after.map((p) => [p.name, p]));
  const changed = after
    .filter((p) => old.has(p.name) && old.get(p.name)?.version !== p.version)
    .map((p) => {
      const was = old.get(p.name) as PackageEntry;
      const order = Number(runSync(vercmp, [was.version, p.version]).stdout.toString('utf8').trim());
      return { order, change: { name: p.name, arch: p.arch, from: was.version, to: p.version } };
    });
  return {
    counts: [before.length, after.length],
    delta: {
      added: after.filter((p) => !old.has(p.name)),
      removed: before.filter((p) => !now.has(p.name)),
      upgraded: changed.filter((c) => c.order < 0).map((c) => c.change),
      downgraded: changed.filter((c) => c.order > 0).map((c) => c.change),
    },
  };
}

const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : 1);

/** pacman -Qii's word for a backup file, as etc drift words it. */
const PACMAN_STATES: Record<string, string> = {
  UNMODIFIED: 'unchanged',
  MODIFIED: 'modified',
  MISSING: 'missing',
  UNREADABLE: 'unreadable',
};

/** `pacman -Qii` of a root: each backup file pacman lists, as root-relative path -> etc drift's status. */
function pacmanBackupStates(fx: SnapperRoot, root: string): Map<string, string> {
  const out = runPacman(fx.workDir, root, ['-Qii']).toString('utf8');
  const states = new Map<string, string>();
  // pacman prints the path under --root in full: `MODIFIED\t/ROOT/etc/ssh/sshd_config`.
  for (const m of out.matchAll(/^(UNMODIFIED|MODIFIED|MISSING|UNREADABLE)\t(\S+)$/gm)) {
    const path = m[2] as string;
    assert.ok(path.startsWith(`${root}/`), path);
    states.set(path.slice(root.length), PACMAN_STATES[m[1] as string] as string);
  }
  return states;
}

function text(name: string, args: string[]): string {
  return runSyncChecked(requireProgram(name), args, { env: { ...process.env, LC_ALL: 'C' } }).toString(
    'utf8',
  );
}

/** `pacman -Q` of a snapshot, as `name version` lines. */
const pacmanQ = (fx: SnapperRoot, n: number): string[] =>
  runPacman(fx.workDir, folderOf(fx, n), ['-Q']).toString('utf8').trim().split('\n');

describe('the snapper root fixture with a pacman database', { skip: SKIP }, () => {
  let fx: SnapperRoot;
  before(async () => {
    fx = buildSnapperRoot({ packages: 'pacman', pacmanPackages: await buildSnapperPacmanPackages() });
  });
  after(() => fx?.cleanup());

  it("keeps /var in the root subvolume, so every snapshot has pacman's database of its moment", () => {
    const mounts = text('findmnt', ['-n', '-r', '-o', 'TARGET,FSROOT', '-R', fx.root])
      .split('\n')
      .filter(Boolean)
      .map((l) => l.replace(fx.root, 'R'));
    assert.deepEqual(mounts, ['R /@/.snapshots/1/snapshot', 'R/.snapshots /@/.snapshots', 'R/home /@/home']);
    const { install, upgrade, timeline } = fx.story;
    assert.ok(install && upgrade && timeline);
    const base = ['bash 5.2.26-3.1', 'oldtool 1.0-1.1', 'openssh 9.6p1-1.1', 'pacman 6.1.0-3'];
    const upgraded = ['bash 5.2.32-1.1', 'foo 2.0-1.1', 'openssh 9.8p1-2.1', 'pacman 6.1.0-3'];
    assert.deepEqual(pacmanQ(fx, install.pre), base);
    assert.deepEqual(pacmanQ(fx, install.post), [...base, 'foo 2.0-1.1'].sort());
    assert.deepEqual(pacmanQ(fx, upgrade.post), upgraded);
    assert.deepEqual(pacmanQ(fx, 0), upgraded);
    // -Qi, which the tests read for architectures, lists the same packages.
    assert.deepEqual(
      pacmanQuery(fx.workDir, folderOf(fx, upgrade.post)).map((p) => `${p.name} ${p.version}`),
      upgraded,
    );
    assert.deepEqual(
      fx.snapshots.map((s) => [s.number, s.type, s.description]),
      [
        [1, 'single', 'first root filesystem'],
        [install.pre, 'pre', 'pacman -S foo'],
        [install.post, 'post', 'pacman -S foo'],
        [upgrade.pre, 'pre', 'pacman -Syu'],
        [upgrade.post, 'post', 'pacman -Syu'],
        [timeline, 'single', 'timeline'],
      ],
    );
  });

  it('pacman itself wrote sshd_config.pacnew beside the local edit, as snapper status shows', () => {
    const { upgrade } = fx.story;
    assert.ok(upgrade);
    const status = fx
      .snapper(['status', `${upgrade.pre}..${upgrade.post}`])
      .trim()
      .split('\n');
    assert.ok(status.includes(`+..... /${SSHD_CONFIG}.pacnew`), status.join('\n'));
    assert.ok(status.includes('-..... /usr/bin/oldtool'), status.join('\n'));
    assert.ok(status.includes('+..... /var/lib/pacman/local/openssh-9.8p1-2.1/files'), status.join('\n'));
    assert.deepEqual(
      status.filter((l) => l.includes(' /etc/')),
      [`+..... /${SSHD_CONFIG}.pacnew`],
    );
    assert.match(readFileSync(join(fx.root, SSHD_CONFIG), 'utf8'), /^Port 2222$/m);
    assert.match(
      readFileSync(join(fx.root, `${SSHD_CONFIG}.pacnew`), 'utf8'),
      /^KbdInteractiveAuthentication no$/m,
    );
    // What the merge's base is found by: the md5 of the package's file, in each snapshot's database.
    const backupLine = (n: number): string => {
      const db = join(folderOf(fx, n), 'var/lib/pacman/local');
      const entry = n === upgrade.pre ? 'openssh-9.6p1-1.1' : 'openssh-9.8p1-2.1';
      return (
        /^etc\/ssh\/sshd_config\t([0-9a-f]{32})$/m.exec(
          readFileSync(join(db, entry, 'files'), 'utf8'),
        )?.[1] ?? ''
      );
    };
    const md5 = (path: string): string => text('md5sum', [path]).split(' ')[0] as string;
    assert.equal(backupLine(upgrade.pre), md5(join(folderOf(fx, upgrade.pre - 1), SSHD_CONFIG)));
    assert.equal(backupLine(upgrade.post), md5(join(fx.root, `${SSHD_CONFIG}.pacnew`)));
  });
});

describe('the MicroOS-like snapper root fixture with a pacman database', { skip: SKIP }, () => {
  let fx: SnapperRoot;
  before(async () => {
    fx = buildSnapperRoot({
      flavour: 'microos',
      packages: 'pacman',
      pacmanPackages: await buildSnapperPacmanPackages(),
    });
  });
  after(() => fx?.cleanup());

  it('pacman changed the update snapshot only; the read-only root keeps the installed packages', () => {
    const update = fx.story.update as number;
    assert.deepEqual(pacmanQ(fx, 0), [
      'bash 5.2.26-3.1',
      'oldtool 1.0-1.1',
      'openssh 9.6p1-1.1',
      'pacman 6.1.0-3',
    ]);
    assert.deepEqual(pacmanQ(fx, update), [
      'bash 5.2.32-1.1',
      'foo 2.0-1.1',
      'openssh 9.8p1-2.1',
      'pacman 6.1.0-3',
    ]);
    assert.ok(existsSync(join(folderOf(fx, update), `${SSHD_CONFIG}.pacnew`)));
    const delta = json<CliDelta>(['packages', 'diff', '1', String(update), '--sysroot', fx.root]);
    assert.deepEqual(
      [delta.format, delta.upgraded.length, delta.added.map((p) => p.name), delta.removed.map((p) => p.name)],
      ['pacman', 2, ['foo'], ['oldtool']],
    );
  });
});

describe('hindsight CLI on a snapper root with a pacman database (Arch with snap-pac)', {
  skip: SKIP,
}, () => {
  let fx: SnapperRoot;
  before(async () => {
    fx = buildSnapperRoot({ packages: 'pacman', pacmanPackages: await buildSnapperPacmanPackages() });
  });
  after(() => fx?.cleanup());

  it("packages diff of each pacman run is what pacman -Q says of both snapshots, in vercmp's order", () => {
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
      const theirs = deltaByPacman(fx, change.pre, change.post);
      assert.equal(delta.backend, 'snapper');
      assert.equal(delta.format, 'pacman');
      assert.deepEqual([delta.from.number, delta.to.number], [change.pre, change.post]);
      assert.deepEqual([delta.from.packages, delta.to.packages], theirs.counts);
      assert.deepEqual(
        {
          added: [...delta.added].sort(byName),
          removed: [...delta.removed].sort(byName),
          upgraded: [...delta.upgraded].sort(byName),
          downgraded: [...delta.downgraded].sort(byName),
        },
        theirs.delta,
      );
    }
    // The story itself, so that an empty delta on both sides cannot pass.
    const dup = json<CliDelta>([
      'packages',
      'diff',
      String(upgrade.pre),
      String(upgrade.post),
      '--sysroot',
      fx.root,
    ]);
    assert.deepEqual(dup.upgraded.map((c) => `${c.name} ${c.from} ${c.to}`).sort(), [
      'bash 5.2.26-3.1 5.2.32-1.1',
      'openssh 9.6p1-1.1 9.8p1-2.1',
    ]);
    assert.deepEqual(
      dup.removed.map((p) => p.name),
      ['oldtool'],
    );
    const human = cli(['packages', 'diff', String(upgrade.pre), String(upgrade.post), '--sysroot', fx.root]);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, new RegExp(`^<<< snapshot ${upgrade.pre} \\(pre\\): pacman -Syu `, 'm'));
    assert.match(human.stdout, /^Packages: 5 -> 4 \(2 upgraded, 0 downgraded, 0 added, 1 removed\)\.$/m);
  });

  it('etc drift of the live root: the .pacnew is a pending merge, sshd_config is modified as pacman -Qii says', () => {
    const drift = json<CliDrift>(['etc', 'drift', 'current', '--sysroot', fx.root]);
    assert.equal(drift.backend, 'snapper');
    assert.equal(drift.format, 'pacman');
    assert.deepEqual(
      drift.pending.map((p) => [p.path, p.mergePath, p.kind, p.holds, p.owners, p.baseStatus]),
      [[`/${SSHD_CONFIG}`, `/${SSHD_CONFIG}.pacnew`, 'pacnew', 'upstream', ['openssh'], 'modified']],
    );
    const theirs = pacmanBackupStates(fx, fx.root);
    assert.equal(theirs.get(`/${SSHD_CONFIG}`), 'modified', 'pacman -Qii marks the local edit');
    const ours = new Map(drift.entries.map((e) => [e.path, e.status]));
    for (const [path, state] of theirs) assert.equal(ours.get(path) ?? 'unchanged', state, path);
    assert.equal(drift.entries.length + drift.unchangedCount, theirs.size);
    const sshd = drift.entries.find((e) => e.path === `/${SSHD_CONFIG}`);
    assert.deepEqual([sshd?.package, sshd?.changes], ['openssh', ['content']]);
  });

  it('files diff of "pacman -Syu" under etc lists the .pacnew pacman wrote, and nothing else', () => {
    const { upgrade } = fx.story;
    assert.ok(upgrade);
    const files = json<CliFiles>([
      'files',
      'diff',
      String(upgrade.pre),
      String(upgrade.post),
      'etc',
      '--sysroot',
      fx.root,
    ]);
    assert.equal(files.backend, 'snapper');
    assert.deepEqual(files.paths, ['etc']);
    assert.deepEqual(
      files.entries.map((e) => [e.path, e.status]),
      [[`/${SSHD_CONFIG}.pacnew`, 'added']],
    );
  });

  // Last: it changes the live root, which the tests above read.
  it('etc resolve --take merged writes the three-way merge and drops the .pacnew; etc undo puts both back', () => {
    const file = join(fx.root, SSHD_CONFIG);
    const pacnew = `${file}.pacnew`;
    const [before, beforeNew] = [readFileSync(file), readFileSync(pacnew)];
    const done = json<{ message: string; backupId: string }>([
      'etc',
      'resolve',
      `/${SSHD_CONFIG}`,
      '--take',
      'merged',
      '--sysroot',
      fx.root,
    ]);
    // Without a base every differing line would be a conflict and `merged` refused: the base is
    // openssh's old sshd_config, found in an older snapshot by the md5 pacman recorded in %BACKUP%.
    const merged = readFileSync(file, 'utf8');
    assert.match(merged, /^Port 2222$/m, merged);
    assert.match(merged, /^KbdInteractiveAuthentication no$/m, merged);
    assert.equal(merged, `${before.toString('utf8')}KbdInteractiveAuthentication no\n`);
    assert.equal(existsSync(pacnew), false);
    // Still not the package's file: pacman goes on calling it modified, and nothing is pending.
    assert.equal(pacmanBackupStates(fx, fx.root).get(`/${SSHD_CONFIG}`), 'modified');
    assert.deepEqual(json<CliDrift>(['etc', 'drift', '--sysroot', fx.root]).pending, []);

    const undo = cli(['etc', 'undo', done.backupId, '--sysroot', fx.root]);
    assert.equal(undo.code, 0, undo.stderr);
    assert.deepEqual(readFileSync(file), before);
    assert.deepEqual(readFileSync(pacnew), beforeNew);
    assert.equal(json<CliDrift>(['etc', 'drift', '--sysroot', fx.root]).pending.length, 1);
    assertOneLineError(cli(['etc', 'undo', done.backupId, '--sysroot', fx.root, '--json']), 'refused');
  });
});
