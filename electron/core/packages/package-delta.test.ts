import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HindsightError } from '../../../shared/errors.ts';
import { deltaByDpkg, dpkgQuery, tool, useMergeScenario } from '../fixtures/test-support.ts';
import { deploymentPath } from '../ostree/sysroot.ts';
import { packageDelta } from './package-delta.ts';

describe('package delta on real dpkg databases', () => {
  const ctx = useMergeScenario();

  it('reads the same installed packages as dpkg-query --admindir', async () => {
    const delta = await packageDelta(ctx.report, '1', '0');
    const [v2, v1] = ctx.report.deployments;
    assert.equal(delta.from.packages, dpkgQuery(deploymentPath(ctx.report.sysroot, v1 as never)).length);
    assert.equal(delta.to.packages, dpkgQuery(deploymentPath(ctx.report.sysroot, v2 as never)).length);
  });

  it('agrees with dpkg on what was added, removed, upgraded and downgraded', async () => {
    const delta = await packageDelta(ctx.report, 'rollback', 'default');
    const [v2, v1] = ctx.report.deployments;
    const expected = deltaByDpkg(
      dpkgQuery(deploymentPath(ctx.report.sysroot, v1 as never)),
      dpkgQuery(deploymentPath(ctx.report.sysroot, v2 as never)),
    );
    assert.ok(expected.upgraded.length >= 2 && expected.downgraded.length >= 1 && expected.added.length >= 1);
    assert.deepEqual(
      {
        added: delta.added.map((p) => p.name).sort(),
        removed: delta.removed.map((p) => p.name).sort(),
        upgraded: delta.upgraded.map((c) => `${c.name} ${c.from} ${c.to}`).sort(),
        downgraded: delta.downgraded.map((c) => `${c.name} ${c.from} ${c.to}`).sort(),
      },
      expected,
    );
  });

  it('counts whole-tree file changes as ostree diff does', async () => {
    const delta = await packageDelta(ctx.report, '1', '0');
    const lines = tool('ostree', [
      'diff',
      `--repo=${ctx.scenario.repo}`,
      ctx.scenario.v1,
      ctx.scenario.v2,
    ]).split('\n');
    const count = (letter: string) => lines.filter((l) => l.startsWith(`${letter}    /`)).length;
    assert.deepEqual(delta.files, { added: count('A'), removed: count('D'), modified: count('M') });
    assert.ok(delta.files.modified > 0);
  });

  it('reads a commit that is not deployed from the repository alone', async () => {
    const delta = await packageDelta(ctx.report, '0', ctx.scenario.v3);
    assert.equal(delta.to.index, null);
    assert.equal(delta.to.version, '3.0');
    assert.equal(delta.to.packages, delta.from.packages);
    const reverse = await packageDelta(ctx.report, ctx.scenario.v3.slice(0, 10), 'rollback');
    assert.equal(reverse.from.version, '3.0');
    assert.ok(reverse.downgraded.some((c) => c.name === 'base-files'));
  });

  it('is empty between a snapshot and itself', async () => {
    const delta = await packageDelta(ctx.report, '0', 'default');
    assert.deepEqual([delta.added, delta.removed, delta.upgraded, delta.downgraded], [[], [], [], []]);
    assert.deepEqual(delta.files, { added: 0, removed: 0, modified: 0 });
  });

  it('names a missing snapshot clearly', async () => {
    await assert.rejects(
      packageDelta(ctx.report, '0', 'nope/ref'),
      (e: unknown) => e instanceof HindsightError && e.code === 'no-such-commit',
    );
  });
});
