import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildDemo } from '../core/fixtures/demo.ts';
import { removeFixture, tempFixtureRoot } from '../core/fixtures/sysroot-fixture.ts';
import { tool } from '../core/fixtures/test-support.ts';
import type { HelperClient } from './helper-client.ts';
import { ostreeStatus, startHelper } from './test-support.ts';

/**
 * A booted OSTree system reaches its repository and deployments through a link: `/ostree` ->
 * `sysroot/ostree`. The same link in a demo sysroot must not stop the helper from writing a
 * deployment's own /etc (it refused every `etc apply` to a deployment that was not booted), while a
 * link below ostree/ (a deployment's etc pointing elsewhere) is still refused.
 */

describe('the helper on a sysroot laid out as a booted system (/ostree is a link)', () => {
  let root = '';
  let sysroot = '';
  let helper: HelperClient;

  before(async () => {
    root = tempFixtureRoot('hindsight-booted-layout-');
    sysroot = buildDemo(join(root, 'demo')).sysroot;
    mkdirSync(join(sysroot, 'sysroot'));
    renameSync(join(sysroot, 'ostree'), join(sysroot, 'sysroot', 'ostree'));
    symlinkSync('sysroot/ostree', join(sysroot, 'ostree'));
    helper = await startHelper(sysroot);
  });
  after(async () => {
    await helper?.close();
    removeFixture(root);
  });

  it('applies an /etc resolution to a deployment through the linked ostree folder, and undoes it', async () => {
    const [target] = ostreeStatus(sysroot);
    assert.ok(target);
    const etc = join(
      sysroot,
      'sysroot/ostree/deploy',
      target.stateroot,
      'deploy',
      `${target.checksum}.${target.serial}`,
      'etc',
    );
    const before = readFileSync(join(etc, 'passwd'));
    const image = readFileSync(join(etc, '..', 'usr', 'etc', 'passwd'));
    assert.notDeepEqual(before, image, 'the local passwd differs from the image default');
    const applied = await helper.call('etcApply', {
      source: '1',
      target: '0',
      resolutions: [{ path: { path: 'passwd' }, take: 'upstream' }],
    });
    assert.deepEqual(
      applied.written.map((p) => p.path),
      ['passwd'],
    );
    assert.deepEqual(readFileSync(join(etc, 'passwd')), image);
    await helper.call('etcUndo', {});
    assert.deepEqual(readFileSync(join(etc, 'passwd')), before);
  });

  it('still refuses a deployment whose etc is itself a link', async () => {
    const [, second] = ostreeStatus(sysroot);
    assert.ok(second);
    const dir = join(
      sysroot,
      'sysroot/ostree/deploy',
      second.stateroot,
      'deploy',
      `${second.checksum}.${second.serial}`,
    );
    // Deployment folders are immutable (chattr +i); lifted for the swap, put back after.
    tool('chattr', ['-i', dir]);
    renameSync(join(dir, 'etc'), join(dir, 'etc.real'));
    symlinkSync('etc.real', join(dir, 'etc'));
    try {
      await assert.rejects(
        helper.call('etcApply', {
          source: '0',
          target: '1',
          resolutions: [{ path: { path: 'hostname' }, take: 'upstream' }],
        }),
        (e: Error & { code?: string }) => e.code === 'refused' && /resolves to/.test(e.message),
      );
    } finally {
      rmSync(join(dir, 'etc'));
      renameSync(join(dir, 'etc.real'), join(dir, 'etc'));
      tool('chattr', ['+i', dir]);
    }
  });
});
