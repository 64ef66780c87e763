import assert from 'node:assert/strict';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { HindsightError } from '../../shared/errors.ts';
import { buildDemo } from '../core/fixtures/demo.ts';
import { removeFixture, tempFixtureRoot } from '../core/fixtures/sysroot-fixture.ts';
import { tool } from '../core/fixtures/test-support.ts';
import type { HelperClient } from './helper-client.ts';
import { ostreeStatus, startHelper, treeDigest } from './test-support.ts';

/**
 * A deployment whose /etc folder (its `etc`, or its image default `usr/etc`) is missing is not a
 * deployment with an empty /etc: read as one, every file looked removed, and `etc apply --take local`
 * from it deleted the target's passwd. Through the real helper on a real demo sysroot, the analysis
 * and the apply are refused with one line naming the folder, and the target's /etc stays as it was.
 */

function assertRefusedNaming(outcome: PromiseSettledResult<unknown>, folder: string): void {
  assert.equal(outcome.status, 'rejected', `expected an error naming ${folder}, got an answer`);
  const e = (outcome as PromiseRejectedResult).reason as HindsightError;
  assert.ok(
    e.code === 'unreadable' || e.code === 'no-such-deployment',
    `expected unreadable, got ${e.code}: ${e.message}`,
  );
  assert.ok(e.message.includes(folder), `the message names ${folder}: ${e.message}`);
  assert.doesNotMatch(e.message, /\n|\s+at \S+ \(/, 'one line, no stack');
}

const settle = async (promise: Promise<unknown>): Promise<PromiseSettledResult<unknown>> =>
  (await Promise.allSettled([promise]))[0] as PromiseSettledResult<unknown>;

describe('the helper, given a deployment whose /etc folder is missing', () => {
  let root = '';
  let sysroot = '';
  let helper: HelperClient;
  let sourceDir = '';
  let targetEtc = '';

  before(async () => {
    root = tempFixtureRoot('hindsight-etc-missing-');
    sysroot = buildDemo(join(root, 'demo')).sysroot;
    const [target, source] = ostreeStatus(sysroot);
    assert.ok(target && source);
    const dirOf = (d: typeof target): string =>
      join(sysroot, 'ostree/deploy', d.stateroot, 'deploy', `${d.checksum}.${d.serial}`);
    sourceDir = dirOf(source);
    targetEtc = join(dirOf(target), 'etc');
    helper = await startHelper(sysroot);
  });
  after(async () => {
    await helper?.close();
    removeFixture(root);
  });

  /** Renames `rel` of the source deployment away while `body` runs (the folder is immutable: lifted, put back). */
  async function without(rel: string, body: (folder: string) => Promise<void>): Promise<void> {
    const folder = join(sourceDir, rel);
    const away = `${folder}.away`;
    tool('chattr', ['-i', sourceDir]);
    renameSync(folder, away);
    try {
      await body(folder);
    } finally {
      renameSync(away, folder);
      tool('chattr', ['+i', sourceDir]);
    }
  }

  for (const rel of ['etc', 'usr/etc']) {
    it(`refuses the merge analysis and etc apply --take local when the source's ${rel} is missing`, async () => {
      const passwd = join(targetEtc, 'passwd');
      const before = readFileSync(passwd);
      const etcBefore = treeDigest(targetEtc);
      await without(rel, async (folder) => {
        const applied = await settle(
          helper.call('etcApply', {
            source: '1',
            target: '0',
            resolutions: [{ path: { path: 'passwd' }, take: 'local' }],
          }),
        );
        try {
          // The file first: that is what the user loses if the apply goes through.
          assert.ok(existsSync(passwd), "the target's passwd is still there");
          assert.deepEqual(readFileSync(passwd), before, "the target's passwd is byte-identical");
          assert.deepEqual(treeDigest(targetEtc), etcBefore, "nothing in the target's /etc changed");
          assertRefusedNaming(applied, folder);
        } finally {
          // Should the apply have gone through, put the target back for the tests after this one.
          if (applied.status === 'fulfilled') await helper.call('etcUndo', {});
        }
        assertRefusedNaming(await settle(helper.call('etcMerge', { source: '1', target: '0' })), folder);
        assertRefusedNaming(await settle(helper.call('etcDrift', { deployment: '1' })), folder);
      });
      // With the folder back, the same request is analysed again (the refusal was about the folder).
      const merge = await helper.call('etcMerge', { source: '1', target: '0' });
      assert.ok(merge.files.length > 0);
      assert.ok(!merge.files.every((f) => f.local === 'removed'), 'not everything reads as removed');
    });
  }

  it('refuses the rollback preview when the target deployment has no /etc folder', async () => {
    await without('etc', async (folder) => {
      assertRefusedNaming(await settle(helper.call('rollbackPreview', { target: '1' })), folder);
    });
  });
});
