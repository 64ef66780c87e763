import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { HindsightError } from '../../../shared/errors.ts';
import { withConfinement } from '../confined-fs.ts';
import { requireProgram, runSync, runSyncChecked } from '../exec.ts';
import { buildRpms, DEFAULT_RPMDB_DIR, type RpmSpec } from '../fixtures/rpm-fixture.ts';
import {
  buildSnapperRoot,
  type SnapperPackages,
  type SnapperRoot,
  SSHD_CONFIG,
  snapperRootSkipReason,
} from '../fixtures/snapper-root.ts';
import { applyPendingMerge, pendingMerge, pendingMerges, undoPendingMerge } from './pending-merge.ts';
import { readSnapperRoot, type SnapperRootReport, snapshotFolder } from './snapshots.ts';

/**
 * Pending merges on real snapper roots (loop-backed btrfs, real snapper, real rpm): the fixture's
 * upgrade leaves `sshd_config.rpmnew` (or `.dpkg-dist`) beside a locally edited sshd_config, and
 * the package's previous version is found in the install snapshot by its recorded digest.
 */

const env = { ...process.env, LC_ALL: 'C' };
const LOCAL_PORT = 'Port 2222';
const HS_CONF = '/etc/hs/hs.conf';
// Changes of the two sides one line apart: diff3 (node-diff3, GNU diff3, git) calls adjacent ones a conflict.
const HS_V1 = '# hs.conf 1.0\n\nport = 22\nlog = info\n';
const HS_LOCAL = '# hs.conf 1.0\n\nport = 2222\nlog = info\n';
const HS_V2 = '# hs.conf 2.0\n\nport = 22\nlog = info\nnew = yes\n';
const HS_RPMS: RpmSpec[] = [
  { name: 'hsconf', version: '1.0', release: '1', files: { [HS_CONF]: HS_V1 }, config: [HS_CONF] },
  { name: 'hsconf', version: '2.0', release: '1', files: { [HS_CONF]: HS_V2 }, config: [HS_CONF] },
];
const NEW_LINE = 'KbdInteractiveAuthentication no';

function rejectsWith(code: string, pattern: RegExp) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof HindsightError, `not a HindsightError: ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.match(error.message, pattern);
    assert.ok(!error.message.includes('\n'), 'one line');
    return true;
  };
}

/** `rpm -V` of openssh in the live root, as text: what a person would see. */
function rpmVerify(root: string, name: string): string {
  const out = runSync(
    requireProgram('rpm'),
    ['-V', '--root', root, '--dbpath', `/${DEFAULT_RPMDB_DIR}`, name],
    {
      env,
    },
  );
  return out.stdout.toString('utf8');
}

/** The digest rpm itself recorded for a path in a snapshot (`rpm -q --dump`, on a copy: rpm opens its database for writing). */
function rpmDumpDigest(tree: string, name: string, path: string): string {
  const copy = mkdtempSync(join(tmpdir(), 'hindsight-rpmdb-'));
  try {
    cpSync(join(tree, DEFAULT_RPMDB_DIR), join(copy, DEFAULT_RPMDB_DIR), { recursive: true });
    const dump = runSyncChecked(
      requireProgram('rpm'),
      ['-q', '--dump', '--root', copy, '--dbpath', `/${DEFAULT_RPMDB_DIR}`, name],
      { env },
    ).toString('utf8');
    const line = dump.split('\n').find((l) => l.startsWith(`${path} `));
    assert.ok(line, `rpm --dump lists ${path}`);
    return line.split(' ')[3] as string;
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}

interface Snap {
  bytes: Buffer;
  mode: number;
  uid: number;
  gid: number;
  mtimeMs: number;
}

function snap(path: string): Snap | null {
  if (!existsSync(path)) return null;
  const st = lstatSync(path);
  return {
    bytes: readFileSync(path),
    mode: st.mode,
    uid: st.uid,
    gid: st.gid,
    mtimeMs: st.mtimeMs,
  };
}

/** Equal, mtime to the microsecond: utimes takes seconds as a double, which keeps no more. */
function assertSame(actual: Snap | null, expected: Snap | null): void {
  assert.ok(actual && expected, 'both exist');
  assert.ok(
    Math.abs(actual.mtimeMs - expected.mtimeMs) < 0.005,
    `mtime ${actual.mtimeMs} vs ${expected.mtimeMs}`,
  );
  assert.deepEqual({ ...actual, mtimeMs: 0 }, { ...expected, mtimeMs: 0 });
}

/** As the fixture leaves rpm's database: checkpointed, so a read-only snapshot of it opens. */
function settleRpmDb(tree: string): void {
  const file = join(tree, DEFAULT_RPMDB_DIR, 'rpmdb.sqlite');
  const db = new Database(file, { fileMustExist: true });
  try {
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
  for (const side of ['-wal', '-shm']) rmSync(`${file}${side}`, { force: true });
}

function rpmIn(root: string, args: string[]): void {
  runSyncChecked(
    requireProgram('rpm'),
    ['--root', root, '--dbpath', `/${DEFAULT_RPMDB_DIR}`, '--nodeps', '--noscripts', '--notriggers', ...args],
    { env },
  );
  settleRpmDb(root);
}

/**
 * rpm's own .rpmnew, on top of the fixture's story: a %config(noreplace) file installed (a snapshot),
 * edited, then upgraded between a pre and a post snapshot, so rpm itself keeps the edit and writes
 * the new version beside it.
 */
function hsStory(fx: SnapperRoot): { installed: number; pre: number; post: number } {
  const [v1, v2] = buildRpms(HS_RPMS, join(tmpdir(), 'hindsight-rpm-cache')) as [string, string];
  const create = (args: string[]): number =>
    Number(fx.snapper(['create', '--print-number', '--cleanup-algorithm', 'number', ...args]).trim());
  rpmIn(fx.root, ['-i', v1]);
  const installed = create(['--description', 'zypper in hsconf']);
  writeFileSync(join(fx.root, HS_CONF), HS_LOCAL);
  const pre = create(['--type', 'pre', '--description', 'zypper up hsconf']);
  rpmIn(fx.root, ['-U', v2]);
  const post = create(['--type', 'post', '--pre-number', String(pre), '--description', 'zypper up hsconf']);
  return { installed, pre, post };
}

for (const packages of ['rpm', 'dpkg'] as SnapperPackages[]) {
  const skip = snapperRootSkipReason(packages);
  if (skip) console.log(`# pending merges (${packages}): skipped — ${skip}`);
  const suffix = packages === 'rpm' ? 'rpmnew' : 'dpkg-dist';

  describe(`pending merges on a Tumbleweed snapper root (${packages})`, { skip }, () => {
    let fx: SnapperRoot;
    let report: SnapperRootReport;
    let backups: string;
    let hs: { installed: number; pre: number; post: number };
    /** The merge each suite applies: rpm's own .rpmnew on rpm, the fixture's sshd_config on dpkg. */
    let file: string;
    let mergeFile: string;

    before(async () => {
      fx = buildSnapperRoot({ packages });
      if (packages === 'rpm') hs = hsStory(fx);
      report = await readSnapperRoot(fx.root);
      backups = mkdtempSync(join(tmpdir(), 'hindsight-merge-backups-'));
      file = join(fx.root, packages === 'rpm' ? HS_CONF : SSHD_CONFIG);
      mergeFile = `${file}.${suffix}`;
      assert.ok(existsSync(mergeFile), `${mergeFile} is there`);
    });
    after(() => {
      fx?.cleanup();
      if (backups) rmSync(backups, { recursive: true, force: true });
    });

    it('lists the merges the upgrades left, as three sides', async () => {
      const list = await pendingMerges(fx.root, report, 0);
      assert.equal(list.format, packages);
      const expected = [[`/${SSHD_CONFIG}`, `/${SSHD_CONFIG}.${suffix}`, suffix]];
      if (packages === 'rpm') expected.unshift([HS_CONF, `${HS_CONF}.rpmnew`, 'rpmnew']);
      assert.deepEqual(
        list.merges.map((m) => [m.path, m.mergePath, m.kind]),
        expected,
      );
      const m = list.merges.find((x) => `${fx.root}${x.path}` === file);
      assert.ok(m);
      assert.equal(m.local.content, 'text');
      assert.equal(m.local.text, readFileSync(file, 'utf8'));
      assert.equal(m.upstream.text, readFileSync(mergeFile, 'utf8'));
      assert.equal(m.local.meta?.mode, lstatSync(file).mode & 0o7777);
      // By either name.
      assert.deepEqual(await pendingMerge(fx.root, report, 0, m.mergePath), m);
      assert.deepEqual(await pendingMerge(fx.root, report, 0, `.${m.path.replace('/etc/', '/etc/./')}`), m);
      await assert.rejects(
        pendingMerge(fx.root, report, 0, '/etc/motd'),
        rejectsWith('bad-path', /no pending merge for \/etc\/motd/),
      );
    });

    if (packages === 'rpm') {
      it('finds the base in the snapshot taken after the install, by the digest rpm recorded there', async () => {
        const m = await pendingMerge(fx.root, report, 0, HS_CONF);
        assert.equal(m.kind, 'rpmnew');
        assert.deepEqual(m.owners, ['hsconf']);
        // The newest older snapshot whose copy is as hsconf 1.0 installed it: after the install,
        // before the local edit (later ones hold the edit, or the new version's digest).
        assert.equal(m.baseFrom, hs.installed);
        assert.equal(m.baseReason, undefined);
        const recorded = rpmDumpDigest(snapshotFolder(fx.root, hs.installed), 'hsconf', HS_CONF);
        assert.equal(
          createHash('sha256')
            .update(m.base?.text ?? '')
            .digest('hex'),
          recorded,
        );
        assert.equal(m.base?.text, HS_V1);
        assert.equal(m.local.text, HS_LOCAL);
        assert.equal(m.upstream.text, HS_V2);

        assert.equal(m.merge, 'clean');
        assert.equal(m.conflicts, undefined);
        assert.equal(m.merged, '# hs.conf 2.0\n\nport = 2222\nlog = info\nnew = yes\n');
      });

      it("reads the fixture's sshd_config merge by what its rpm recorded", async () => {
        const m = await pendingMerge(fx.root, report, 0, `/${SSHD_CONFIG}`);
        assert.deepEqual(m.owners, ['openssh']);
        // The newest older snapshot whose sshd_config has the digest openssh 9.6p1 recorded.
        assert.equal(m.baseFrom, fx.story.install?.post);
        assert.equal(m.merge, 'clean');
        assert.match(m.merged ?? '', new RegExp(`^${LOCAL_PORT}$`, 'm'));
        assert.match(m.merged ?? '', new RegExp(`^${NEW_LINE}$`, 'm'));
      });

      it('reads the merge in a snapshot, with a base older than it', async () => {
        const atPost = await pendingMerges(fx.root, report, hs.post);
        const m = atPost.merges.find((x) => x.path === HS_CONF);
        assert.equal(m?.baseFrom, hs.installed);
        assert.equal(m?.merge, 'clean');
        assert.equal(
          (await pendingMerges(fx.root, report, hs.pre)).merges.some((x) => x.path === HS_CONF),
          false,
        );
        await assert.rejects(
          pendingMerges(fx.root, report, 99),
          rejectsWith('bad-selector', /no snapshot 99/),
        );
      });

      it('applies the merged text, removes the .rpmnew, and undo puts both back', async () => {
        const beforeFile = snap(file) as Snap;
        const beforeMerge = snap(mergeFile) as Snap;
        const verifyBefore = rpmVerify(fx.root, 'hsconf');
        assert.match(verifyBefore, /^S\.5\S*\s+c \/etc\/hs\/hs\.conf$/m);
        const view = await pendingMerge(fx.root, report, 0, HS_CONF);

        const result = await applyPendingMerge(fx.root, report, { path: HS_CONF, take: 'merged' }, backups);
        assert.equal(result.path, HS_CONF);
        assert.match(result.message, /^Wrote the merged \/etc\/hs\/hs\.conf and removed hs\.conf\.rpmnew/);
        assert.ok(!result.message.includes('\n'));
        assert.equal(readFileSync(file, 'utf8'), view.merged);
        assert.equal(existsSync(mergeFile), false);
        const now = lstatSync(file);
        assert.deepEqual([now.mode, now.uid, now.gid], [beforeFile.mode, beforeFile.uid, beforeFile.gid]);
        // Still not the package's text (the local port stays), so rpm -V still names it.
        assert.match(rpmVerify(fx.root, 'hsconf'), /^S\.5\S*\s+c \/etc\/hs\/hs\.conf$/m);
        assert.equal(
          (await pendingMerges(fx.root, report, 0)).merges.some((x) => x.path === HS_CONF),
          false,
        );
        const manifest = JSON.parse(readFileSync(join(backups, result.backupId, 'manifest.json'), 'utf8'));
        assert.equal(manifest.state, 'applied');
        assert.equal(manifest.entries.length, 2);

        const undone = await undoPendingMerge(fx.root, backups, result.backupId);
        assert.equal(undone.backupId, result.backupId);
        assertSame(snap(file), beforeFile);
        assertSame(snap(mergeFile), beforeMerge);
        assert.equal(rpmVerify(fx.root, 'hsconf'), verifyBefore);
        await assert.rejects(
          undoPendingMerge(fx.root, backups, result.backupId),
          rejectsWith('refused', /already put back/),
        );
      });

      it('taking the package version leaves a file rpm -V calls as installed', async () => {
        const beforeFile = snap(file) as Snap;
        const beforeMerge = snap(mergeFile) as Snap;
        const verifyBefore = rpmVerify(fx.root, 'hsconf');
        const result = await withConfinement(() =>
          applyPendingMerge(fx.root, report, { path: `${HS_CONF}.rpmnew`, take: 'upstream' }, backups),
        );
        assert.match(result.message, /^Put hs\.conf\.rpmnew in place of \/etc\/hs\/hs\.conf/);
        assert.deepEqual(readFileSync(file), beforeMerge.bytes);
        assert.equal(rpmVerify(fx.root, 'hsconf'), '');
        await withConfinement(() => undoPendingMerge(fx.root, backups, result.backupId));
        assertSame(snap(file), beforeFile);
        assertSame(snap(mergeFile), beforeMerge);
        assert.equal(rpmVerify(fx.root, 'hsconf'), verifyBefore);
      });

      it('refuses to undo over a change made since', async () => {
        const result = await applyPendingMerge(fx.root, report, { path: HS_CONF, take: 'local' }, backups);
        assert.match(result.message, /^Kept \/etc\/hs\/hs\.conf as it is and removed/);
        const kept = snap(file) as Snap;
        writeFileSync(file, 'edited since\n');
        await assert.rejects(
          undoPendingMerge(fx.root, backups, result.backupId),
          rejectsWith('refused', /changed since backup/),
        );
        writeFileSync(file, kept.bytes);
        await undoPendingMerge(fx.root, backups, result.backupId);
        assert.ok(existsSync(mergeFile));
      });

      it('refuses merged text while conflicts are left, takes resolved text', async () => {
        const original = snap(file) as Snap;
        // The first line is one the upgrade changed too: a real conflict.
        writeFileSync(file, HS_LOCAL.replace('# hs.conf 1.0', '# my own hs.conf'));
        try {
          const view = await pendingMerge(fx.root, report, 0, HS_CONF);
          assert.equal(view.merge, 'conflict');
          assert.equal(view.conflicts?.length, 1);
          assert.deepEqual(view.conflicts?.[0]?.local, ['# my own hs.conf']);
          await assert.rejects(
            applyPendingMerge(fx.root, report, { path: HS_CONF, take: 'merged' }, backups),
            rejectsWith('refused', /^conflicts-left: \/etc\/hs\/hs\.conf has 1 conflict left/),
          );
          await assert.rejects(
            applyPendingMerge(
              fx.root,
              report,
              { path: HS_CONF, take: 'merged', text: view.merged ?? '' },
              backups,
            ),
            rejectsWith('refused', /^conflicts-left: .*conflict markers/),
          );
          const text = '# my own hs.conf\n\nport = 2222\nlog = info\nnew = yes\n';
          const result = await applyPendingMerge(
            fx.root,
            report,
            { path: HS_CONF, take: 'merged', text },
            backups,
          );
          assert.equal(readFileSync(file, 'utf8'), text);
          assert.equal(existsSync(mergeFile), false);
          await undoPendingMerge(fx.root, backups, result.backupId);
          assert.ok(existsSync(mergeFile));
        } finally {
          writeFileSync(file, original.bytes);
          utimesSync(file, Date.now() / 1000, original.mtimeMs / 1000);
        }
      });
    } else {
      it('has no base where the database records no digest, and calls every differing line a conflict', async () => {
        const m = await pendingMerge(fx.root, report, 0, `/${SSHD_CONFIG}`);
        // The fixture's dpkg status lists no Conffiles: nothing to recognise the old version by.
        assert.equal(m.baseFrom, null);
        assert.equal(m.base, null);
        assert.match(m.baseReason ?? '', /records a digest/);
        assert.equal(m.merge, 'conflict');
        assert.deepEqual(
          m.conflicts?.map((c) => [c.local, c.upstream]),
          [
            [[LOCAL_PORT], ['Port 22']],
            [[], [NEW_LINE]],
          ],
        );
        // The line both sides share is kept outside any conflict.
        assert.match(m.merged ?? '', /=======\nPort 22\n>>>>>>> [^\n]*\nPermitRootLogin/);
      });

      it('takes the package version in place of the .dpkg-dist, and undo puts both back', async () => {
        const beforeFile = snap(file) as Snap;
        const beforeMerge = snap(mergeFile) as Snap;
        await assert.rejects(
          applyPendingMerge(fx.root, report, { path: `/${SSHD_CONFIG}`, take: 'merged' }, backups),
          rejectsWith('refused', /^conflicts-left: \/etc\/ssh\/sshd_config has 2 conflicts left/),
        );
        const result = await applyPendingMerge(
          fx.root,
          report,
          { path: `/${SSHD_CONFIG}`, take: 'upstream' },
          backups,
        );
        assert.deepEqual(readFileSync(file), beforeMerge.bytes);
        assert.equal(existsSync(mergeFile), false);
        await undoPendingMerge(fx.root, backups, result.backupId);
        assertSame(snap(file), beforeFile);
        assertSame(snap(mergeFile), beforeMerge);
      });
    }

    it('writes only the running root, and only when it is writable', async () => {
      const untouched = snap(file);
      await assert.rejects(
        applyPendingMerge(fx.root, report, { path: `/${SSHD_CONFIG}`, take: 'upstream', number: 3 }, backups),
        rejectsWith('refused', /running root \(snapshot 0\) only/),
      );
      const readOnly: SnapperRootReport = {
        ...report,
        activeSubvolume: { ...report.activeSubvolume, readOnly: true },
      };
      await assert.rejects(
        applyPendingMerge(fx.root, readOnly, { path: `/${SSHD_CONFIG}`, take: 'upstream' }, backups),
        rejectsWith('refused', /read-only/),
      );
      await assert.rejects(
        applyPendingMerge(fx.root, report, { path: `/${SSHD_CONFIG}`, take: 'local', text: 'x' }, backups),
        rejectsWith('bad-request', /take: merged only/),
      );
      await assert.rejects(
        undoPendingMerge(fx.root, backups, '../etc'),
        rejectsWith('bad-request', /not a backup id/),
      );
      assert.deepEqual(snap(file), untouched);
      assert.ok(existsSync(mergeFile));
    });
  });
}
