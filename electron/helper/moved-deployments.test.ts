import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { HindsightError } from '../../shared/errors.ts';
import type { ProgressEvent } from '../../shared/types.ts';
import {
  commitTree,
  createSysroot,
  deploy,
  removeFixture,
  type SysrootFixture,
  tempFixtureRoot,
} from '../core/fixtures/sysroot-fixture.ts';
import { tool } from '../core/fixtures/test-support.ts';
import { readStatus } from '../core/ostree/sysroot.ts';
import type { OperationContext } from './context.ts';
import { cancel, setPinned, undeploy } from './deployments.ts';
import type { HelperClient } from './helper-client.ts';
import { changeDeploymentThroughLibostree } from './libostree.ts';
import { rollback } from './rollback.ts';
import { recordCreated, stateDirFor } from './state.ts';
import { holdOstreeLock, ids, type ListedDeployment, ostreeStatus, startHelper } from './test-support.ts';

/**
 * pin, unpin, undeploy and set-default act on the deployment that was read, never on whichever one
 * has its index by the time the change is made. On real sysroots made by the ostree CLI, another tool
 * (`ostree admin deploy/undeploy/pin`) changes the list behind Hindsight's back: between the helper's
 * look-up and its change (from the operation's progress event, which comes just before the change),
 * and between the app's read and its request. The change is made under ostree's own sysroot lock:
 * while another process holds it, the helper waits, then acts; past the wait it answers busy.
 */

const ostreeAdmin = (fx: SysrootFixture, verb: string, ...args: string[]): string =>
  tool('ostree', ['admin', verb, `--sysroot=${fx.sysroot}`, ...args]);

const byVersion = (fx: SysrootFixture, version: string): ListedDeployment => {
  const found = ostreeStatus(fx.sysroot).find((d) => d.version === version);
  assert.ok(found, `deployment ${version}`);
  return found;
};

const versions = (fx: SysrootFixture): (string | null)[] => ostreeStatus(fx.sysroot).map((d) => d.version);
const pinnedVersions = (fx: SysrootFixture): (string | null)[] =>
  ostreeStatus(fx.sysroot)
    .filter((d) => d.pinned)
    .map((d) => d.version);

async function rejectsWith(promise: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof HindsightError, String(error));
    assert.equal(error.code, code, error.message);
    assert.match(error.message, message);
    return true;
  });
}

describe('changes land on the deployment that was read, whatever another tool did meanwhile', () => {
  let root = '';
  let count = 0;
  before(() => {
    root = tempFixtureRoot('hindsight-moved-');
  });
  after(() => removeFixture(root));

  /** Deployments 3.0, 2.0, 1.0 (index 0..2), and 4.0 committed, ready for another tool to deploy. */
  function threeDeployments(): SysrootFixture {
    count += 1;
    const fx = createSysroot(`${root}/fx-${count}`, { stateroot: 'debian', ref: 'hindsight/stable' });
    for (const version of ['1.0', '2.0', '3.0']) {
      commitTree(fx, { version });
      deploy(fx);
    }
    commitTree(fx, { version: '4.0' });
    assert.deepEqual(versions(fx), ['3.0', '2.0', '1.0']);
    return fx;
  }

  /** An operation context whose progress event, sent just before the change, runs `behindTheBack`. */
  function contextFor(fx: SysrootFixture, behindTheBack: () => void): OperationContext {
    let done = false;
    return {
      sysroot: fx.sysroot,
      stateroot: fx.stateroot,
      emit(_event: ProgressEvent) {
        if (done) return;
        done = true;
        behindTheBack();
      },
    };
  }

  describe('between the helper reading the list and making the change', () => {
    it('pin: a new deployment shifts the list; the deployment read (2.0) is pinned, not the one now at its index', async () => {
      const fx = threeDeployments();
      const result = await setPinned(
        contextFor(fx, () => deploy(fx)),
        '1',
        true,
      );
      assert.deepEqual(versions(fx), ['4.0', '3.0', '2.0', '1.0']);
      assert.deepEqual(pinnedVersions(fx), ['2.0']);
      assert.match(result.message, /^2\.0 .* is pinned/);
      await setPinned(
        contextFor(fx, () => ostreeAdmin(fx, 'undeploy', '0')),
        '2',
        false,
      );
      assert.deepEqual(pinnedVersions(fx), [], 'unpinned 2.0, now at index 1');
    });

    it('undeploy: a new deployment shifts the list; 2.0 is removed and the previous default (3.0) kept', async () => {
      const fx = threeDeployments();
      const result = await undeploy(
        contextFor(fx, () => deploy(fx)),
        '1',
      );
      assert.deepEqual(versions(fx), ['4.0', '3.0', '1.0']);
      assert.match(result.message, /^Removed deployment 2\.0 /);
    });

    it('undeploy: refused, nothing removed, when it is gone, pinned meanwhile, or now boots next', async () => {
      const fx = threeDeployments();
      const listed = ids(ostreeStatus(fx.sysroot));
      await rejectsWith(
        undeploy(
          contextFor(fx, () => ostreeAdmin(fx, 'pin', '1')),
          '1',
        ),
        'refused',
        /is pinned; unpin it first \(hindsight unpin [0-9a-f]{10}\.\d+\)/,
      );
      assert.deepEqual(ids(ostreeStatus(fx.sysroot)), listed);
      ostreeAdmin(fx, 'pin', '--unpin', '1');

      // Removing 3.0 behind the back makes 2.0 the next boot: removing it now means something else.
      await rejectsWith(
        undeploy(
          contextFor(fx, () => ostreeAdmin(fx, 'undeploy', '0')),
          '1',
        ),
        'refused',
        /now boots next; removing it would change what boots next since it was listed/,
      );
      assert.deepEqual(versions(fx), ['2.0', '1.0']);

      deploy(fx);
      const target = byVersion(fx, '2.0');
      await rejectsWith(
        undeploy(
          contextFor(fx, () => ostreeAdmin(fx, 'undeploy', '1')),
          '1',
        ),
        'no-such-deployment',
        new RegExp(`no deployment ${target.checksum}\\.${target.serial} in stateroot debian: it is gone`),
      );
      assert.deepEqual(versions(fx), ['4.0', '1.0'], 'nothing else removed');
    });

    it('cancel: refuses, removing nothing, when another tool put something else first', async () => {
      const fx = threeDeployments();
      deploy(fx);
      // Hindsight made 4.0: its state file says so, as upgrade and deploy record it.
      const report = await readStatus({ sysroot: fx.sysroot, stateroot: fx.stateroot });
      const made = report.deployments[0];
      assert.ok(made);
      const { stateroot, checksum, serial } = made;
      recordCreated(
        stateDirFor(report),
        { stateroot, checksum, serial, operation: 'deploy', time: new Date().toISOString() },
        report,
      );
      commitTree(fx, { version: '5.0' });
      await rejectsWith(
        cancel(contextFor(fx, () => deploy(fx))),
        'refused',
        /no longer boots next since it was listed/,
      );
      assert.deepEqual(versions(fx), ['5.0', '4.0', '3.0', '2.0', '1.0']);
    });

    it('set-default: a new deployment shifts the list; the deployment read (1.0) boots next', async () => {
      const fx = threeDeployments();
      const result = await rollback(
        contextFor(fx, () => deploy(fx)),
        '2',
      );
      assert.deepEqual(versions(fx), ['1.0', '4.0', '3.0', '2.0']);
      assert.match(result.message, /^1\.0 .* boots next/);
    });
  });

  describe('between the app reading the list and asking (through the helper)', () => {
    let fx: SysrootFixture;
    let helper: HelperClient;
    before(async () => {
      fx = threeDeployments();
      helper = await startHelper(fx.sysroot);
    });
    after(async () => {
      await helper?.close();
    });

    it('pins, unpins, makes default and undeploys the deployment displayed, by its checksum.serial', async () => {
      const shown = await helper.call('status', {});
      const two = shown.deployments[1];
      const one = shown.deployments[2];
      assert.ok(two && one);
      assert.equal(two.version, '2.0');
      const name = (d: { checksum: string; serial: number }): string => `${d.checksum}.${d.serial}`;

      deploy(fx);
      await helper.call('pin', { deployment: name(two) });
      assert.deepEqual(pinnedVersions(fx), ['2.0']);
      await helper.call('unpin', { deployment: name(two) });
      assert.deepEqual(pinnedVersions(fx), []);

      ostreeAdmin(fx, 'undeploy', '0');
      deploy(fx);
      const reordered = await helper.call('rollback', { to: name(one) });
      assert.equal(reordered.status.deployments[0]?.version, '1.0');
      assert.deepEqual(versions(fx), ['1.0', '4.0', '3.0', '2.0']);

      deploy(fx);
      const removed = await helper.call('undeploy', { deployment: name(two) });
      assert.match(removed.message, /^Removed deployment 2\.0 /);
      assert.deepEqual(versions(fx), ['4.0', '1.0', '4.0', '3.0']);

      await assert.rejects(helper.call('pin', { deployment: name(two) }), (error: HindsightError) => {
        assert.equal(error.code, 'no-such-deployment');
        return true;
      });
    });

    it("waits while another process holds ostree's own sysroot lock, then pins", async () => {
      const target = byVersion(fx, '3.0');
      const held = await holdOstreeLock(fx.sysroot);
      let settled = false;
      const pinning = helper.call('pin', { deployment: `${target.checksum}.${target.serial}` });
      void pinning.then(
        () => {
          settled = true;
        },
        () => {
          settled = true;
        },
      );
      try {
        await new Promise((r) => setTimeout(r, 1500));
        assert.equal(settled, false, 'the pin waits for the lock');
        assert.deepEqual(pinnedVersions(fx), [], 'nothing changed while the lock was held');
      } finally {
        await held.release();
      }
      await pinning;
      assert.deepEqual(pinnedVersions(fx), ['3.0']);
      await helper.call('unpin', { deployment: `${target.checksum}.${target.serial}` });
    });

    it("answers busy, changing nothing, when ostree's lock stays held past the wait", async () => {
      const target = byVersion(fx, '3.0');
      const held = await holdOstreeLock(fx.sysroot);
      try {
        const started = Date.now();
        await rejectsWith(
          changeDeploymentThroughLibostree('pin', {
            sysroot: fx.sysroot,
            stateroot: target.stateroot,
            checksum: target.checksum,
            serial: target.serial,
            booted: false,
            lockWaitMs: 700,
          }),
          'busy',
          /another ostree process holds the sysroot lock .* try again when it has finished/,
        );
        assert.ok(Date.now() - started >= 700, 'it waited first');
        assert.deepEqual(pinnedVersions(fx), []);
      } finally {
        await held.release();
      }
    });
  });
});
