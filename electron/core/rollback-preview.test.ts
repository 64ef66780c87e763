import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { HindsightError } from '../../shared/errors.ts';
import { absolute, decodeEtcPath, lstatNode } from './etc/etc-tree.ts';
import { useMergeScenario } from './fixtures/test-support.ts';
import { deploymentPath } from './ostree/sysroot.ts';
import { rollbackPreview } from './rollback-preview.ts';

describe('rollback preview', () => {
  const ctx = useMergeScenario();

  it('shows the package delta back to the older deployment and the /etc edits it lacks', async () => {
    const preview = await rollbackPreview(ctx.report);
    assert.equal(preview.current.index, 0);
    assert.equal(preview.target.index, 1);
    assert.equal(preview.packages.from.checksum, ctx.scenario.v2);
    assert.equal(preview.packages.to.checksum, ctx.scenario.v1);
    assert.ok(preview.packages.downgraded.some((c) => c.name === 'base-files'));
    // Every reported path really differs between the two /etc folders, and the v2-only edit is among them.
    const [now, then] = ctx.report.deployments.map((d) => join(deploymentPath(ctx.report.sysroot, d), 'etc'));
    for (const lost of preview.etcLost) {
      const rel = decodeEtcPath(lost);
      const a = lstatNode(absolute(now as string, rel));
      const b = lstatNode(absolute(then as string, rel));
      assert.ok(
        !a ||
          !b ||
          a.type !== b.type ||
          a.mode !== b.mode ||
          a.size !== b.size ||
          a.uid !== b.uid ||
          a.target !== b.target ||
          lost.change === 'content',
        lost.path,
      );
    }
    const bar = preview.etcLost.find((e) => e.path === 'bar.d');
    assert.equal(bar?.change, 'type');
    // passwd was carried over whole by ostree's merge: rolling back keeps the same file, nothing is lost.
    assert.ok(!preview.etcLost.some((e) => e.path === 'passwd'));
  });

  it('refuses a rollback to the deployment that is already next', async () => {
    await assert.rejects(
      rollbackPreview(ctx.report, '0'),
      (e: unknown) => e instanceof HindsightError && e.code === 'refused',
    );
  });
});
