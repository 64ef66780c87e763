import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { HindsightError } from '../../shared/errors.ts';
import { requireProgram, runSyncChecked } from '../core/exec.ts';
import { buildDemo } from '../core/fixtures/demo.ts';
import { buildSnapperRoot, type SnapperRoot, snapperRootSkipReason } from '../core/fixtures/snapper-root.ts';
import { removeFixture, tempFixtureRoot } from '../core/fixtures/sysroot-fixture.ts';
import type { HelperClient } from './helper-client.ts';
import { startHelper } from './test-support.ts';

/**
 * The helper on a real snapper root (loop-backed btrfs): it says which backend it serves, answers
 * snapper's methods from snapper's own list and the snapshot folders, refuses OSTree's methods there
 * (and snapper's on an OSTree sysroot) in one line, and a reading helper changes nothing.
 */

const SKIP = snapperRootSkipReason();
if (SKIP) console.log(`# the helper on snapper roots: skipped — ${SKIP}`);

async function rejectsWith(promise: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (error: HindsightError) => {
    assert.equal(error.code, code, error.message);
    assert.ok(!error.message.includes('\n'), 'one line');
    if (message) assert.match(error.message, message);
    return true;
  });
}

function getDefault(root: string): string {
  return runSyncChecked(requireProgram('btrfs'), ['subvolume', 'get-default', root]).toString('utf8').trim();
}

describe('a reading helper on a Tumbleweed-like snapper root', { skip: SKIP }, () => {
  let fx: SnapperRoot;
  let helper: HelperClient;
  before(async () => {
    fx = buildSnapperRoot({ flavour: 'tumbleweed' });
    helper = await startHelper(fx.root, { mode: 'read' });
  });
  after(async () => {
    await helper?.close();
    if (fx) rmSync(join(fx.root, 'var', 'lib', 'hindsight'), { recursive: true, force: true });
    fx?.cleanup();
  });

  it('says it serves a snapper root, and lists what snapper lists with the default and active subvolumes', async () => {
    assert.equal(helper.hello.backend, 'snapper');
    const status = await helper.call('snapperStatus', {});
    const listed = JSON.parse(fx.snapper(['--utc', '--jsonout', 'list'])).root as { number: number }[];
    assert.deepEqual(
      status.snapshots.map((s) => s.number),
      listed.map((s) => s.number),
    );
    assert.equal(status.backend, 'snapper');
    assert.equal(status.readOnlyRoot, false);
    assert.equal(status.pendingRollback, null);
    assert.equal(status.defaultSubvolume.number, fx.defaultNumber);
    assert.ok(getDefault(fx.root).endsWith(`@/.snapshots/${fx.defaultNumber}/snapshot`));
  });

  it('files between the pre and post of the upgrade, under etc: the .rpmnew rpm left; one file of both sides', async () => {
    const { pre, post } = fx.story.upgrade as { pre: number; post: number };
    const files = await helper.call('snapperFiles', {
      from: String(pre),
      to: String(post),
      paths: [{ path: '/etc' }],
    });
    assert.deepEqual(
      files.entries.map((e) => [e.path, e.status]),
      [['/etc/ssh/sshd_config.rpmnew', 'added']],
    );
    assert.deepEqual(files.counts, { added: 1, removed: 0, modified: 0 });
    const view = await helper.call('snapperFile', {
      from: String(pre),
      to: String(post),
      path: { path: '/etc/ssh/sshd_config.rpmnew' },
    });
    assert.equal(view.from.meta, null);
    assert.match(view.to.text ?? '', /KbdInteractiveAuthentication no/);
    await rejectsWith(
      helper.call('snapperFile', { from: String(pre), to: String(post), path: { path: 'etc/nothing-here' } }),
      'bad-path',
    );
  });

  it('refuses paths that leave the snapshot, OSTree methods, and every change from a reading helper', async () => {
    await rejectsWith(
      helper.call('snapperFile', { from: '1', to: '0', path: { path: 'etc/../../x' } }),
      'bad-request',
    );
    await rejectsWith(helper.call('status', {}), 'unsupported', /snapper root/);
    await rejectsWith(helper.call('snapperRollback', { to: '2' }), 'not-authorized');
    assert.ok(getDefault(fx.root).endsWith(`@/.snapshots/${fx.defaultNumber}/snapshot`), 'nothing changed');
    await rejectsWith(helper.call('snapperPackageDelta', { from: '1', to: '99' }), 'no-such-deployment');
  });
});

describe('a helper on an OSTree sysroot', () => {
  let root = '';
  let helper: HelperClient;
  before(async () => {
    root = tempFixtureRoot('hindsight-helper-snapper-');
    helper = await startHelper(buildDemo(join(root, 'demo')).sysroot, { mode: 'read' });
  });
  after(async () => {
    await helper?.close();
    removeFixture(root);
  });

  it('says it serves OSTree and refuses snapper methods in one line', async () => {
    assert.equal(helper.hello.backend, 'ostree');
    await rejectsWith(helper.call('snapperStatus', {}), 'unsupported', /OSTree sysroot/);
  });
});
