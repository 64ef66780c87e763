import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { StatusReport } from '../../../shared/types.ts';
import { requireProgram, runSync, runSyncChecked } from '../exec.ts';
import { buildDemo } from '../fixtures/demo.ts';
import { createSysroot, removeFixture, tempFixtureRoot } from '../fixtures/sysroot-fixture.ts';
import { tool } from '../fixtures/test-support.ts';
import { type DiskUsageReport, diskUsage } from './disk-usage.ts';
import { deploymentPath, readStatus } from './sysroot.ts';

/**
 * Checked against the tools a person would use: `du`, which counts a hardlinked inode once, under the
 * first argument that reaches it, and the space a real `ostree admin undeploy` (with the repository
 * prune it runs) gives back, measured with `du` over the whole sysroot before and after.
 */

const ostree = (args: string[]): string => tool('ostree', args);

/** The last line of `du -s FLAG others… this`: what only `this` holds, as du counts hardlinks. */
function duLast(flag: string, paths: string[]): number {
  const lines = tool('du', ['-s', flag, ...paths])
    .trim()
    .split('\n');
  return Number(lines[lines.length - 1]?.split('\t')[0]);
}

const duTotal = (path: string): number => duLast('-B1', [path]);

/** A copy of a sysroot (hardlinks kept), to change without touching the original. */
function copySysroot(from: string, to: string): void {
  runSyncChecked(requireProgram('cp'), ['-a', from, to]);
}

function checkAgainstDu(report: StatusReport, usage: DiskUsageReport): void {
  const paths = report.deployments.map((d) => deploymentPath(report.sysroot, d));
  report.deployments.forEach((d, i) => {
    const others = paths.filter((_, j) => j !== i);
    const mine = usage.deployments[i];
    assert.equal(mine?.checksum, d.checksum);
    assert.equal(mine?.uniqueBytes, duLast('-B1', [...others, paths[i] as string]), `du -B1 of ${i}`);
    assert.equal(mine?.apparentUniqueBytes, duLast('-b', [...others, paths[i] as string]), `du -b of ${i}`);
  });
}

/**
 * Undeploys deployment `index` in `copy`, a fresh copy of `sysroot`, and returns what `du` says it freed next
 * to what diskUsage said beforehand, on that same copy.
 */
async function undeployInCopy(
  sysroot: string,
  copy: string,
  index: number,
): Promise<{ predicted: number; predictedBoot: number; measured: number; measuredBoot: number }> {
  copySysroot(sysroot, copy);
  // A pinned deployment cannot be undeployed; unpinning rewrites its .origin in place.
  runSync(requireProgram('ostree'), ['admin', 'pin', '--unpin', `--sysroot=${copy}`, String(index)]);
  const usage = diskUsage(await readStatus({ sysroot: copy }));
  const mine = usage.deployments.find((d) => d.index === index);
  assert.ok(mine);
  const before = duTotal(copy);
  // /boot's own bytes: what du meets there after it has walked the rest (hardlinked kernels are not).
  const bootOnly = (): number => duLast('-B1', [join(copy, 'ostree'), join(copy, 'boot')]);
  const bootBefore = bootOnly();
  ostree(['admin', 'undeploy', `--sysroot=${copy}`, String(index)]);
  // undeploy already pruned (refs only, commit depth 0); a second prune must find nothing left.
  const pruned = ostree(['prune', `--repo=${join(copy, 'ostree', 'repo')}`, '--refs-only', '--depth=0']);
  assert.match(pruned, /No unreachable objects|Freed objects: 0/);
  return {
    predicted: mine.freedByRemoval,
    predictedBoot: mine.freedInBoot,
    measured: before - duTotal(copy),
    measuredBoot: bootBefore - bootOnly(),
  };
}

describe('disk usage of the demo sysroot', () => {
  let root = '';
  let sysroot = '';
  let report: StatusReport;
  let usage: DiskUsageReport;

  before(async () => {
    root = tempFixtureRoot();
    sysroot = buildDemo(join(root, 'demo')).sysroot;
    report = await readStatus({ sysroot });
    usage = diskUsage(report);
  });
  after(() => removeFixture(root));

  it('counts what only each deployment holds as du does, hardlinks once', () => {
    assert.equal(usage.deployments.length, 3);
    assert.deepEqual(usage.problems, []);
    checkAgainstDu(report, usage);
    for (const d of usage.deployments) assert.ok(d.uniqueBytes > 0 && d.entries > 0);
  });

  it('finds each kernel folder in /boot, each its own', () => {
    for (const d of usage.deployments) {
      assert.ok(d.bootPath?.startsWith(join(sysroot, 'boot', 'ostree', 'debian-')), String(d.bootPath));
      assert.equal(d.bootShared, false);
      assert.equal(d.bootBytes, duTotal(d.bootPath as string));
    }
  });

  it('predicts exactly what a real undeploy and prune give back, each deployment in turn', async () => {
    for (const d of report.deployments) {
      const r = await undeployInCopy(sysroot, join(root, `copy-${d.index}`), d.index);
      assert.equal(r.predicted, r.measured, `deployment ${d.index}: ${JSON.stringify(r)}`);
      assert.equal(r.predictedBoot, r.measuredBoot, `deployment ${d.index} in /boot: ${JSON.stringify(r)}`);
    }
  });

  it('keeps what a ref still reaches: the newest image is the remote ref, so its files stay', () => {
    // demo:debian/bookworm/desktop points at deployment 0's commit: removing it frees its /etc copy,
    // folders and bookkeeping, far less than the files only it holds.
    const [newest, middle] = usage.deployments;
    assert.ok(newest && middle);
    assert.ok(newest.freedByRemoval < newest.uniqueBytes, JSON.stringify(newest));
    // Nothing keeps the middle image's commit but its deployment: its metadata objects go too.
    assert.ok(middle.freedByRemoval > middle.uniqueBytes, JSON.stringify(middle));
  });

  it('reports the space of the filesystems holding the sysroot and /boot as df does', () => {
    const df = tool('df', ['-B1', '--output=size,avail', sysroot]).trim().split('\n')[1]?.trim().split(/\s+/);
    assert.equal(usage.sysroot?.total, Number(df?.[0]));
    // Other writers on the machine move `avail` between the two reads, by far less than 1% of the
    // filesystem; counting root's reserve (f_bfree instead of f_bavail) would be off by about 5%.
    const total = Number(df?.[0]);
    assert.ok(Math.abs((usage.sysroot?.free ?? 0) - Number(df?.[1])) < total / 100);
    assert.equal(usage.boot?.path, join(sysroot, 'boot'));
    assert.equal(usage.boot?.sameFilesystemAsSysroot, true);
  });

  describe('two deployments of one commit', () => {
    let twin = '';
    let twinReport: StatusReport;
    let twinUsage: DiskUsageReport;

    before(async () => {
      twin = join(root, 'twin');
      copySysroot(sysroot, twin);
      const newest = report.deployments[0]?.checksum as string;
      ostree(['admin', 'deploy', `--sysroot=${twin}`, '--os=debian', '--retain', newest]);
      twinReport = await readStatus({ sysroot: twin });
      twinUsage = diskUsage(twinReport);
    });

    it('shares the kernel folder and the image files between them', () => {
      const [a, b] = twinUsage.deployments;
      assert.equal(a?.checksum, b?.checksum);
      assert.equal(a?.bootPath, b?.bootPath);
      assert.ok(a?.bootShared && b?.bootShared);
      // Only its loader entry leaves /boot.
      assert.ok((a?.freedInBoot ?? 0) > 0 && (a?.freedInBoot ?? 0) < (a?.bootBytes ?? 0), JSON.stringify(a));
      checkAgainstDu(twinReport, twinUsage);
      // What is left to each: its own folders and /etc copy, a fraction of the image.
      assert.ok((a?.uniqueBytes ?? 0) < (usage.deployments[0]?.uniqueBytes ?? 0), JSON.stringify(a));
    });

    it('predicts the real undeploy of either twin', async () => {
      for (const index of [0, 1]) {
        const r = await undeployInCopy(twin, join(root, `twin-copy-${index}`), index);
        assert.equal(r.predicted, r.measured, `twin ${index}: ${JSON.stringify(r)}`);
        assert.equal(r.measuredBoot, r.predictedBoot);
      }
    });
  });
});

describe('disk usage on odd sysroots', () => {
  let root = '';
  before(() => {
    root = tempFixtureRoot();
  });
  after(() => removeFixture(root));

  it('answers for a sysroot without deployments', async () => {
    const fx = createSysroot(join(root, 'empty'));
    const usage = diskUsage(await readStatus({ sysroot: fx.sysroot }));
    assert.deepEqual(usage.deployments, []);
    assert.deepEqual(usage.problems, []);
    assert.ok((usage.sysroot?.total ?? 0) > 0 && (usage.boot?.total ?? 0) > 0);
  });

  it('reports a deployment folder that has gone and a commit that is missing, and goes on', async () => {
    const demo = buildDemo(join(root, 'demo'));
    const report = await readStatus({ sysroot: demo.sysroot });
    const ghost = { ...(report.deployments[0] as StatusReport['deployments'][number]), serial: 7, index: 3 };
    const usage = diskUsage({ ...report, deployments: [...report.deployments, ghost] });
    assert.equal(usage.deployments.length, 4);
    assert.equal(usage.deployments[3]?.uniqueBytes, 0);
    assert.ok(usage.problems.some((p) => p.includes(`${ghost.checksum}.7`) && p.includes('ENOENT')));
    checkAgainstDu(report, { ...usage, deployments: usage.deployments.slice(0, 3) });
  });

  it('reports folders it may not read instead of failing (run as nobody)', async () => {
    const demo = buildDemo(join(root, 'demo'));
    const report = await readStatus({ sysroot: demo.sysroot });
    const chattr = requireProgram('chattr');
    // mkdtemp and the fixture's scratch trees made the folders private (0700); nobody must reach the
    // deployments to meet the one folder locked inside. A deployment's root is immutable.
    chmodSync(root, 0o755);
    for (const d of report.deployments) {
      const path = deploymentPath(demo.sysroot, d);
      runSyncChecked(chattr, ['-i', path]);
      chmodSync(path, 0o755);
      runSyncChecked(chattr, ['+i', path]);
    }
    const locked = join(deploymentPath(demo.sysroot, report.deployments[1] as never), 'usr', 'share');
    chmodSync(locked, 0o000);
    try {
      const script = join(root, 'as-nobody.mts');
      writeFileSync(
        script,
        `import { diskUsage } from ${JSON.stringify(join(import.meta.dirname, 'disk-usage.ts'))};\n` +
          `const report = JSON.parse(process.argv[2]);\n` +
          `process.stdout.write(JSON.stringify(diskUsage(report)));\n`,
      );
      const result = runSync(requireProgram('setpriv'), [
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        process.execPath,
        '--import',
        'tsx',
        script,
        JSON.stringify(report),
      ]);
      assert.equal(result.code, 0, result.stderr);
      const usage = JSON.parse(result.stdout.toString('utf8')) as DiskUsageReport;
      assert.ok(
        usage.problems.some((p) => p === `cannot list ${locked}: EACCES`),
        usage.problems.join('\n'),
      );
      assert.equal(usage.deployments.length, 3);
      assert.ok(usage.deployments.every((d) => d.uniqueBytes > 0));
    } finally {
      chmodSync(locked, 0o755);
    }
  });
});
