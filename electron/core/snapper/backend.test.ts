import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HindsightError } from '../../../shared/errors.ts';
import type { PackageEntry } from '../../../shared/types.ts';
import { requireProgram, runSyncChecked } from '../exec.ts';
import { DEFAULT_RPMDB_DIR, rpmQueryPackages } from '../fixtures/rpm-fixture.ts';
import { buildSnapperRoot, type SnapperRoot, snapperRootSkipReason } from '../fixtures/snapper-root.ts';
import { resolveSnapshotNumber, type SnapperSystem, snapperBackend } from './backend.ts';
import type { SnapperSnapshot } from './snapper-list.ts';
import type { SnapperRootReport } from './snapshots.ts';

/**
 * snapper behind the system seam: selectors on a report made by hand, then on real snapper roots
 * (loop-backed btrfs) against snapper's own flags, btrfs and rpm. A "reboot" here is a fresh mount
 * of the default subvolume at the root.
 */

function snap(number: number, extra: Partial<SnapperSnapshot> = {}): SnapperSnapshot {
  return {
    number,
    type: 'single',
    preNumber: null,
    date: number === 0 ? null : '2026-01-01T00:00:00Z',
    user: 'root',
    cleanup: '',
    description: number === 0 ? 'current' : `s${number}`,
    userdata: {},
    default: false,
    active: false,
    ...extra,
  };
}

function report(snapshots: SnapperSnapshot[], def: number | null, active: number | null): SnapperRootReport {
  const sub = (n: number | null) => ({
    id: 256 + (n ?? 0),
    path: n === null ? '@' : `@/.snapshots/${n}/snapshot`,
    number: n,
  });
  return {
    root: '/mnt/r',
    config: 'root',
    snapshots,
    changes: [],
    defaultSubvolume: sub(def),
    activeSubvolume: { ...sub(active), readOnly: false },
  };
}

function code(fn: () => unknown, expected: string, message?: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof HindsightError);
    assert.equal(error.code, expected);
    if (message) assert.match(error.message, message);
    return true;
  });
}

describe('snapper selectors, on a list made by hand', () => {
  const r = report([snap(0), snap(1, { active: true }), snap(2), snap(5, { default: true })], 5, 1);

  it('a number names that snapshot; 0 and current name the live root', () => {
    assert.equal(resolveSnapshotNumber(r, '2'), 2);
    assert.equal(resolveSnapshotNumber(r, '0'), 0);
    assert.equal(resolveSnapshotNumber(r, 'current'), 0);
  });

  it('default is the snapshot snapper flags default; active and booted the one it flags active', () => {
    assert.equal(resolveSnapshotNumber(r, 'default'), 5);
    assert.equal(resolveSnapshotNumber(r, 'active'), 1);
    assert.equal(resolveSnapshotNumber(r, 'booted'), 1);
  });

  it("falls back to btrfs's default subvolume when snapper flags none, and says when that is no snapshot", () => {
    const unflagged = report([snap(0), snap(1), snap(3)], 3, null);
    assert.equal(resolveSnapshotNumber(unflagged, 'default'), 3);
    code(
      () => resolveSnapshotNumber(unflagged, 'active'),
      'no-such-deployment',
      /^the active subvolume of \/mnt\/r is @, which is not one of snapper's snapshots$/,
    );
  });

  it('refuses what is no selector, and numbers snapper does not list', () => {
    for (const bad of ['rollback', 'pending', '007', '-1', '2..3', '', 'default ']) {
      code(() => resolveSnapshotNumber(r, bad), 'bad-selector', /is not a snapshot selector/);
    }
    code(
      () => resolveSnapshotNumber(r, '3'),
      'no-such-deployment',
      /^no snapshot 3 in \/mnt\/r \(snapper lists 0, 1, 2, 5\)$/,
    );
  });
});

const SKIP = snapperRootSkipReason();
if (SKIP) console.log(`# snapper backend: skipped — ${SKIP}`);

function text(name: string, args: string[]): string {
  return runSyncChecked(requireProgram(name), args, { env: { ...process.env, LC_ALL: 'C' } }).toString(
    'utf8',
  );
}

/** snapper's own flags: which numbers it lists as default and as active. */
function snapperFlags(fx: SnapperRoot): { default: number[]; active: number[] } {
  const list = JSON.parse(fx.snapper(['--jsonout', 'list'])) as {
    root: { number: number; default: boolean; active: boolean }[];
  };
  return {
    default: list.root.filter((s) => s.default).map((s) => s.number),
    active: list.root.filter((s) => s.active).map((s) => s.number),
  };
}

function btrfsDefault(root: string): number | null {
  const m = /path @\/\.snapshots\/(\d+)\/snapshot$/.exec(
    text('btrfs', ['subvolume', 'get-default', root]).trim(),
  );
  return m ? Number(m[1]) : null;
}

/** `rpm -qa` on a copy of a snapshot's database (rpm opens it for writing). */
function rpmQa(tree: string): PackageEntry[] {
  const copy = mkdtempSync(join(tmpdir(), 'hindsight-rpmdb-'));
  try {
    cpSync(join(tree, DEFAULT_RPMDB_DIR), join(copy, DEFAULT_RPMDB_DIR), { recursive: true });
    return rpmQueryPackages(copy);
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}

const sorted = (list: readonly PackageEntry[]) =>
  [...list].map((p) => `${p.name} ${p.version} ${p.arch}`).sort();

describe('the snapper backend on a Tumbleweed-like root', { skip: SKIP }, () => {
  let fx: SnapperRoot;
  let system: SnapperSystem;
  before(() => {
    fx = buildSnapperRoot({ flavour: 'tumbleweed' });
    system = snapperBackend({ root: fx.root });
  });
  after(() => fx?.cleanup());

  it('lists every snapshot snapper lists, with its states, and names what boots next', async () => {
    const r = await system.read();
    assert.equal(system.describe(r), `snapper root ${fx.root} (config root)`);
    const entries = system.entries(r);
    assert.deepEqual(
      entries.map((e) => e.position),
      r.snapshots.map((s) => s.number),
    );
    assert.deepEqual(entries[0]?.states, ['current']);
    assert.deepEqual(entries.find((e) => e.id === '1')?.states, ['running', 'next-boot']);
    assert.equal(entries.find((e) => e.id === String(fx.story.upgrade?.pre))?.title, 'zypper dup');
    assert.equal(system.nextBoot(r)?.position, snapperFlags(fx).default[0]);
  });

  it("reads each snapshot's packages as rpm -qa does (on copies: rpm cannot open a read-only snapshot's database)", async () => {
    const r = await system.read();
    for (const s of r.snapshots) {
      const folder = s.number === 0 ? fx.root : join(fx.root, '.snapshots', String(s.number), 'snapshot');
      const list = await system.packages(r, String(s.number));
      assert.equal(list.format, 'rpm');
      assert.equal(list.source, `${DEFAULT_RPMDB_DIR}/rpmdb.sqlite`);
      assert.deepEqual(sorted(list.packages), sorted(rpmQa(folder)), `snapshot ${s.number}`);
    }
  });

  // Last in this root: it rolls back and remounts.
  it('after snapper rollback, default names the new default as snapper and btrfs do; after a reboot (fresh mount of the default subvolume), active too', async () => {
    const { install } = fx.story;
    assert.ok(install);
    const said = /Setting default subvolume to snapshot (\d+)\./.exec(
      fx.snapper(['rollback', String(install.post)]),
    );
    assert.ok(said);
    const copy = Number(said[1]);
    let r = await system.read();
    assert.equal(resolveSnapshotNumber(r, 'default'), copy);
    assert.deepEqual(snapperFlags(fx).default, [copy]);
    assert.equal(btrfsDefault(fx.root), copy);
    assert.deepEqual([resolveSnapshotNumber(r, 'active')], snapperFlags(fx).active);
    assert.equal(system.nextBoot(r)?.position, copy);
    // What that boot will bring: the packages as they were right after `zypper in foo`, so the
    // upgrade is undone (versions go down) and oldtool is back.
    const delta = await system.packageDelta(r, 'active', 'default');
    assert.deepEqual(delta.upgraded, []);
    assert.deepEqual(delta.downgraded.map((c) => `${c.name} ${c.from} ${c.to}`).sort(), [
      'bash 5.2.32-1.1 5.2.26-3.1',
      'openssh 9.8p1-2.1 9.6p1-1.1',
    ]);
    assert.deepEqual(
      delta.added.map((p) => p.name),
      ['oldtool'],
    );

    fx.remount();
    r = await system.read();
    assert.equal(resolveSnapshotNumber(r, 'active'), copy);
    assert.equal(resolveSnapshotNumber(r, 'booted'), copy);
    assert.deepEqual(snapperFlags(fx).active, [copy]);
    assert.deepEqual(system.resolve(r, 'booted').states, ['running', 'next-boot']);
  });
});

describe('the snapper backend on a MicroOS-like root with an update waiting', { skip: SKIP }, () => {
  let fx: SnapperRoot;
  before(() => {
    fx = buildSnapperRoot({ flavour: 'microos' });
  });
  after(() => fx?.cleanup());

  it('default is the update, active the running root, as snapper flags them', async () => {
    const system = snapperBackend({ root: fx.root });
    const r = await system.read();
    const update = fx.story.update as number;
    assert.deepEqual(snapperFlags(fx), { default: [update], active: [1] });
    assert.equal(system.resolve(r, 'default').position, update);
    assert.equal(system.resolve(r, 'active').position, 1);
    assert.equal(system.nextBoot(r)?.position, update);
    assert.deepEqual(system.resolve(r, 'default').states, ['next-boot']);
  });
});
