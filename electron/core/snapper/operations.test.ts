import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HindsightError } from '../../../shared/errors.ts';
import { requireProgram, runSyncChecked } from '../exec.ts';
import { rpmQueryPackages } from '../fixtures/rpm-fixture.ts';
import { buildSnapperRoot, type SnapperRoot, snapperRootSkipReason } from '../fixtures/snapper-root.ts';
import {
  deleteSnapshot,
  deleteSnapshots,
  modifySnapshot,
  pendingRollback,
  rollbackTo,
  undoRollback,
} from './operations.ts';
import { readSnapperRoot } from './snapshots.ts';

/**
 * snapper's change operations on real snapper roots (loop-backed btrfs), checked against btrfs's
 * default subvolume, snapper's own list and the files and rpm database of what boots. A "reboot"
 * here is a fresh mount of the default subvolume at the root.
 */

const SKIP = snapperRootSkipReason();
if (SKIP) console.log(`# snapper operations: skipped — ${SKIP}`);

function text(name: string, args: string[]): string {
  return runSyncChecked(requireProgram(name), args, { env: { ...process.env, LC_ALL: 'C' } }).toString(
    'utf8',
  );
}

interface Listed {
  number: number;
  default: boolean;
  active: boolean;
  cleanup: string;
  description: string;
  userdata: Record<string, string> | null;
}

/** snapper's own list, as snapper prints it. */
function snapperList(fx: SnapperRoot): Listed[] {
  return (JSON.parse(fx.snapper(['--jsonout', 'list'])) as { root: Listed[] }).root;
}

function listed(fx: SnapperRoot, n: number): Listed | undefined {
  return snapperList(fx).find((s) => s.number === n);
}

function snapperDefault(fx: SnapperRoot): number[] {
  return snapperList(fx)
    .filter((s) => s.default)
    .map((s) => s.number);
}

/** The default subvolume's snapshot number, as `btrfs subvolume get-default` names it. */
function btrfsDefault(root: string): number | null {
  const m = /path @\/\.snapshots\/(\d+)\/snapshot$/.exec(
    text('btrfs', ['subvolume', 'get-default', root]).trim(),
  );
  return m ? Number(m[1]) : null;
}

async function refused(promise: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof HindsightError, String(error));
    assert.equal(error.code, code, error.message);
    if (message) assert.match(error.message, message);
    return true;
  });
}

describe('snapper operations on a Tumbleweed-like root (rpm)', { skip: SKIP }, () => {
  let fx: SnapperRoot;
  before(() => {
    fx = buildSnapperRoot({ flavour: 'tumbleweed', packages: 'rpm' });
  });
  after(() => fx?.cleanup());

  it('refuses a rollback to nothing, to 0, to what already boots next, to 007, and without root', async () => {
    await refused(rollbackTo(fx.root, 'root', '99'), 'no-such-deployment', /^no snapshot 99 in /);
    await refused(rollbackTo(fx.root, 'root', '007'), 'bad-selector');
    await refused(rollbackTo(fx.root, 'root', 'current'), 'refused', /snapshot 0 is the live root/);
    await refused(rollbackTo(fx.root, 'root', '0'), 'refused', /snapshot 0 is the live root/);
    await refused(rollbackTo(fx.root, 'root', '1'), 'refused', /^snapshot 1 already boots next$/);
    await refused(rollbackTo(fx.root, 'root', 'default'), 'refused', /already boots next/);
    await refused(rollbackTo(fx.root, 'root', '2', { uid: 1000 }), 'not-authorized', /needs root/);
    await refused(undoRollback(fx.root, 'root'), 'refused', /no rollback by Hindsight waiting/);
    assert.equal(btrfsDefault(fx.root), 1);
  });

  it('rolls back to the install pre snapshot: a writable copy boots next, for btrfs and snapper alike', async () => {
    const pre = fx.story.install?.pre as number;
    const before = snapperList(fx).map((s) => s.number);
    const { message, report } = await rollbackTo(fx.root, 'root', String(pre));
    const made = snapperList(fx)
      .map((s) => s.number)
      .filter((n) => !before.includes(n));
    assert.equal(made.length, 2);
    const [backup, copy] = made as [number, number];
    assert.equal(
      message,
      `Snapshot ${copy} (writable copy of ${pre}) boots next; ${backup} keeps the system that was running`,
    );
    assert.equal(btrfsDefault(fx.root), copy);
    assert.deepEqual(snapperDefault(fx), [copy]);
    assert.equal(
      text('btrfs', ['property', 'get', join(fx.root, '.snapshots', String(copy), 'snapshot'), 'ro']).trim(),
      'ro=false',
    );
    assert.ok(!existsSync(join(fx.root, '.snapshots', String(copy), 'snapshot/etc/foo.conf')));
    assert.equal(listed(fx, copy)?.userdata?.hindsight, 'rollback-copy');
    assert.equal(listed(fx, backup)?.userdata?.hindsight, 'rollback-backup');
    assert.deepEqual(pendingRollback(report), {
      target: pre,
      previousDefault: 1,
      made: [backup, copy],
    });
    assert.equal(report.defaultSubvolume.number, copy);
    // snapper gives the replaced default a cleanup algorithm; undo takes it away again.
    assert.equal(listed(fx, 1)?.cleanup, 'number');
    await refused(rollbackTo(fx.root, 'root', '1'), 'refused', /undo that rollback instead/);
    await refused(
      deleteSnapshot(fx.root, 'root', copy),
      'refused',
      new RegExp(`^snapshot ${copy} boots next`),
    );
  });

  it('undoes the rollback before the reboot: the old default boots again, the backup and copy are gone', async () => {
    const pending = pendingRollback(await readSnapperRoot(fx.root));
    assert.ok(pending);
    const { message, report } = await undoRollback(fx.root, 'root');
    assert.equal(
      message,
      `Snapshot 1 boots next again; deleted ${pending.made[0]} and ${pending.made[1]} from the rollback to ${pending.target}`,
    );
    assert.equal(btrfsDefault(fx.root), 1);
    assert.deepEqual(snapperDefault(fx), [1]);
    const numbers = snapperList(fx).map((s) => s.number);
    for (const n of pending.made) {
      assert.ok(!numbers.includes(n), `snapshot ${n} is gone`);
      assert.ok(!existsSync(join(fx.root, '.snapshots', String(n))));
    }
    assert.equal(listed(fx, 1)?.cleanup, '');
    assert.equal(pendingRollback(report), null);
    await refused(undoRollback(fx.root, 'root'), 'refused', /no rollback by Hindsight waiting/);
  });

  it("changes a snapshot's description, userdata and cleanup as snapper lists them", async () => {
    const n = fx.story.timeline as number;
    let result = await modifySnapshot(fx.root, 'root', n, {
      description: 'before the motd edit, naïvely',
      userdata: { note: 'kept by hand', ticket: '42' },
      cleanup: '',
    });
    assert.equal(result.message, `Changed the description, userdata, cleanup of snapshot ${n}`);
    let s = listed(fx, n);
    assert.equal(s?.description, 'before the motd edit, naïvely');
    assert.deepEqual(s?.userdata, { note: 'kept by hand', ticket: '42' });
    assert.equal(s?.cleanup, '');
    result = await modifySnapshot(fx.root, 'root', n, {
      userdata: { ticket: null, note: '' },
      cleanup: 'number',
    });
    s = listed(fx, n);
    assert.equal(s?.userdata, null);
    assert.equal(s?.cleanup, 'number');
    assert.equal(result.report.snapshots.find((x) => x.number === n)?.cleanup, 'number');
  });

  it('refuses userdata and descriptions snapper would misread, and snapshots that are not there', async () => {
    const n = fx.story.timeline as number;
    const bad: [Parameters<typeof modifySnapshot>[3], RegExp][] = [
      [{ userdata: { 'a,b': 'x' } }, /cannot hold "," or "="/],
      [{ userdata: { 'a=b': 'x' } }, /cannot hold "," or "="/],
      [{ userdata: { a: 'x,y' } }, /cannot hold "," or "="/],
      [{ userdata: { a: 'x=y' } }, /cannot hold "," or "="/],
      [{ userdata: { a: 'x\ny' } }, /control characters/],
      [{ userdata: { '': 'x' } }, /cannot be empty/],
      [{ userdata: { ' a': 'x' } }, /spaces/],
      [{ userdata: { hindsight: 'x' } }, /Hindsight's own/],
      [{ userdata: { 'hindsight-from': 'x' } }, /Hindsight's own/],
      [{ userdata: { a: 'x'.repeat(300) } }, /longer than/],
      [{ description: 'two\nlines' }, /control characters/],
      [{ description: 'tab\there' }, /control characters/],
      [{ cleanup: 'bogus' }, /not a cleanup algorithm/],
      [{}, /nothing to change/],
    ];
    for (const [changes, message] of bad)
      await refused(modifySnapshot(fx.root, 'root', n, changes), 'bad-request', message);
    await refused(modifySnapshot(fx.root, 'root', 99, { description: 'x' }), 'no-such-deployment');
    await refused(modifySnapshot(fx.root, 'root', 0, { description: 'x' }), 'refused');
    await refused(modifySnapshot(fx.root, 'root', n, { description: 'x' }, { uid: 1000 }), 'not-authorized');
    assert.equal(listed(fx, n)?.description, 'before the motd edit, naïvely');
  });

  it('deletes a single snapshot, and a pre with its post; refuses 0, the default, the active one and half a pair', async () => {
    await refused(deleteSnapshot(fx.root, 'root', 0), 'refused', /snapshot 0 is the live root/);
    await refused(deleteSnapshot(fx.root, 'root', 1), 'refused', /^snapshot 1 boots next \(the default\)$/);
    await refused(deleteSnapshot(fx.root, 'root', 99), 'no-such-deployment');
    const upgrade = fx.story.upgrade as { pre: number; post: number };
    await refused(
      deleteSnapshots(fx.root, 'root', [upgrade.post]),
      'refused',
      new RegExp(`^snapshot ${upgrade.post} is the post of ${upgrade.pre} \\(zypper dup\\): delete both$`),
    );
    await refused(deleteSnapshots(fx.root, 'root', []), 'bad-request');
    await refused(
      deleteSnapshot(fx.root, 'root', fx.story.timeline as number, { uid: 1000 }),
      'not-authorized',
    );

    const timeline = fx.story.timeline as number;
    let result = await deleteSnapshots(fx.root, 'root', [timeline]);
    assert.equal(result.message, `Deleted snapshot ${timeline} (before the motd edit, naïvely)`);
    result = await deleteSnapshot(fx.root, 'root', upgrade.post);
    assert.equal(result.message, `Deleted snapshots ${upgrade.pre} and ${upgrade.post} (zypper dup)`);
    const numbers = snapperList(fx).map((s) => s.number);
    for (const n of [timeline, upgrade.pre, upgrade.post]) {
      assert.ok(!numbers.includes(n));
      assert.ok(!existsSync(join(fx.root, '.snapshots', String(n))));
    }
    assert.deepEqual(
      result.report.snapshots.map((s) => s.number),
      numbers,
    );
  });

  // Last in this root: it rolls back and remounts.
  it('rollback, then reboot: fresh mount of the default subvolume runs the rolled-back tree, and undo is refused', async () => {
    const install = fx.story.install as { pre: number; post: number };
    const { report } = await rollbackTo(fx.root, 'root', String(install.pre));
    const copy = report.defaultSubvolume.number as number;
    assert.ok(pendingRollback(report));
    fx.remount();
    assert.ok(!existsSync(join(fx.root, 'etc/foo.conf')));
    const names = rpmQueryPackages(fx.root).map((p) => `${p.name} ${p.version}`);
    assert.ok(!names.some((n) => n.startsWith('foo ')), names.join(', '));
    assert.ok(names.includes('oldtool 0:1.0-1.1') || names.some((n) => n.startsWith('oldtool ')));
    const r = await readSnapperRoot(fx.root);
    assert.equal(r.activeSubvolume.number, copy);
    assert.equal(pendingRollback(r), null);
    await refused(
      undoRollback(fx.root, 'root'),
      'refused',
      new RegExp(
        `^the rollback to ${install.pre} has already booted \\(snapshot ${copy} is running\\): roll back to 1 instead$`,
      ),
    );
    await refused(deleteSnapshot(fx.root, 'root', copy), 'refused', /boots next/);
  });
});

describe('snapper operations on a MicroOS-like root with an update waiting', { skip: SKIP }, () => {
  let fx: SnapperRoot;
  before(() => {
    fx = buildSnapperRoot({ flavour: 'microos', packages: 'rpm' });
  });
  after(() => fx?.cleanup());

  it('rolls back from the update to the base: the base snapshot itself boots next, no copy', async () => {
    const update = fx.story.update as number;
    const base = fx.story.base;
    await refused(rollbackTo(fx.root, 'root', String(update)), 'refused', /already boots next/);
    await refused(deleteSnapshot(fx.root, 'root', base), 'refused', /^snapshot 1 is running \(active\)$/);
    const count = snapperList(fx).length;
    const { message, report } = await rollbackTo(fx.root, 'root', String(base));
    assert.equal(
      message,
      `Snapshot ${base} (first root filesystem) boots next; undo sets ${update} as the default again`,
    );
    assert.equal(btrfsDefault(fx.root), base);
    assert.deepEqual(snapperDefault(fx), [base]);
    assert.equal(snapperList(fx).length, count);
    assert.deepEqual(pendingRollback(report), {
      target: base,
      previousDefault: update,
      made: [],
    });
    await refused(
      deleteSnapshot(fx.root, 'root', update),
      'refused',
      new RegExp(`^snapshot ${update} is what undoing the pending rollback to ${base} boots$`),
    );
  });

  it('undo sets the update as the default again and leaves no record', async () => {
    const update = fx.story.update as number;
    const { message, report } = await undoRollback(fx.root, 'root');
    assert.equal(message, `Snapshot ${update} boots next again; the rollback to ${fx.story.base} is undone`);
    assert.equal(btrfsDefault(fx.root), update);
    assert.deepEqual(snapperDefault(fx), [update]);
    assert.equal(listed(fx, fx.story.base)?.userdata, null);
    assert.equal(pendingRollback(report), null);
    await refused(undoRollback(fx.root, 'root'), 'refused');
  });
});
