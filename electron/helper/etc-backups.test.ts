import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { HindsightError } from '../../shared/errors.ts';
import { buildDemo } from '../core/fixtures/demo.ts';
import { removeFixture, tempFixtureRoot } from '../core/fixtures/sysroot-fixture.ts';
import type { HelperClient } from './helper-client.ts';
import { bundles, type ListedDeployment, ostreeStatus, startHelper } from './test-support.ts';

/**
 * The backups `etc apply` keeps (copies of /etc files such as shadow) through the real helper on a
 * real demo sysroot: root-only modes, tightened when found looser; retention by count and age that
 * keeps the newest backup each deployment still needs for undo; listing and removal through the
 * helper and the CLI, with removal confined to real backup folders; undo still exact.
 */

async function rejects(promise: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  try {
    await promise;
  } catch (error) {
    const e = error as HindsightError;
    assert.equal(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
    if (message) assert.match(e.message, message);
    return;
  }
  assert.fail(`expected a ${code} error`);
}

const perm = (path: string): number => lstatSync(path).mode & 0o7777;

function etcOf(sysroot: string, d: ListedDeployment): string {
  return join(sysroot, 'ostree', 'deploy', d.stateroot, 'deploy', `${d.checksum}.${d.serial}`, 'etc');
}

describe('the /etc backups: private, bounded, visible and removable', () => {
  let root = '';
  let sysroot = '';
  let backups = '';
  let helper: HelperClient;

  /** A backup folder as etc-apply.ts writes it, dated and aimed at will. */
  function seed(
    id: string,
    time: Date,
    target: { stateroot: string; checksum: string; serial: number },
    state: 'prepared' | 'applied' | 'undone' = 'applied',
  ): void {
    const dir = join(backups, id);
    mkdirSync(join(dir, 'files'), { recursive: true, mode: 0o700 });
    writeFileSync(join(dir, 'files', '0'), 'old passwd\n', { mode: 0o644 });
    const manifest = {
      id,
      time: time.toISOString(),
      state,
      source: target,
      target,
      etc: '/nowhere',
      entries: [{ pathBase64: Buffer.from('passwd').toString('base64'), existed: true, file: 'files/0' }],
      createdDirs: [],
    };
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest), { mode: 0o600 });
  }

  before(async () => {
    root = tempFixtureRoot('hindsight-etc-backups-');
    sysroot = buildDemo(join(root, 'demo')).sysroot;
    backups = join(sysroot, 'ostree/deploy/debian/var/lib/hindsight/etc-backups');
    helper = await startHelper(sysroot);
  });
  after(async () => {
    await helper?.close();
    removeFixture(root);
  });

  it('keeps the backups root-only, tightens looser folders on the next apply, and undo stays exact', async () => {
    const [target] = ostreeStatus(sysroot);
    assert.ok(target);
    const etc = etcOf(sysroot, target);
    // Owner and mode that differ from both sides of the merge: only the backup knows them.
    chownSync(join(etc, 'passwd'), 0, 42);
    chmodSync(join(etc, 'passwd'), 0o640);
    const before = { bytes: readFileSync(join(etc, 'passwd')), st: lstatSync(join(etc, 'passwd')) };

    const first = await helper.call('etcApply', {
      source: '1',
      target: '0',
      resolutions: [
        { path: { path: 'passwd' }, take: 'merged' },
        { path: { path: 'group' }, take: 'merged' },
      ],
    });
    const dir = join(backups, first.backupId);
    assert.equal(perm(backups), 0o700);
    assert.equal(perm(dir), 0o700);
    assert.equal(perm(join(dir, 'files')), 0o700);
    assert.equal(perm(join(dir, 'manifest.json')), 0o600);
    for (const path of [backups, dir, join(dir, 'files'), join(dir, 'manifest.json')]) {
      assert.equal(lstatSync(path).uid, process.getuid?.());
    }
    // The copy carries the original's mode and owner (what undo puts back), behind 0700 folders.
    const copy = lstatSync(join(dir, 'files', '0'));
    assert.equal(copy.mode & 0o7777, 0o640);
    assert.equal(copy.gid, 42);
    assert.notEqual(perm(join(etc, 'passwd')), 0o640, 'the apply took the source’s attributes');

    // Folders left looser (an older Hindsight, a hand edit) are tightened the next time it writes.
    chmodSync(backups, 0o755);
    chmodSync(dir, 0o755);
    chmodSync(join(dir, 'files'), 0o755);
    chmodSync(join(dir, 'manifest.json'), 0o644);
    const second = await helper.call('etcApply', {
      source: '1',
      target: '0',
      resolutions: [{ path: { path: 'motd' }, take: 'upstream' }],
    });
    assert.equal(perm(backups), 0o700);
    assert.equal(perm(dir), 0o700);
    assert.equal(perm(join(dir, 'files')), 0o700);
    assert.equal(perm(join(dir, 'manifest.json')), 0o600);
    assert.equal(perm(join(backups, second.backupId)), 0o700);

    assert.equal((await helper.call('etcUndo', {})).backupId, second.backupId);
    assert.equal((await helper.call('etcUndo', {})).backupId, first.backupId);
    const after = lstatSync(join(etc, 'passwd'));
    assert.deepEqual(readFileSync(join(etc, 'passwd')), before.bytes);
    assert.equal(after.mode, before.st.mode);
    assert.equal(after.uid, before.st.uid);
    assert.equal(after.gid, before.st.gid);
  });

  it('prunes to the count and age limits after an apply, keeping the newest undoable backup of each deployment', async () => {
    const [d0, d1, d2] = ostreeStatus(sysroot);
    assert.ok(d0 && d1 && d2);
    for (const name of readdirSync(backups)) rmSync(join(backups, name), { recursive: true });
    const now = Date.now();
    const hours = (n: number) => new Date(now - n * 3600_000);
    const days = (n: number) => new Date(now - n * 86_400_000);
    const gone = { stateroot: 'debian', checksum: 'f'.repeat(64), serial: 0 };
    for (let i = 1; i <= 25; i++) seed(`recent-${String(i).padStart(2, '0')}`, hours(i), d0);
    seed('gone-deployment', hours(0.5), gone);
    seed('old-undoable-d2', days(200), d2);
    seed('old-undone-d1', days(200), d1, 'undone');
    seed('older-undoable-d1', days(100), d1, 'prepared');
    seed('ancient-gone', days(300), gone);
    mkdirSync(join(backups, 'killed-before-manifest', 'files'), { recursive: true });
    // A link named like a backup, to a folder that looks like one: never followed, never removed.
    const outside = join(root, 'outside');
    mkdirSync(join(outside, 'files'), { recursive: true });
    writeFileSync(join(outside, 'manifest.json'), JSON.stringify({ id: 'linked', time: days(400) }));
    symlinkSync(outside, join(backups, 'linked'));

    const applied = await helper.call('etcApply', {
      source: '1',
      target: '0',
      resolutions: [{ path: { path: 'motd' }, take: 'upstream' }],
    });
    const kept = readdirSync(backups).sort();
    const expected = [
      applied.backupId,
      'gone-deployment',
      'linked',
      'old-undoable-d2',
      'older-undoable-d1',
      // 20 in all: the three kept for undo, then the newest others.
      ...Array.from({ length: 16 }, (_, i) => `recent-${String(i + 1).padStart(2, '0')}`),
    ].sort();
    assert.deepEqual(kept, expected);
    assert.ok(existsSync(join(outside, 'manifest.json')), 'the link’s target is untouched');

    const list = await helper.call('etcBackups', {});
    assert.deepEqual(list.limits, { maxCount: 20, maxAgeDays: 90 });
    assert.equal(list.readable, true);
    assert.equal(list.root, backups);
    assert.equal(list.backups.length, 20, 'the link is not a backup');
    assert.equal(list.backups[0]?.id, applied.backupId, 'newest first');
    assert.deepEqual(
      list.backups
        .filter((b) => b.keptForUndo)
        .map((b) => b.id)
        .sort(),
      [applied.backupId, 'old-undoable-d2', 'older-undoable-d1'].sort(),
    );
  });

  it('lists backups with their target, state, files and bytes, and removes one for good', async () => {
    const [d0] = ostreeStatus(sysroot);
    const list = await helper.call('etcBackups', {});
    const newest = list.backups[0];
    assert.ok(newest && d0);
    assert.equal(newest.state, 'applied');
    assert.equal(newest.files, 1);
    assert.ok(newest.bytes > 0);
    assert.deepEqual(newest.target, {
      stateroot: d0.stateroot,
      checksum: d0.checksum,
      serial: d0.serial,
      index: 0,
      version: d0.version,
    });
    const gone = list.backups.find((b) => b.id === 'gone-deployment');
    assert.equal(gone?.target.index, null);
    assert.equal(list.backups.find((b) => b.id === 'older-undoable-d1')?.state, 'prepared');

    const removed = await helper.call('etcRemoveBackup', { backupId: 'recent-03' });
    assert.equal(removed.backupId, 'recent-03');
    assert.equal(removed.files, 1);
    assert.equal(existsSync(join(backups, 'recent-03')), false);
    assert.ok(!(await helper.call('etcBackups', {})).backups.some((b) => b.id === 'recent-03'));
    const audit = await helper.call('history', { limit: 1 });
    assert.equal(audit[0]?.operation, 'etcRemoveBackup');
    assert.equal(audit[0]?.result, 'ok');

    // Removing the newest backup of a deployment means that change can no longer be undone.
    await helper.call('etcRemoveBackup', { backupId: newest.id });
    await helper.call('etcRemoveBackup', { backupId: 'older-undoable-d1' });
    await helper.call('etcRemoveBackup', { backupId: 'old-undoable-d2' });
    await rejects(helper.call('etcUndo', { backupId: newest.id }), 'refused', /no \/etc backup/);
  });

  it('refuses to remove anything that is not a backup folder', async () => {
    const outside = join(root, 'outside');
    await rejects(helper.call('etcRemoveBackup', { backupId: '..' }), 'bad-request');
    await rejects(helper.call('etcRemoveBackup', { backupId: '.' }), 'bad-request');
    await rejects(helper.call('etcRemoveBackup', { backupId: '../x' }), 'bad-request');
    await rejects(helper.call('etcRemoveBackup', { backupId: 'linked' }), 'refused', /not an \/etc backup/);
    assert.ok(lstatSync(join(backups, 'linked')).isSymbolicLink());
    assert.ok(existsSync(join(outside, 'manifest.json')));
    await rejects(
      helper.call('etcRemoveBackup', { backupId: 'no-such-backup' }),
      'refused',
      /no \/etc backup/,
    );
    mkdirSync(join(backups, 'no-manifest'));
    await rejects(
      helper.call('etcRemoveBackup', { backupId: 'no-manifest' }),
      'refused',
      /not an \/etc backup/,
    );
    assert.ok(existsSync(join(backups, 'no-manifest')));
    // A manifest that names another id is not this backup's.
    seed('renamed', new Date(), { stateroot: 'debian', checksum: 'e'.repeat(64), serial: 0 });
    const manifest = join(backups, 'renamed', 'manifest.json');
    writeFileSync(manifest, readFileSync(manifest, 'utf8').replace('"renamed"', '"recent-04"'));
    await rejects(helper.call('etcRemoveBackup', { backupId: 'renamed' }), 'refused', /not an \/etc backup/);

    const reader = await startHelper(sysroot, { mode: 'read' });
    try {
      await rejects(reader.call('etcRemoveBackup', { backupId: 'recent-04' }), 'not-authorized');
      assert.ok((await reader.call('etcBackups', {})).backups.some((b) => b.id === 'recent-04'));
    } finally {
      await reader.close();
    }
    assert.ok(existsSync(join(backups, 'recent-04')));
  });

  it('shows the limits and the backups in the CLI, and removes one from there', async () => {
    const { cli } = await bundles();
    const run = (args: string[]) =>
      spawnSync(process.execPath, [cli, ...args, '--sysroot', sysroot], { encoding: 'utf8' });
    const human = run(['etc', 'backups']);
    assert.equal(human.status, 0, human.stderr);
    assert.match(human.stdout, /at most 20, none older than 90 days/);
    assert.match(human.stdout, /^ID\s+TIME\s+DEPLOYMENT\s+STATE\s+FILES\s+SIZE$/m);
    assert.match(human.stdout, /^recent-04\s/m);
    const json = run(['etc', 'backups', '--json']);
    assert.equal(json.status, 0, json.stderr);
    const list = JSON.parse(json.stdout) as { limits: unknown; backups: { id: string }[] };
    assert.deepEqual(list.limits, { maxCount: 20, maxAgeDays: 90 });
    assert.ok(list.backups.some((b) => b.id === 'recent-04'));

    const removed = run(['etc', 'backups', 'remove', 'recent-04']);
    assert.equal(removed.status, 0, removed.stderr);
    assert.match(removed.stdout, /Removed \/etc backup recent-04/);
    assert.equal(existsSync(join(backups, 'recent-04')), false);
    const refused = run(['etc', 'backups', 'remove', 'linked', '--json']);
    assert.equal(refused.status, 1);
    assert.equal((JSON.parse(refused.stdout) as { error: { code: string } }).error.code, 'refused');
  });
});
