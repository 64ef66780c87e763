import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { HelperMethod, HelperParams } from '../../shared/helper-contract.ts';
import { buildDemo } from '../core/fixtures/demo.ts';
import { removeFixture, tempFixtureRoot } from '../core/fixtures/sysroot-fixture.ts';
import { tool } from '../core/fixtures/test-support.ts';
import { fsck, ids, ostreeStatus, seeded, startHelper, waitForGroup } from './test-support.ts';

/**
 * Faults: the helper SIGKILLed at random moments during rollback, deploy and etc apply. Whatever it
 * was doing, ostree must still load the sysroot, fsck must pass, no deployment may be lost, and every
 * /etc file must be wholly its old or wholly its new self. The helper's children (gjs, ostree) are in
 * its process group; they finish on their own (libostree's writes are crash-safe and are never
 * interrupted halfway), and each check waits for them first.
 */

const KILLS = 20;

interface Outcome {
  /** The answer arrived before the kill. */
  finished: boolean;
}

/** Starts a helper in its own process group, sends one request, SIGKILLs it after `delayMs`. */
async function killDuring<M extends HelperMethod>(
  sysroot: string,
  method: M,
  params: HelperParams<M>,
  delayMs: number,
): Promise<Outcome> {
  const helper = await startHelper(sysroot, { detached: true });
  let finished = false;
  const call = helper.call(method, params).then(
    () => {
      finished = true;
    },
    () => {
      finished = true;
    },
  );
  await new Promise((r) => setTimeout(r, delayMs));
  const wasFinished = finished;
  helper.kill('SIGKILL');
  await helper.exited;
  await call;
  await waitForGroup(helper.pid);
  return { finished: wasFinished };
}

function deploymentEtc(sysroot: string, d: { stateroot: string; checksum: string; serial: number }): string {
  return join(sysroot, 'ostree', 'deploy', d.stateroot, 'deploy', `${d.checksum}.${d.serial}`, 'etc');
}

/** What must hold after every kill, whatever the operation. */
function assertSysrootSound(sysroot: string, mustKeep: string[]): ReturnType<typeof ostreeStatus> {
  const now = ostreeStatus(sysroot);
  assert.ok(now.length > 0, 'ostree loads the sysroot');
  for (const id of mustKeep) assert.ok(ids(now).includes(id), `deployment ${id} is still there`);
  fsck(sysroot);
  const entries = readdirSync(join(sysroot, 'boot', 'loader', 'entries')).filter((n) => n.endsWith('.conf'));
  assert.equal(entries.length, now.length, 'one boot entry per deployment');
  return now;
}

describe('SIGKILL at random moments', () => {
  let root = '';
  let sysroot = '';
  const random = seeded(20_240_611);

  before(() => {
    root = tempFixtureRoot('hindsight-faults-');
    sysroot = buildDemo(join(root, 'demo')).sysroot;
  });
  after(() => removeFixture(root));

  it(`during rollback (${KILLS} kills): the order is the old or the new one, nothing else changes`, async (t) => {
    const original = ids(ostreeStatus(sysroot));
    const etcBefore = new Map(
      ostreeStatus(sysroot).map((d) => [
        `${d.checksum}.${d.serial}`,
        readFileSync(join(deploymentEtc(sysroot, d), 'passwd')),
      ]),
    );
    let interrupted = 0;
    let reordered = 0;
    for (let i = 0; i < KILLS; i++) {
      const before = ids(ostreeStatus(sysroot));
      const outcome = await killDuring(sysroot, 'rollback', {}, Math.floor(random() * 450));
      if (!outcome.finished) interrupted++;
      const after = ids(assertSysrootSound(sysroot, before));
      assert.deepEqual(new Set(after), new Set(original), 'a reorder adds and removes nothing');
      const swapped = [before[1], before[0], ...before.slice(2)];
      if (JSON.stringify(after) === JSON.stringify(swapped)) reordered++;
      assert.ok(
        JSON.stringify(after) === JSON.stringify(before) || JSON.stringify(after) === JSON.stringify(swapped),
        `order is old or new: ${after.join(' ')}`,
      );
      for (const d of ostreeStatus(sysroot)) {
        assert.deepEqual(
          readFileSync(join(deploymentEtc(sysroot, d), 'passwd')),
          etcBefore.get(`${d.checksum}.${d.serial}`),
        );
      }
    }
    t.diagnostic(`${interrupted} of ${KILLS} kills landed before the answer; ${reordered} reorders happened`);
    assert.ok(interrupted >= 3, `some kills landed mid-operation (${interrupted})`);
  });

  it(`during deploy (${KILLS} kills): the new deployment is there whole, or not at all`, async (t) => {
    const baseline = ids(ostreeStatus(sysroot));
    const commit = ostreeStatus(sysroot).find((d) => d.version === '2.0')?.checksum;
    assert.ok(commit);
    let interrupted = 0;
    for (let i = 0; i < KILLS; i++) {
      const before = ids(ostreeStatus(sysroot));
      const outcome = await killDuring(sysroot, 'deploy', { commit: '2.0' }, Math.floor(random() * 800));
      if (!outcome.finished) interrupted++;
      const now = assertSysrootSound(sysroot, before);
      const added = now.filter((d) => !before.includes(`${d.checksum}.${d.serial}`));
      assert.ok(added.length <= 1);
      for (const d of added) {
        assert.equal(d.checksum, commit);
        assert.equal(ids(now)[0], `${d.checksum}.${d.serial}`, 'a new deployment boots next');
        // Its /etc is the complete merge: the image defaults plus the local edits.
        assert.match(readFileSync(join(deploymentEtc(sysroot, d), 'passwd'), 'utf8'), /^alice:/m);
        assert.equal(readFileSync(join(deploymentEtc(sysroot, d), 'hostname'), 'utf8'), 'alice-laptop\n');
        // Keep the sysroot small: drop it again with ostree itself.
        tool('ostree', ['admin', 'undeploy', `--sysroot=${sysroot}`, '0']);
      }
      assert.deepEqual(ids(ostreeStatus(sysroot)), baseline);
    }
    t.diagnostic(`${interrupted} of ${KILLS} kills landed before the answer`);
    assert.ok(interrupted >= 3, `some kills landed mid-operation (${interrupted})`);
  });

  it(`during etc apply (${KILLS} kills): each file is wholly old or wholly new, and undo restores`, async (t) => {
    // Back to the demo's order (the rollback loop may have left 2.0 first).
    if (ostreeStatus(sysroot)[0]?.version !== '3.0') {
      const fix = await startHelper(sysroot);
      await fix.call('rollback', {});
      await fix.close();
    }
    const [target] = ostreeStatus(sysroot);
    assert.equal(target?.version, '3.0');
    const etc = deploymentEtc(sysroot, target);
    // Each of these carries a local edit, so the image default differs from what is there now.
    const names = ['passwd', 'group', 'hosts', 'motd', 'default/grub', 'ssh/sshd_config'];
    const resolutions = names.map((name) => ({ path: { path: name }, take: 'upstream' as const }));
    const read = (): Map<string, Buffer> => new Map(names.map((n) => [n, readFileSync(join(etc, n))]));
    const old = read();
    // The new state, made once without a kill, then undone.
    const once = await startHelper(sysroot);
    await once.call('etcApply', { source: '1', target: '0', resolutions });
    const fresh = read();
    await once.call('etcUndo', {});
    await once.close();
    assert.deepEqual(read(), old);
    for (const n of names) assert.notDeepEqual(fresh.get(n), old.get(n), `${n} changes`);

    let interrupted = 0;
    let mixed = 0;
    for (let i = 0; i < KILLS; i++) {
      const outcome = await killDuring(
        sysroot,
        'etcApply',
        { source: '1', target: '0', resolutions },
        Math.floor(random() * 300),
      );
      if (!outcome.finished) interrupted++;
      assertSysrootSound(sysroot, ids(ostreeStatus(sysroot)));
      const now = read();
      const changedNow = names.filter((n) => !now.get(n)?.equals(old.get(n) as Buffer)).length;
      if (changedNow > 0 && changedNow < names.length) mixed++;
      for (const n of names) {
        const bytes = now.get(n);
        assert.ok(
          bytes?.equals(old.get(n) as Buffer) || bytes?.equals(fresh.get(n) as Buffer),
          `${n} is wholly old or wholly new after kill ${i}`,
        );
      }
      // Undo what the killed apply wrote (a kill before its backup manifest means it wrote nothing).
      const undo = await startHelper(sysroot);
      try {
        await undo.call('etcUndo', {});
      } catch (error) {
        assert.match((error as Error).message, /no \/etc change to undo/);
      } finally {
        await undo.close();
      }
      assert.deepEqual(read(), old, 'undo restores every file');
    }
    t.diagnostic(
      `${interrupted} of ${KILLS} kills landed before the answer; ${mixed} left some files written`,
    );
    assert.ok(interrupted >= 3, `some kills landed mid-operation (${interrupted})`);
    // A later apply sweeps the temp files a killed one left.
    const last = await startHelper(sysroot);
    await last.call('etcApply', { source: '1', target: '0', resolutions });
    await last.call('etcUndo', {});
    await last.close();
    for (const dir of ['', 'default', 'ssh']) {
      const temps = readdirSync(join(etc, dir)).filter((n) => n.startsWith('.hindsight-'));
      assert.deepEqual(temps, [], `no temp files left in /etc/${dir}`);
    }
  });
});
