import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { StatusReport } from '../../../shared/types.ts';
import { buildRpms, installRpmDatabase, type RpmSpec, rpmQueryPackages } from '../fixtures/rpm-fixture.ts';
import {
  commitTree,
  createSysroot,
  deploy,
  removeFixture,
  type SysrootFixture,
  tempFixtureRoot,
} from '../fixtures/sysroot-fixture.ts';
import { tool } from '../fixtures/test-support.ts';
import { deploymentPath, readStatus } from '../ostree/sysroot.ts';
import { packageDelta } from './package-delta.ts';

const v1: RpmSpec[] = [
  { name: 'bash', version: '5.2.26', release: '3.fc40' },
  { name: 'kernel-core', version: '6.8.5', release: '301.fc40' },
  { name: 'openssh', version: '9.6p1', release: '1.fc40.4', epoch: 1 },
  { name: 'tzdata', version: '2024a', release: '5.fc40' },
  { name: 'oldtool', version: '1.0', release: '1' },
  { name: 'gnome-shell', version: '46.0', release: '1.fc40' },
];
const v2: RpmSpec[] = [
  { name: 'bash', version: '5.2.26', release: '3.fc40' },
  { name: 'kernel-core', version: '6.8.9', release: '300.fc40' },
  { name: 'openssh', version: '9.6p1', release: '1.fc40.6', epoch: 1 },
  { name: 'tzdata', version: '2023c', release: '1.fc40' },
  { name: 'newtool', version: '2.0~rc1', release: '1' },
  { name: 'gnome-shell', version: '46.0^git20240410', release: '1.fc40' },
];

/** rpm's own verdict on each pair, in one process, through its embedded Lua. */
function rpmVercmp(pairs: [string, string][]): number[] {
  // rpm's Lua print() adds no newline inside a macro expansion: separate answers with commas.
  const lua = pairs
    .map(([a, b]) => `print(rpm.vercmp(${JSON.stringify(a)}, ${JSON.stringify(b)}) .. ",")`)
    .join(' ');
  const answers = tool('rpm', ['--eval', `%{lua: ${lua}}`])
    .trim()
    .split(',')
    .filter(Boolean)
    .map(Number);
  assert.equal(answers.length, pairs.length);
  return answers;
}

describe('package delta on real rpm databases (rpmdb.sqlite) in OSTree deployments', () => {
  let root = '';
  let fx: SysrootFixture;
  let report: StatusReport;

  before(async () => {
    root = tempFixtureRoot();
    fx = createSysroot(root, { stateroot: 'fedora', ref: 'fedora/40/x86_64/silverblue' });
    const work = join(root, 'rpms');
    for (const [i, specs] of [v1, v2].entries()) {
      const rpms = buildRpms(specs, work);
      commitTree(fx, { version: `40.${i + 1}`, populate: (tree) => installRpmDatabase(tree, rpms) });
      deploy(fx);
    }
    report = await readStatus({ sysroot: fx.sysroot });
  });
  after(() => removeFixture(root));

  it('reads what rpm -qa reads, and classifies changes as rpm orders versions', async () => {
    const delta = await packageDelta(report, '1', '0');
    assert.equal(delta.format, 'rpm');
    const [newer, older] = report.deployments;
    const before = rpmQueryPackages(deploymentPath(fx.sysroot, older as never));
    const after = rpmQueryPackages(deploymentPath(fx.sysroot, newer as never));
    assert.equal(delta.from.packages, before.length);
    assert.equal(delta.to.packages, after.length);
    const old = new Map(before.map((p) => [p.name, p.version]));
    const changed = after.filter((p) => old.has(p.name) && old.get(p.name) !== p.version);
    const verdicts = rpmVercmp(changed.map((p) => [old.get(p.name) as string, p.version]));
    const expectUp = changed.filter((_, i) => verdicts[i] === -1).map((p) => p.name);
    const expectDown = changed.filter((_, i) => verdicts[i] === 1).map((p) => p.name);
    assert.deepEqual(delta.upgraded.map((c) => c.name).sort(), expectUp.sort());
    assert.deepEqual(delta.downgraded.map((c) => c.name).sort(), expectDown.sort());
    assert.deepEqual(
      delta.added.map((p) => p.name),
      after.filter((p) => !old.has(p.name)).map((p) => p.name),
    );
    assert.deepEqual(
      delta.removed.map((p) => p.name),
      ['oldtool'],
    );
    assert.ok(
      expectUp.includes('gnome-shell') && expectUp.includes('openssh') && expectDown.includes('tzdata'),
    );
  });

  it('reads a commit that is not deployed through ostree cat of the database file alone', async () => {
    const rpms = buildRpms(
      [...v2, { name: 'flatpak', version: '1.15.8', release: '1.fc40' }],
      join(root, 'rpms'),
    );
    const v3 = commitTree(fx, { version: '40.3', populate: (tree) => installRpmDatabase(tree, rpms) });
    const delta = await packageDelta(report, '0', v3);
    assert.equal(delta.to.index, null);
    assert.deepEqual(
      delta.added.map((p) => p.name),
      ['flatpak'],
    );
    assert.deepEqual([delta.removed, delta.upgraded, delta.downgraded], [[], [], []]);
  });
});
