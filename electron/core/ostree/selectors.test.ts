import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { HindsightError } from '../../../shared/errors.ts';
import type { StatusReport } from '../../../shared/types.ts';
import {
  commitTree,
  createSysroot,
  deploy,
  removeFixture,
  type SysrootFixture,
  tempFixtureRoot,
} from '../fixtures/sysroot-fixture.ts';
import { resolveDeployment, resolveSnapshot } from './selectors.ts';
import { readStatus } from './sysroot.ts';

/**
 * A checksum prefix made of digits only (`0342` of `0342bae0…`) is a checksum prefix, not deployment
 * 342: these tests make real commits until ostree gives one whose checksum starts with four decimal
 * digits (one in about 6.5 on average), and deploy it.
 */

const ALL_DIGITS = /^\d{4}/;

/** Commits trees with a varying version until ostree's checksum starts with four digits. */
function commitUntilDigits(fx: SysrootFixture, label: string, ref: string, avoid: string[]): string {
  for (let i = 0; i < 200; i++) {
    const checksum = commitTree(fx, { version: `${label}.${i}`, subject: `digits ${label} ${i}` }, { ref });
    const prefix = checksum.slice(0, 4);
    if (ALL_DIGITS.test(checksum) && !avoid.some((c) => c.startsWith(prefix))) return checksum;
  }
  throw new Error('no commit whose checksum starts with four digits in 200 tries');
}

function fails(run: () => unknown, code: string, label: string): void {
  assert.throws(
    run,
    (e: unknown) => e instanceof HindsightError && e.code === code && !e.message.includes('\n'),
    label,
  );
}

describe('digit-only selectors on a real sysroot', () => {
  let root = '';
  let fx: SysrootFixture;
  /** Deployed once, its checksum starting with four digits. */
  let digits = '';
  /** In the repository only (another ref), its checksum starting with four digits too. */
  let undeployed = '';
  let plain = '';
  let report: StatusReport;

  before(async () => {
    root = tempFixtureRoot('hindsight-selectors-');
    fx = createSysroot(root);
    plain = commitTree(fx, { version: '1.0' });
    deploy(fx);
    digits = commitUntilDigits(fx, '2', fx.ref, [plain]);
    deploy(fx);
    undeployed = commitUntilDigits(fx, '3', 'hindsight/scratch', [plain, digits]);
    report = await readStatus({ sysroot: fx.sysroot });
  });
  after(() => removeFixture(root));

  it('reads a four-digit checksum prefix as that checksum, and 0 and 1 still as indexes', () => {
    assert.deepEqual(
      report.deployments.map((d) => d.checksum),
      [digits, plain],
    );
    const prefix = digits.slice(0, 4);
    assert.equal(resolveDeployment(report, prefix).checksum, digits, prefix);
    assert.equal(resolveDeployment(report, `${prefix}.0`).checksum, digits);
    assert.equal(resolveDeployment(report, digits).index, 0);
    assert.equal(resolveDeployment(report, '0').checksum, digits);
    assert.equal(resolveDeployment(report, '1').checksum, plain);

    const snapshot = resolveSnapshot(report, prefix);
    assert.equal(snapshot.kind, 'deployment');
    assert.equal(snapshot.ref.checksum, digits);
    assert.equal(resolveSnapshot(report, '1').ref.checksum, plain);
  });

  it('finds a commit that is not deployed by a four-digit prefix', () => {
    const snapshot = resolveSnapshot(report, undeployed.slice(0, 4));
    assert.equal(snapshot.kind, 'commit');
    assert.equal(snapshot.ref.checksum, undeployed);
    assert.match(snapshot.ref.version ?? '', /^3\.\d+$/);
    // It is no deployment.
    fails(() => resolveDeployment(report, undeployed.slice(0, 4)), 'no-such-deployment', 'undeployed');
  });

  it('takes only valid indexes as indexes: no leading zeros, less than the number of deployments', () => {
    fails(() => resolveDeployment(report, '2'), 'no-such-deployment', '2');
    fails(() => resolveDeployment(report, '01'), 'no-such-deployment', '01');
    fails(() => resolveDeployment(report, '00'), 'no-such-deployment', '00');
    // Four digits that start no checksum here: no deployment, and it says so in one line.
    const unused = ['0000', '1111', '2222', '9999'].find(
      (p) => ![plain, digits, undeployed].some((c) => c.startsWith(p)),
    ) as string;
    fails(() => resolveDeployment(report, unused), 'no-such-deployment', unused);
  });

  it('says a digit prefix is ambiguous when two deployments share it', async () => {
    // The same commit deployed again: two deployments, serials 0 and 1, one checksum.
    deploy(fx);
    const twice = await readStatus({ sysroot: fx.sysroot });
    assert.deepEqual(
      twice.deployments.map((d) => d.checksum),
      [digits, digits, plain],
    );
    const prefix = digits.slice(0, 4);
    fails(() => resolveDeployment(twice, prefix), 'ambiguous-selector', prefix);
    fails(() => resolveSnapshot(twice, prefix), 'ambiguous-selector', prefix);
    assert.equal(resolveDeployment(twice, `${prefix}.1`).index, 0);
    assert.equal(resolveDeployment(twice, `${prefix}.0`).index, 1);
    assert.equal(resolveDeployment(twice, '2').checksum, plain);
  });
});
