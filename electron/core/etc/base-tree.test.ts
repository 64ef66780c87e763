import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LATIN1_NAME } from '../fixtures/merge-scenario.ts';
import { useMergeScenario } from '../fixtures/test-support.ts';
import { newBaseTreeMemo, packBaseTree, unpackBaseTree } from './base-tree.ts';
import { etcRoots, scanDrift } from './etc-drift.ts';

describe('a remembered base tree', () => {
  const ctx = useMergeScenario();

  it('comes back from its packed form byte for byte, and a scan from it finds the same drift', () => {
    const d = ctx.report.deployments[0];
    assert.ok(d);
    const { base, local } = etcRoots(ctx.scenario.sysroot, d);
    const memo = newBaseTreeMemo();
    const first = scanDrift(base, local, memo);
    const again = unpackBaseTree(packBaseTree(memo));
    assert.ok(again);
    assert.deepEqual(again, memo);
    // Names that are not UTF-8, not taken yet and absent survive too.
    const odd = newBaseTreeMemo();
    const nodes: (null | undefined)[] = [];
    nodes[1] = null; // [0] not taken yet: a hole, as a scan leaves it
    odd.dirs.set(Buffer.from([0xe9]).toString('latin1'), {
      names: [LATIN1_NAME, Buffer.from('gone')],
      nodes,
    });
    assert.deepEqual(unpackBaseTree(packBaseTree(odd)), odd);
    assert.ok(
      [...memo.dirs.values()].some((l) => l.nodes.some((n) => n?.type === 'symlink' && n.targetBytes)),
      'a symlink and its target are kept',
    );
    assert.deepEqual(scanDrift(base, local, again), first);
    assert.equal(unpackBaseTree(JSON.stringify([99, []])), null, 'another format is not read');
  });
});
