import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { HindsightError } from '../../shared/errors.ts';
import type { HelperMethod } from '../../shared/helper-contract.ts';
import type { PackageDelta, PackageEntry, ProgressEvent, StatusReport } from '../../shared/types.ts';
import { buildDemo, type DemoInfo } from '../core/fixtures/demo.ts';
import { DPKG_STATUS_PATH, removeFixture, tempFixtureRoot } from '../core/fixtures/sysroot-fixture.ts';
import { deltaByDpkg, dpkgQuery, parseConfigDiff, tool } from '../core/fixtures/test-support.ts';
import type { HelperClient } from './helper-client.ts';
import {
  fsck,
  ids,
  ostreeStatus,
  type ServedRepo,
  serveRepo,
  startHelper,
  treeDigest,
} from './test-support.ts';

/**
 * Every method through the real helper process on a real demo sysroot, each change checked with
 * ostree's own view (`ostree admin status`, `ostree fsck`) and the files on disk; the upgrade pulls
 * for real from an HTTP remote on 127.0.0.1.
 */

async function rejects(promise: Promise<unknown>, code: string, message?: RegExp): Promise<HindsightError> {
  try {
    await promise;
  } catch (error) {
    const e = error as HindsightError;
    assert.equal(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
    if (message) assert.match(e.message, message);
    assert.doesNotMatch(e.message, /\n|\s+at \S+ \(/, 'one line, no stack');
    return e;
  }
  assert.fail(`expected a ${code} error`);
}

function etcOf(sysroot: string, d: { stateroot: string; checksum: string; serial: number }): string {
  return join(sysroot, 'ostree', 'deploy', d.stateroot, 'deploy', `${d.checksum}.${d.serial}`, 'etc');
}

/** Each deployment's /etc, digested: a rollback or a refused change must leave every one as it was. */
function allEtcs(sysroot: string): Map<string, Map<string, string>> {
  return new Map(
    ostreeStatus(sysroot).map((d) => [`${d.checksum}.${d.serial}`, treeDigest(etcOf(sysroot, d))]),
  );
}

/** A commit's packages as dpkg-query lists them from the commit's own database, read with ostree. */
function packagesOf(scratch: string, repo: string, commit: string): PackageEntry[] {
  const tree = mkdtempSync(join(scratch, 'dpkg-'));
  const db = join(tree, DPKG_STATUS_PATH);
  mkdirSync(dirname(db), { recursive: true });
  writeFileSync(db, tool('ostree', ['cat', `--repo=${repo}`, commit, `/${DPKG_STATUS_PATH}`]), 'latin1');
  return dpkgQuery(tree);
}

/** A delta in deltaByDpkg's terms, to compare with what dpkg itself says of the two databases. */
function asDpkgDelta(delta: PackageDelta): ReturnType<typeof deltaByDpkg> {
  const change = (c: { name: string; from: string; to: string }): string => `${c.name} ${c.from} ${c.to}`;
  return {
    added: delta.added.map((p) => p.name).sort(),
    removed: delta.removed.map((p) => p.name).sort(),
    upgraded: delta.upgraded.map(change).sort(),
    downgraded: delta.downgraded.map(change).sort(),
  };
}

function assertSameStatus(report: StatusReport, sysroot: string): void {
  assert.deepEqual(ids(report.deployments), ids(ostreeStatus(sysroot)));
}

describe('the helper, method by method, on the demo sysroot', () => {
  let root = '';
  let demo: DemoInfo;
  let sysroot = '';
  let remote: ServedRepo;
  let helper: HelperClient;
  const versions = (): (string | null)[] => ostreeStatus(sysroot).map((d) => d.version);

  before(async () => {
    root = tempFixtureRoot('hindsight-helper-');
    demo = buildDemo(join(root, 'demo'));
    sysroot = demo.sysroot;
    remote = await serveRepo(demo.remoteRepo);
    const repo = join(sysroot, 'ostree', 'repo');
    tool('ostree', ['remote', 'delete', `--repo=${repo}`, demo.remote]);
    tool('ostree', ['remote', 'add', `--repo=${repo}`, '--no-gpg-verify', demo.remote, remote.url]);
    helper = await startHelper(sysroot);
  });
  after(async () => {
    await helper?.close();
    await remote?.close();
    removeFixture(root);
  });

  it('says hello first: protocol, capabilities, the sysroot it serves', () => {
    const hello = helper.hello;
    assert.equal(hello.protocol, 1);
    assert.equal(hello.sysroot, sysroot);
    assert.equal(hello.mode, 'manage');
    assert.equal(hello.privileged, true);
    assert.equal(hello.ostree?.version, '2022.7');
    assert.equal(hello.ostree?.setDefault, false);
    assert.equal(hello.ostree?.stage, true);
    assert.equal(hello.canReorder, true, 'libostree through gjs reorders on 2022.7');
    assert.equal(hello.libostree, true);
  });

  it('answers every reading method as the engine does', async () => {
    const status = await helper.call('status', {});
    assertSameStatus(status, sysroot);
    assert.deepEqual(
      status.deployments.map((d) => d.version),
      ['3.0', '2.0', '1.0'],
    );
    const delta = await helper.call('packageDelta', { from: '1', to: '0' });
    const [next, rollback] = ostreeStatus(sysroot);
    const repo = join(sysroot, 'ostree', 'repo');
    assert.deepEqual(
      asDpkgDelta(delta),
      deltaByDpkg(
        packagesOf(root, repo, rollback?.checksum ?? ''),
        packagesOf(root, repo, next?.checksum ?? ''),
      ),
    );
    assert.ok(
      delta.upgraded.some((c) => c.name === 'base-files'),
      'a point release updates base-files',
    );
    assert.ok(delta.downgraded.some((c) => c.name === 'tzdata'));
    assert.ok(delta.added.some((p) => p.name === 'flatpak'));
    const drift = await helper.call('etcDrift', { deployment: '0', diffs: true });
    assert.ok(drift.entries.some((e) => e.path === 'sudoers.d/alice' && e.status === 'added'));
    const file = await helper.call('etcFile', { deployment: '0', path: { path: 'passwd' }, target: '2' });
    assert.match(file.local.text ?? '', /^alice:/m);
    assert.doesNotMatch(file.base.text ?? '', /^alice:/m);
    assert.ok(file.hunks?.length);
    assert.equal(file.upstream?.meta?.type, 'file');
    assert.ok(file.merge, 'a target brings the three-way analysis');
    const merge = await helper.call('etcMerge', { source: '0', target: '1' });
    assert.ok(merge.files.some((f) => f.path === 'passwd'));
    const preview = await helper.call('rollbackPreview', {});
    assert.equal(preview.target.version, '2.0');
    assert.ok(preview.etcLost.some((e) => e.path === 'fstab'));
    assert.deepEqual(await helper.call('history', {}), []);
    await rejects(helper.call('etcFile', { deployment: '0', path: { path: 'no/such/file' } }), 'bad-path');
  });

  it('checks the HTTP remote: version and package delta, nothing deployed', async () => {
    const before = ids(ostreeStatus(sysroot));
    const events: ProgressEvent[] = [];
    const check = await helper.call('upgradeCheck', {}, (e) => events.push(e));
    assert.equal(check.origin, 'demo:debian/bookworm/desktop');
    assert.equal(check.current.version, '3.0');
    assert.equal(check.available?.version, '4.0');
    const delta = check.available?.delta;
    assert.ok(delta);
    const current = ostreeStatus(sysroot)[0]?.checksum ?? '';
    assert.deepEqual(
      asDpkgDelta(delta),
      deltaByDpkg(
        packagesOf(root, join(sysroot, 'ostree', 'repo'), current),
        packagesOf(root, demo.remoteRepo, demo.ref),
      ),
    );
    assert.ok(delta.added.some((p) => p.name === 'systemd-timesyncd'));
    assert.ok(remote.requests > 0, 'the check went over HTTP');
    assert.ok(events.some((e) => e.phase === 'fetching metadata'));
    assert.ok(events.some((e) => e.phase === 'fetching package list'));
    assert.deepEqual(ids(ostreeStatus(sysroot)), before, 'a check deploys nothing');
    // Only the commit and the package database were fetched: the new tree is still partial.
    assert.ok(
      existsSync(join(sysroot, 'ostree', 'repo', 'state', `${check.available?.checksum}.commitpartial`)),
    );
    fsck(sysroot);
  });

  it('upgrades: pulls over HTTP with progress (objects, bytes) and deploys, keeping the rollback', async () => {
    // Content objects (.filez) arrive one after another over several seconds, so libostree's
    // once-a-second progress report lands mid-pull even when a loaded machine delays its timer.
    let served = 0;
    remote.delay = (path) => (path.endsWith('.filez') ? 400 + 900 * served++ : 0);
    const before = ostreeStatus(sysroot);
    const events: ProgressEvent[] = [];
    const check = await helper.call('upgradeCheck', {});
    const result = await helper.call('upgrade', { commit: check.available?.checksum }, (e) => events.push(e));
    remote.delay = () => 0;
    const pulling = events.filter((e) => e.phase === 'pulling');
    assert.ok(
      pulling.some((e) => (e.fraction ?? 0) < 1 && (e.objectsDone ?? 0) > 0 && (e.bytes ?? 0) > 0),
      `a progress event during the pull: ${JSON.stringify(pulling)}`,
    );
    const last = pulling[pulling.length - 1];
    assert.equal(last?.fraction, 1);
    assert.ok((last?.objectsTotal ?? 0) > 0 && last?.objectsDone === last?.objectsTotal);
    assert.ok(events.some((e) => e.phase === 'deploying'));
    const after = ostreeStatus(sysroot);
    assertSameStatus(result.status, sysroot);
    assert.deepEqual(
      after.map((d) => d.version),
      ['4.0', '3.0', '2.0', '1.0'],
    );
    assert.deepEqual(ids(after).slice(1), ids(before), 'every older deployment kept (the rollback first)');
    assert.equal(result.status.deployments[1]?.rollback, true);
    assert.match(result.message, /4\.0.*is staged: it starts on the next boot.*Rollback: 3\.0/);
    fsck(sysroot);
    // ostree merged /etc whole-file: alice's passwd hides the image's new system user.
    const passwd = readFileSync(join(etcOf(sysroot, after[0] as never), 'passwd'), 'utf8');
    assert.match(passwd, /^alice:/m);
    assert.doesNotMatch(passwd, /systemd-timesync/);
    const again = await helper.call('upgradeCheck', {});
    assert.equal(again.available, null, 'nothing newer now');
    const noop = await helper.call('upgrade', {});
    assert.match(noop.message, /Already up to date/);
  });

  it('applies the /etc merge for passwd and group atomically, with a backup, and undoes it', async () => {
    const [target, source] = ostreeStatus(sysroot);
    assert.ok(target && source);
    const etc = etcOf(sysroot, target);
    const beforeBytes = readFileSync(join(etc, 'passwd'));
    const beforeGroup = readFileSync(join(etc, 'group'));
    const merge = await helper.call('etcMerge', { source: '1', target: '0' });
    const passwdMerge = merge.files.find((f) => f.path === 'passwd');
    assert.equal(passwdMerge?.merge, 'clean');
    assert.ok(passwdMerge?.flags.includes('upstream-hidden'));
    const events: ProgressEvent[] = [];
    const applied = await helper.call(
      'etcApply',
      {
        source: '1',
        target: '0',
        resolutions: [
          { path: { path: 'passwd' }, take: 'merged' },
          { path: { path: 'group' }, take: 'merged' },
          { path: { path: 'motd' }, take: 'upstream' },
        ],
      },
      (e) => events.push(e),
    );
    assert.deepEqual(
      applied.written.map((p) => p.path),
      ['passwd', 'group', 'motd'],
    );
    assert.equal(events[events.length - 1]?.fraction, 1);
    const passwd = readFileSync(join(etc, 'passwd'), 'utf8');
    assert.equal(passwd, passwdMerge?.merged);
    assert.match(passwd, /^alice:/m);
    assert.match(passwd, /^systemd-timesync:/m);
    assert.match(readFileSync(join(etc, 'group'), 'utf8'), /^systemd-timesync:/m);
    assert.equal(
      readFileSync(join(etc, 'motd'), 'utf8'),
      readFileSync(join(etc, '..', 'usr', 'etc', 'motd'), 'utf8'),
    );
    const st = lstatSync(join(etc, 'passwd'));
    assert.equal(st.mode & 0o7777, 0o644);
    assert.equal(st.uid, 0);
    // ostree's own view of the result: passwd now differs from the image default, motd no longer does.
    const diff = parseConfigDiff(
      tool('ostree', ['admin', 'config-diff', `--sysroot=${sysroot}`, `--os=${target.stateroot}`]),
    );
    assert.equal(diff.get('passwd'), 'M');
    assert.equal(diff.has('motd'), false);
    const backup = join(
      sysroot,
      'ostree/deploy/debian/var/lib/hindsight/etc-backups',
      applied.backupId,
      'manifest.json',
    );
    assert.equal(JSON.parse(readFileSync(backup, 'utf8')).state, 'applied');
    assert.equal(lstatSync(join(backup, '..')).mode & 0o777, 0o700, 'backups hold /etc copies: root only');

    const undone = await helper.call('etcUndo', {});
    assert.equal(undone.backupId, applied.backupId);
    assert.deepEqual(readFileSync(join(etc, 'passwd')), beforeBytes);
    assert.deepEqual(readFileSync(join(etc, 'group')), beforeGroup);
    await rejects(helper.call('etcUndo', { backupId: applied.backupId }), 'refused', /already undone/);
    await rejects(helper.call('etcUndo', {}), 'refused', /no \/etc change to undo/);
    // Apply again for the rest of the story (the newcomer keeps the merged passwd).
    await helper.call('etcApply', {
      source: '1',
      target: '0',
      resolutions: [{ path: { path: 'passwd' }, take: 'merged' }],
    });
    assert.match(readFileSync(join(etc, 'passwd'), 'utf8'), /^systemd-timesync:/m);
    fsck(sysroot);
  });

  it('refuses /etc changes that are not safe, and explains why', async () => {
    await rejects(
      helper.call('etcApply', {
        source: '1',
        target: '0',
        resolutions: [
          { path: { path: 'hostname' }, take: 'merged' },
          { path: { path: 'hostname' }, take: 'local' },
        ],
      }),
      'bad-request',
      /twice/,
    );
    await rejects(
      helper.call('etcApply', {
        source: '1',
        target: '0',
        resolutions: [{ path: { path: 'nsswitch.conf' }, take: 'local' }],
      }),
      'refused',
      /not a path that either side changed/,
    );
    // A commit that is not deployed has no /etc to write.
    const tree = join(root, 'commit-only');
    mkdirSync(join(tree, 'usr', 'etc'), { recursive: true });
    tool('ostree', [
      'commit',
      `--repo=${join(sysroot, 'ostree', 'repo')}`,
      '--branch=test/commit-only',
      `--tree=dir=${tree}`,
    ]);
    await rejects(
      helper.call('etcApply', {
        source: '0',
        target: 'test/commit-only',
        resolutions: [{ path: { path: 'passwd' }, take: 'local' }],
      }),
      'refused',
      /not deployed/,
    );
    tool('ostree', ['refs', `--repo=${join(sysroot, 'ostree', 'repo')}`, '--delete', 'test/commit-only']);
  });

  it('rolls back by reordering only, and running it again undoes it', async () => {
    const before = ostreeStatus(sysroot);
    const etcs = allEtcs(sysroot);
    const result = await helper.call('rollback', {});
    const after = ostreeStatus(sysroot);
    assertSameStatus(result.status, sysroot);
    assert.deepEqual(
      after.map((d) => d.version),
      ['3.0', '4.0', '2.0', '1.0'],
    );
    assert.deepEqual(new Set(ids(after)), new Set(ids(before)), 'nothing deleted, nothing redeployed');
    assert.deepEqual(allEtcs(sysroot), etcs, 'every /etc stays as it is');
    assert.match(result.message, /To undo: hindsight rollback/);
    // The bootloader entries follow: the first entry boots 3.0.
    const entries = readFileSync(
      join(sysroot, 'boot', 'loader', 'entries', `ostree-${after.length}-debian.conf`),
      'utf8',
    );
    assert.match(entries, /Hindsight 3\.0/);
    fsck(sysroot);
    const undo = await helper.call('rollback', {});
    assert.deepEqual(ids(ostreeStatus(sysroot)), ids(before));
    assert.deepEqual(ids(undo.status.deployments), ids(before));
    assert.deepEqual(allEtcs(sysroot), etcs);
    await rejects(helper.call('rollback', { to: '0' }), 'refused', /already boots next/);
    await rejects(helper.call('rollback', { to: '42' }), 'no-such-deployment');
  });

  it('rolls back to a chosen deployment with --to; plain rollback then brings the previous default back', async () => {
    const result = await helper.call('rollback', { to: '3' });
    assert.deepEqual(versions(), ['1.0', '4.0', '3.0', '2.0']);
    assert.equal(result.status.deployments[0]?.pinned, true, 'the pin moves with the deployment');
    assert.equal(result.status.deployments[1]?.rollback, true, 'the previous default is the rollback');
    await helper.call('rollback', {});
    // The previous default boots next again; the one tried last is now the rollback.
    assert.deepEqual(versions(), ['4.0', '1.0', '3.0', '2.0']);
    fsck(sysroot);
  });

  it('pins and unpins, as ostree admin status shows', async () => {
    await helper.call('pin', { deployment: '2' });
    assert.equal(ostreeStatus(sysroot)[2]?.pinned, true);
    const again = await helper.call('pin', { deployment: '2' });
    assert.match(again.message, /already pinned/);
    await helper.call('unpin', { deployment: '2' });
    assert.equal(ostreeStatus(sysroot)[2]?.pinned, false);
    fsck(sysroot);
  });

  it('undeploys, refusing a pinned deployment and saying why', async () => {
    const before = ostreeStatus(sysroot);
    const pinned = before.findIndex((d) => d.pinned);
    await rejects(
      helper.call('undeploy', { deployment: String(pinned) }),
      'refused',
      /pinned; unpin it first/,
    );
    const victim = before.findIndex((d) => d.version === '2.0');
    const gone = before[victim];
    assert.ok(gone);
    const result = await helper.call('undeploy', { deployment: String(victim) });
    const after = ostreeStatus(sysroot);
    assert.deepEqual(ids(after), ids(before.filter((d) => d !== gone)));
    assert.equal(existsSync(join(etcOf(sysroot, gone), '..')), false, 'the deployment folder is gone');
    assertSameStatus(result.status, sysroot);
    fsck(sysroot);
  });

  it('deploys a version from the history as a new deployment, and cancels it', async () => {
    const before = ostreeStatus(sysroot);
    const result = await helper.call('deploy', { commit: '1.0' });
    const after = ostreeStatus(sysroot);
    assert.equal(after[0]?.version, '1.0');
    assert.equal(after[0]?.checksum, before.find((d) => d.version === '1.0')?.checksum);
    assert.deepEqual(ids(after).slice(1), ids(before));
    assert.equal(result.status.deployments[0]?.origin, 'demo:debian/bookworm/desktop', 'the origin is kept');
    fsck(sysroot);
    const cancelled = await helper.call('cancel', {});
    assert.match(cancelled.message, /Cancelled the staged update 1\.0/);
    assert.deepEqual(ids(ostreeStatus(sysroot)), ids(before));
    await rejects(helper.call('deploy', { commit: '9.9' }), 'no-such-commit');
    const byChecksum = await helper.call('deploy', { commit: (before[1]?.checksum ?? '').slice(0, 12) });
    assert.equal(byChecksum.status.deployments.length, before.length + 1);
    assert.equal(byChecksum.status.deployments[0]?.checksum, before[1]?.checksum);
    await helper.call('cancel', {});
    assert.deepEqual(ids(ostreeStatus(sysroot)), ids(before));
    // A deployment Hindsight did not make is never cancelled: that is undeploy, named explicitly.
    const older = before.findIndex((d) => d.version === '3.0');
    await helper.call('rollback', { to: String(older) });
    await rejects(helper.call('cancel', {}), 'refused', /nothing to cancel/);
    await helper.call('rollback', {});
    assert.deepEqual(ids(ostreeStatus(sysroot)).slice(0, 1), ids(before).slice(0, 1));
    fsck(sysroot);
  });

  it('reboots only a running system', async () => {
    await rejects(helper.call('reboot', {}), 'refused', /not the running system/);
  });

  it('keeps an audit record of every change, newest first', async () => {
    const records = await helper.call('history', { limit: 500 });
    const ops = records.map((r) => r.operation);
    for (const op of [
      'upgrade',
      'etcApply',
      'etcUndo',
      'rollback',
      'pin',
      'unpin',
      'undeploy',
      'deploy',
      'cancel',
      'reboot',
    ]) {
      assert.ok(ops.includes(op), op);
    }
    assert.equal(records[0]?.operation, 'reboot');
    assert.equal(records[0]?.result, 'error');
    assert.ok(records.every((r) => r.uid === 0 && r.user === 'root'));
    assert.ok(records.some((r) => r.operation === 'rollback' && r.result === 'error'));
    const file = join(sysroot, 'ostree/deploy/debian/var/lib/hindsight/audit.jsonl');
    const st = lstatSync(file);
    assert.equal(st.uid, 0);
    assert.equal(readFileSync(file, 'utf8').trim().split('\n').length, records.length);
    assert.equal((await helper.call('history', { limit: 2 })).length, 2);
  });

  it('answers busy to a second operation, in this helper and in another one', async () => {
    // The second helper is up before the slow check starts, so the check surely holds the lock meanwhile.
    const other = await startHelper(sysroot);
    remote.delay = () => 600;
    const slow = helper.call('upgradeCheck', {});
    try {
      await new Promise((r) => setTimeout(r, 300));
      await rejects(helper.call('status', {}), 'busy', /another operation is running/);
      await rejects(other.call('rollback', {}), 'busy', /another Hindsight process/);
      await rejects(other.call('upgradeCheck', {}), 'busy');
      const count = ostreeStatus(sysroot).length;
      assert.equal((await other.call('status', {})).deployments.length, count, 'reading is never blocked');
    } finally {
      await other.close();
      await slow;
      remote.delay = () => 0;
    }
    // The lock is free again once the operation ends.
    const third = await startHelper(sysroot);
    try {
      await third.call('pin', { deployment: '1' });
      await third.call('unpin', { deployment: '1' });
    } finally {
      await third.close();
    }
  });

  it('is bound to its sysroot and its mode', async () => {
    await rejects(helper.call('status', { sysroot: '/' }), 'refused', /serves .* only/);
    assert.equal((await helper.call('status', { sysroot: `${sysroot}/.` })).sysroot, sysroot);
    const reader = await startHelper(sysroot, { mode: 'read' });
    try {
      assert.equal(reader.hello.mode, 'read');
      await rejects(reader.call('rollback', {}), 'not-authorized', /started for reading only/);
      assert.ok((await reader.call('history', {})).length > 0);
    } finally {
      await reader.close();
    }
  });

  it('validates on the client too, and exits when its stdin closes', async () => {
    await rejects(
      helper.call('rollback' as HelperMethod, { to: '--repo=/' } as never),
      'bad-request',
      /invalid rollback request/,
    );
    const extra = await startHelper(sysroot);
    await extra.close();
    assert.equal(await extra.exited, 0);
    await rejects(extra.call('status', {}), 'io-error', /stopped/);
  });

  it('refuses to start on a folder that is not a sysroot', async () => {
    await rejects(startHelper(root), 'bad-request', /not an OSTree sysroot/);
  });
});
