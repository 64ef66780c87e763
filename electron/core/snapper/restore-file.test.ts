import assert from 'node:assert/strict';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HindsightError } from '../../../shared/errors.ts';
import { withConfinement } from '../confined-fs.ts';
import { requireProgram, runSyncChecked } from '../exec.ts';
import { buildSnapperRoot, type SnapperRoot, snapperRootSkipReason } from '../fixtures/snapper-root.ts';
import { restoreFile, undoRestore } from './restore-file.ts';
import { readSnapperRoot, type SnapperRootReport, snapshotFolder } from './snapshots.ts';

/**
 * Restoring single files from snapper snapshots into the running root of a real snapper root, and
 * the paths it must refuse: `..`, links on the way on either side, folders, special files.
 */

const SKIP = snapperRootSkipReason();
if (SKIP) console.log(`# restore file: skipped — ${SKIP}`);

const BINARY = Buffer.from([0, 1, 2, 0xff, 0xfe, 0, 0x0a, 0x80, 0x7f]);
const ODD_NAME = Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x2e, 0x63, 0x6f, 0x6e, 0x66]); // "café.conf" in latin1

function rejectsWith(code: string, pattern: RegExp) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof HindsightError, `not a HindsightError: ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.match(error.message, pattern);
    assert.ok(!error.message.includes('\n'), 'one line');
    return true;
  };
}

describe('restoring a file from a snapper snapshot', { skip: SKIP }, () => {
  let fx: SnapperRoot;
  let report: SnapperRootReport;
  let backups: string;
  let outside: string;
  /** A snapshot taken of things the fixture's story does not have. */
  let extra: number;

  before(async () => {
    fx = buildSnapperRoot({ packages: 'rpm' });
    outside = mkdtempSync(join(tmpdir(), 'hindsight-outside-'));
    backups = mkdtempSync(join(tmpdir(), 'hindsight-restore-backups-'));
    const r = fx.root;
    writeFileSync(join(r, 'etc/blob.bin'), BINARY);
    chmodSync(join(r, 'etc/blob.bin'), 0o600);
    symlinkSync('../usr/share/zoneinfo/UTC', join(r, 'etc/localtime'));
    writeFileSync(Buffer.concat([Buffer.from(`${r}/etc/`), ODD_NAME]), 'odd\n');
    mkdirSync(join(r, 'etc/hs-dir'), { mode: 0o750 });
    writeFileSync(join(r, 'etc/hs-dir/inner.conf'), 'inner\n');
    mkdirSync(join(r, 'etc/real-dir'));
    writeFileSync(join(r, 'etc/real-dir/file'), 'real\n');
    symlinkSync(outside, join(r, 'etc/link-out'));
    runSyncChecked(requireProgram('mkfifo'), [join(r, 'etc/fifo')]);
    extra = Number(fx.snapper(['create', '--print-number', '--description', 'restore fixtures']).trim());
    // Then the live root moves on: the file gone, the link gone, a folder gone, one swapped for a link.
    rmSync(join(r, 'etc/blob.bin'));
    rmSync(join(r, 'etc/localtime'));
    rmSync(Buffer.concat([Buffer.from(`${r}/etc/`), ODD_NAME]));
    rmSync(join(r, 'etc/hs-dir'), { recursive: true });
    rmSync(join(r, 'etc/real-dir'), { recursive: true });
    symlinkSync(outside, join(r, 'etc/real-dir'));
    rmSync(join(r, 'etc/fifo'));
    report = await readSnapperRoot(fx.root);
  });
  after(() => {
    fx?.cleanup();
    for (const dir of [backups, outside]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("restores /etc/motd from an older snapshot, and undo puts today's back", async () => {
    const timeline = fx.story.timeline as number;
    const motd = join(fx.root, 'etc/motd');
    const then = join(snapshotFolder(fx.root, timeline), 'etc/motd');
    const before = readFileSync(motd);
    const beforeMtime = lstatSync(motd).mtimeMs;
    const result = await restoreFile(fx.root, report, { from: timeline, path: '/etc/motd' }, backups);
    assert.equal(result.path, '/etc/motd');
    assert.match(result.message, new RegExp(`^Restored /etc/motd from snapshot ${timeline}; backup `));
    assert.deepEqual(readFileSync(motd), readFileSync(then));
    const [now, old] = [lstatSync(motd), lstatSync(then)];
    assert.deepEqual([now.mode, now.uid, now.gid], [old.mode, old.uid, old.gid]);
    assert.ok(Math.abs(now.mtimeMs - old.mtimeMs) < 0.005);

    await undoRestore(fx.root, backups, result.backupId);
    assert.deepEqual(readFileSync(motd), before);
    assert.ok(Math.abs(lstatSync(motd).mtimeMs - beforeMtime) < 0.005);
  });

  it('restores a binary file with its mode, a link with its target, a name that is not UTF-8', async () => {
    await withConfinement(async () => {
      const blob = await restoreFile(fx.root, report, { from: extra, path: 'etc/blob.bin' }, backups);
      assert.match(blob.message, /did not exist; undo removes it/);
      assert.deepEqual(readFileSync(join(fx.root, 'etc/blob.bin')), BINARY);
      assert.equal(lstatSync(join(fx.root, 'etc/blob.bin')).mode & 0o7777, 0o600);

      const link = await restoreFile(fx.root, report, { from: extra, path: '/etc/localtime' }, backups);
      assert.equal(readlinkSync(join(fx.root, 'etc/localtime')), '../usr/share/zoneinfo/UTC');

      const oddPath = Buffer.concat([Buffer.from('/etc/'), ODD_NAME]);
      const odd = await restoreFile(fx.root, report, { from: extra, path: oddPath }, backups);
      assert.equal(odd.pathBase64, oddPath.toString('base64'));
      const oddLive = Buffer.concat([Buffer.from(fx.root), oddPath]);
      assert.equal(readFileSync(oddLive, 'utf8'), 'odd\n');

      for (const r of [blob, link, odd]) await undoRestore(fx.root, backups, r.backupId);
      assert.equal(existsSync(join(fx.root, 'etc/blob.bin')), false);
      assert.equal(existsSync(join(fx.root, 'etc/localtime')), false);
      assert.equal(existsSync(oddLive), false);
    });
  });

  it('brings a missing folder back with the file, and undo takes both away', async () => {
    const result = await restoreFile(
      fx.root,
      report,
      { from: extra, path: '/etc/hs-dir/inner.conf' },
      backups,
    );
    assert.equal(readFileSync(join(fx.root, 'etc/hs-dir/inner.conf'), 'utf8'), 'inner\n');
    assert.equal(lstatSync(join(fx.root, 'etc/hs-dir')).mode & 0o7777, 0o750);
    await undoRestore(fx.root, backups, result.backupId);
    assert.equal(existsSync(join(fx.root, 'etc/hs-dir')), false);
  });

  it('refuses paths that leave the root, lead through links, or name no file', async () => {
    const refuse = (path: string | Buffer, code: string, pattern: RegExp, from = extra) =>
      assert.rejects(restoreFile(fx.root, report, { from, path }, backups), rejectsWith(code, pattern));
    await refuse('/etc/../../etc/passwd', 'bad-path', /"\.\." is not taken/);
    await refuse('../../etc/motd', 'bad-path', /"\.\." is not taken/);
    await refuse('/', 'bad-path', /names no file/);
    await refuse('/.snapshots/1/snapshot/etc/motd', 'bad-path', /inside \.snapshots/);
    await refuse(Buffer.from('etc/mo\0td'), 'bad-path', /NUL/);
    // A link on the way in the snapshot, and in the live root (to a folder outside the root).
    await refuse('/etc/link-out/x', 'refused', /\/etc\/link-out in snapshot \d+ is a link/);
    await refuse('/etc/real-dir/file', 'refused', /\/etc\/real-dir in the running root is a link/);
    assert.deepEqual(readFileSync(join(fx.root, 'etc/hostname'), 'utf8'), 'hindsight-snapper\n');
    await refuse('/etc/no-such-file', 'bad-path', /has no \/etc\/no-such-file/);
    await refuse('/etc/no-such-dir/file', 'bad-path', /has no \/etc\/no-such-dir\/file/);
    await refuse('/etc/ssh', 'refused', /is a folder/);
    await refuse('/etc/fifo', 'refused', /special file/);
    await refuse('/etc/motd', 'bad-selector', /has no snapshot 99/, 99);
    await refuse('/etc/motd', 'bad-request', /is the running root itself/, 1);
    await refuse('/etc/motd', 'bad-selector', /above 0/, 0);
    assert.equal(namesIn(outside), '');
    const readOnly = { ...report, activeSubvolume: { ...report.activeSubvolume, readOnly: true } };
    await assert.rejects(
      restoreFile(fx.root, readOnly, { from: extra, path: '/etc/motd' }, backups),
      rejectsWith('refused', /read-only/),
    );
  });

  it('will not undo over a later change', async () => {
    const result = await restoreFile(fx.root, report, { from: extra, path: '/etc/blob.bin' }, backups);
    writeFileSync(join(fx.root, 'etc/blob.bin'), 'changed later\n');
    await assert.rejects(
      undoRestore(fx.root, backups, result.backupId),
      rejectsWith('refused', /changed since backup/),
    );
    rmSync(join(fx.root, 'etc/blob.bin'));
    // Already as before the restore (gone): the undo has nothing left to do but record it.
    await undoRestore(fx.root, backups, result.backupId);
    await assert.rejects(
      undoRestore(fx.root, backups, 'no-such-backup'),
      rejectsWith('bad-request', /no backup/),
    );
  });
});

/** The names in a folder, joined: what a write through a link would have left there. */
function namesIn(dir: string): string {
  return runSyncChecked(requireProgram('ls'), ['-A', dir]).toString('utf8');
}
