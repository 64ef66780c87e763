import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { useMergeScenario } from '../fixtures/test-support.ts';
import { packageDelta } from '../packages/package-delta.ts';
import { readPackages } from '../packages/package-source.ts';
import { deploymentEntry, ostreeBackend } from './backend.ts';
import { resolveDeployment, resolveSnapshot } from './selectors.ts';
import { readStatus } from './sysroot.ts';

/**
 * OSTree behind the system seam answers exactly what the functions it wraps answer: the seam adds
 * words and common entries, never a second reading of a sysroot.
 */

describe('the OSTree backend on a real sysroot', () => {
  const ctx = useMergeScenario();

  it('reads what readStatus reads and names it', async () => {
    const system = ostreeBackend({ sysroot: ctx.scenario.sysroot });
    const report = await system.read();
    assert.deepEqual(report, await readStatus({ sysroot: ctx.scenario.sysroot }));
    assert.equal(system.kind, 'ostree');
    assert.equal(system.words.entry, 'deployment');
    assert.equal(system.describe(report), `OSTree sysroot ${report.sysroot} (stateroot ${report.stateroot})`);
  });

  it('lists each deployment as an entry with its states, in boot order', async () => {
    const system = ostreeBackend({ sysroot: ctx.scenario.sysroot });
    const report = await system.read();
    const entries = system.entries(report);
    assert.deepEqual(
      entries.map((e) => [e.id, e.position]),
      report.deployments.map((d) => [`${d.checksum}.${d.serial}`, d.index]),
    );
    assert.ok(entries[0]?.states.includes('next-boot'));
    assert.ok(entries.some((e) => e.states.includes('rollback')));
    assert.deepEqual(system.nextBoot(report), entries[0]);
    for (const selector of ['0', '1', 'default', 'rollback'])
      assert.deepEqual(
        system.resolve(report, selector),
        deploymentEntry(resolveDeployment(report, selector)),
      );
  });

  it('gives the package lists and the delta packageDelta gives', async () => {
    const system = ostreeBackend({ sysroot: ctx.scenario.sysroot });
    const report = await system.read();
    assert.deepEqual(
      await system.packageDelta(report, 'rollback', 'default'),
      await packageDelta(report, 'rollback', 'default'),
    );
    assert.deepEqual(
      await system.packages(report, '1'),
      await readPackages(report.sysroot, resolveSnapshot(report, '1')),
    );
  });
});
