import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { requireProgram, runSyncChecked } from '../exec.ts';
import { buildSnapperRoot, type SnapperRoot, snapperRootSkipReason } from '../fixtures/snapper-root.ts';
import { readSnapperRoot, type SnapperRootReport, snapshotFolder } from './snapshots.ts';

/**
 * The snapper reader on real snapper roots (loop-backed btrfs, real snapper): the list against
 * snapper's own JSON, the pairing, and the default and active subvolumes against btrfs and the
 * mount table, before and after a real `snapper rollback`. A "reboot" here is a fresh mount of the
 * default subvolume at the root.
 */

const SKIP = snapperRootSkipReason();
if (SKIP) console.log(`# snapper reader: skipped — ${SKIP}`);

function text(name: string, args: string[]): string {
  return runSyncChecked(requireProgram(name), args, { env: { ...process.env, LC_ALL: 'C' } }).toString(
    'utf8',
  );
}

/** snapper's own list, mapped to the reader's shape by hand. */
function snapperOwn(fx: SnapperRoot) {
  const json = JSON.parse(fx.snapper(['--utc', '--jsonout', 'list'])) as {
    root: {
      number: number;
      type: string;
      'pre-number': number | null;
      date: string;
      user: string;
      cleanup: string;
      description: string;
      userdata: Record<string, string> | null;
      default: boolean;
      active: boolean;
    }[];
  };
  return json.root.map((e) => ({
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

/** The default subvolume's snapshot number as btrfs prints it. */
function btrfsDefault(root: string): number | null {
  const m = /path @\/\.snapshots\/(\d+)\/snapshot$/.exec(
    text('btrfs', ['subvolume', 'get-default', root]).trim(),
  );
  return m ? Number(m[1]) : null;
}

/** The snapshot mounted at the root, from the mount table. */
function mountedNumber(root: string): number | null {
  const fsroot = text('findmnt', ['-n', '-o', 'FSROOT', '--mountpoint', root]).trim();
  const m = /^\/@\/\.snapshots\/(\d+)\/snapshot$/.exec(fsroot);
  return m ? Number(m[1]) : null;
}

function flagged(report: SnapperRootReport, flag: 'default' | 'active'): number[] {
  return report.snapshots.filter((s) => s[flag]).map((s) => s.number);
}

describe('a Tumbleweed-like read-write snapper root', { skip: SKIP }, () => {
  let fx: SnapperRoot;
  before(() => {
    fx = buildSnapperRoot({ flavour: 'tumbleweed' });
  });
  after(() => fx?.cleanup());

  it("lists exactly what snapper's own JSON lists, and what the fixture made", async () => {
    const report = await readSnapperRoot(fx.root);
    assert.deepEqual(report.snapshots, snapperOwn(fx));
    assert.deepEqual(
      report.snapshots.slice(1).map(({ number, type, preNumber, description, cleanup, userdata }) => ({
        number,
        type,
        preNumber,
        description,
        cleanup,
        userdata,
      })),
      fx.snapshots,
    );
    assert.equal(report.snapshots[0]?.description, 'current');
  });

  it('pairs each pre with its post into one change named by the zypper command', async () => {
    const report = await readSnapperRoot(fx.root);
    const { install, upgrade, timeline } = fx.story;
    assert.ok(install && upgrade && timeline);
    assert.deepEqual(
      report.changes.map((c) =>
        c.kind === 'single'
          ? [c.kind, c.number, c.description]
          : [c.kind, c.pre?.number, c.post?.number, c.description, c.userdata],
      ),
      [
        ['single', 1, 'first root filesystem'],
        ['pre-post', install.pre, install.post, 'zypper in foo', { important: 'yes' }],
        ['pre-post', upgrade.pre, upgrade.post, 'zypper dup', { important: 'no' }],
        ['single', timeline, 'timeline'],
      ],
    );
  });

  it('finds the default and active subvolume as btrfs and the mount table say, and as snapper flags them', async () => {
    const report = await readSnapperRoot(fx.root);
    assert.equal(report.defaultSubvolume.number, btrfsDefault(fx.root));
    assert.equal(report.activeSubvolume.number, mountedNumber(fx.root));
    assert.equal(report.defaultSubvolume.number, 1);
    assert.equal(report.activeSubvolume.number, 1);
    assert.equal(report.activeSubvolume.readOnly, false);
    assert.deepEqual(flagged(report, 'default'), [1]);
    assert.deepEqual(flagged(report, 'active'), [1]);
  });

  it("names each snapshot's folder, holding that moment's files", () => {
    const { install } = fx.story;
    assert.ok(install);
    assert.ok(!existsSync(join(snapshotFolder(fx.root, install.pre), 'etc/foo.conf')));
    assert.equal(
      readFileSync(join(snapshotFolder(fx.root, install.post), 'etc/foo.conf'), 'utf8'),
      'foo=1\n',
    );
    assert.ok(existsSync(join(snapshotFolder(fx.root, install.post), 'usr/lib/sysimage/rpm/rpmdb.sqlite')));
    assert.equal(snapshotFolder(fx.root, 0), fx.root);
  });

  // Last in this root: it rolls back and remounts.
  it('after snapper rollback, reads the new default as snapper and btrfs do; after a reboot (fresh mount of the default subvolume) it is the active one', async () => {
    const { install } = fx.story;
    assert.ok(install);
    const out = fx.snapper(['rollback', String(install.post)]);
    const said = /Setting default subvolume to snapshot (\d+)\./.exec(out);
    assert.ok(said, out);
    const copy = Number(said[1]);
    const backup = /Creating read-only snapshot of current system\. \(Snapshot (\d+)\.\)/.exec(out);
    assert.ok(backup, out);

    let report = await readSnapperRoot(fx.root);
    assert.deepEqual(report.snapshots, snapperOwn(fx));
    assert.equal(report.defaultSubvolume.number, copy);
    assert.equal(btrfsDefault(fx.root), copy);
    assert.equal(report.activeSubvolume.number, 1);
    assert.deepEqual(flagged(report, 'default'), [copy]);
    assert.deepEqual(flagged(report, 'active'), [1]);
    const described = new Map(report.snapshots.map((s) => [s.number, s.description]));
    assert.equal(described.get(copy), `writable copy of #${install.post}`);
    assert.equal(described.get(Number(backup[1])), 'rollback backup of #1');

    fx.remount();
    report = await readSnapperRoot(fx.root);
    assert.equal(mountedNumber(fx.root), copy);
    assert.equal(report.activeSubvolume.number, copy);
    assert.equal(report.defaultSubvolume.number, copy);
    assert.deepEqual(flagged(report, 'active'), [copy]);
    // The root is now the state right after `zypper in foo`: foo is there, the later upgrade is not.
    assert.equal(readFileSync(join(fx.root, 'etc/foo.conf'), 'utf8'), 'foo=1\n');
    assert.ok(!existsSync(join(fx.root, 'etc/ssh/sshd_config.rpmnew')));
    assert.ok(existsSync(join(fx.root, 'usr/bin/oldtool')));
  });
});

describe('a MicroOS-like read-only snapper root with an update waiting', { skip: SKIP }, () => {
  let fx: SnapperRoot;
  before(() => {
    fx = buildSnapperRoot({ flavour: 'microos' });
  });
  after(() => fx?.cleanup());

  it('lists what snapper lists: the read-only root, active, and the update, default', async () => {
    const report = await readSnapperRoot(fx.root);
    const update = fx.story.update;
    assert.ok(update);
    assert.deepEqual(report.snapshots, snapperOwn(fx));
    assert.deepEqual(
      report.changes.map((c) => [c.kind, c.number, c.description]),
      [
        ['single', 1, 'first root filesystem'],
        ['single', update, 'Snapshot Update of #1'],
      ],
    );
    assert.equal(report.activeSubvolume.number, 1);
    assert.equal(report.activeSubvolume.readOnly, true);
    assert.equal(report.defaultSubvolume.number, update);
    assert.equal(btrfsDefault(fx.root), update);
    assert.deepEqual(flagged(report, 'default'), [update]);
    assert.deepEqual(flagged(report, 'active'), [1]);
  });

  it('boots into the update after a reboot (fresh mount of the default subvolume), read-only', async () => {
    const update = fx.story.update as number;
    assert.ok(!existsSync(join(fx.root, 'etc/foo.conf')));
    fx.remount();
    const report = await readSnapperRoot(fx.root);
    assert.equal(mountedNumber(fx.root), update);
    assert.equal(report.activeSubvolume.number, update);
    assert.equal(report.activeSubvolume.readOnly, true);
    assert.deepEqual(flagged(report, 'active'), [update]);
    assert.equal(readFileSync(join(fx.root, 'etc/foo.conf'), 'utf8'), 'foo=1\n');
    assert.ok(existsSync(join(fx.root, 'etc/ssh/sshd_config.rpmnew')));
  });
});

describe('a read-write snapper root with a dpkg database', { skip: snapperRootSkipReason('dpkg') }, () => {
  let fx: SnapperRoot;
  before(() => {
    fx = buildSnapperRoot({ flavour: 'tumbleweed', packages: 'dpkg' });
  });
  after(() => fx?.cleanup());

  it("lists and pairs as snapper does, the apt runs' descriptions kept", async () => {
    const report = await readSnapperRoot(fx.root);
    assert.deepEqual(report.snapshots, snapperOwn(fx));
    assert.deepEqual(
      report.changes.map((c) => [c.kind, c.number, c.description]),
      [
        ['single', 1, 'first root filesystem'],
        ['pre-post', fx.story.install?.pre, 'apt install foo'],
        ['pre-post', fx.story.upgrade?.pre, 'apt full-upgrade'],
        ['single', fx.story.timeline, 'timeline'],
      ],
    );
    const status = (n: number) =>
      readFileSync(join(snapshotFolder(fx.root, n), 'var/lib/dpkg/status'), 'utf8');
    assert.doesNotMatch(status(fx.story.install?.pre as number), /Package: foo\n/);
    assert.match(status(fx.story.install?.post as number), /Package: foo\n/);
  });
});
