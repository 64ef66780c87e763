import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HindsightError } from '../../shared/errors.ts';
import { buildDemo } from '../core/fixtures/demo.ts';
import { removeFixture, tempFixtureRoot } from '../core/fixtures/sysroot-fixture.ts';
import { ostreeStatus, startHelper } from './test-support.ts';

/**
 * Browser mode's helper (`manage-once`) makes one change and refuses the next (its polkit action,
 * never kept, is checked with the policy in protocol.test.ts): no tab rides on another's authorisation.
 */

describe('a manage-once helper', () => {
  let root = '';
  let sysroot = '';

  before(() => {
    root = tempFixtureRoot('hindsight-once-');
    sysroot = buildDemo(join(root, 'demo')).sysroot;
  });
  after(() => removeFixture(root));

  it('makes one change, then refuses the next with not-authorized and changes nothing', async () => {
    const helper = await startHelper(sysroot, { mode: 'manage-once' });
    try {
      assert.equal(helper.hello.mode, 'manage-once');
      await helper.call('status', {}); // reading is not the change
      const target = ostreeStatus(sysroot).findIndex((d) => !d.pinned);
      await helper.call('pin', { deployment: String(target) });
      const before = ostreeStatus(sysroot);
      await assert.rejects(helper.call('unpin', { deployment: String(target) }), (error: unknown) => {
        assert.ok(error instanceof HindsightError);
        assert.equal(error.code, 'not-authorized');
        assert.match(error.message, /authorised for one change/);
        return true;
      });
      assert.deepEqual(ostreeStatus(sysroot), before);
    } finally {
      await helper.close();
    }
  });
});
