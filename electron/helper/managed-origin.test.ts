import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import type { HindsightError } from '../../shared/errors.ts';
import type { Deployment } from '../../shared/types.ts';
import { formatStatus } from '../cli/format.ts';
import { buildDemo, type DemoInfo } from '../core/fixtures/demo.ts';
import { removeFixture, tempFixtureRoot } from '../core/fixtures/sysroot-fixture.ts';
import { tool } from '../core/fixtures/test-support.ts';
import { readRefs } from '../core/ostree/commit-object.ts';
import type { HelperClient } from './helper-client.ts';
import { ids, ostreeStatus, startHelper } from './test-support.ts';

/**
 * rpm-ostree and bootc keep more than a refspec in a deployment's origin: layered packages
 * (`baserefspec=` and `[packages] requested=`) or a container image (`container-image-reference=`).
 * `ostree admin upgrade/deploy` behind their back would drop the layering or cannot pull the image.
 * On a real demo sysroot whose origin files are rewritten the way rpm-ostree writes them, the real
 * helper refuses upgrade, upgrade --check then upgrade, and deploy, naming the tool to use, and
 * status shows what the origin holds.
 */

const LAYERED = (refspec: string): string =>
  `[origin]\nbaserefspec=${refspec}\n\n[packages]\nrequested=htop;vim;\n`;
const IMAGE = 'ostree-unverified-registry:quay.io/fedora/fedora-coreos:stable';
const IMAGE_ORIGIN = `[origin]\ncontainer-image-reference=${IMAGE}\n`;

function assertRefused(outcome: PromiseSettledResult<unknown>, tool: RegExp): HindsightError {
  assert.equal(outcome.status, 'rejected', 'expected a refusal, got an answer');
  const e = (outcome as PromiseRejectedResult).reason as HindsightError;
  assert.equal(e.code, 'refused', `expected refused, got ${e.code}: ${e.message}`);
  assert.match(e.message, tool);
  assert.doesNotMatch(e.message, /\n|\s+at \S+ \(/, 'one line, no stack');
  return e;
}

const settle = async (promise: Promise<unknown>): Promise<PromiseSettledResult<unknown>> =>
  (await Promise.allSettled([promise]))[0] as PromiseSettledResult<unknown>;

describe('the helper on rpm-ostree and bootc origins', () => {
  let root = '';
  let demo: DemoInfo;
  let sysroot = '';
  let helper: HelperClient;
  const originals = new Map<string, Buffer>();

  const originFile = (d: { stateroot: string; checksum: string; serial: number }): string =>
    join(sysroot, 'ostree/deploy', d.stateroot, 'deploy', `${d.checksum}.${d.serial}.origin`);

  /** Writes an origin file (beside the deployment folder; lifted from immutable only if it is). */
  function writeOrigin(path: string, text: string | Buffer): void {
    if (!originals.has(path)) originals.set(path, readFileSync(path));
    try {
      writeFileSync(path, text);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EPERM') throw error;
      tool('chattr', ['-i', path]);
      writeFileSync(path, text);
      tool('chattr', ['+i', path]);
    }
  }

  /** Deployments, origins and refs: what a refused operation must leave exactly as it was. */
  function snapshot(): unknown {
    const listed = ostreeStatus(sysroot);
    return {
      deployments: ids(listed),
      origins: listed.map((d) => readFileSync(originFile(d), 'utf8')),
      refs: readRefs(join(sysroot, 'ostree', 'repo')),
    };
  }

  before(async () => {
    root = tempFixtureRoot('hindsight-managed-origin-');
    demo = buildDemo(join(root, 'demo'));
    sysroot = demo.sysroot;
    helper = await startHelper(sysroot);
  });
  afterEach(() => {
    for (const [path, bytes] of originals) writeOrigin(path, bytes);
    originals.clear();
  });
  after(async () => {
    await helper?.close();
    removeFixture(root);
  });

  const head = (): string => {
    const [first] = ostreeStatus(sysroot);
    assert.ok(first);
    return first.checksum;
  };

  it('refuses upgrade, check-then-upgrade and deploy from a deployment with packages layered by rpm-ostree', async () => {
    const [current] = ostreeStatus(sysroot);
    assert.ok(current);
    writeOrigin(originFile(current), LAYERED(`${demo.remote}:${demo.ref}`));
    const before = snapshot();
    const rpmOstree = /rpm-ostree.*htop, vim.*`rpm-ostree upgrade`/;
    // An older version, which ostree admin deploy would deploy with a bare refspec origin.
    const older = ostreeStatus(sysroot)[1];
    assert.ok(older?.version);
    assertRefused(await settle(helper.call('deploy', { commit: older.version })), rpmOstree);
    assertRefused(await settle(helper.call('deploy', { commit: older.checksum })), rpmOstree);
    assertRefused(await settle(helper.call('upgrade', {})), rpmOstree);
    assertRefused(await settle(helper.call('upgradeCheck', {})), rpmOstree);
    // The commit the remote offers, named as a client that checked first would name it.
    const offered = readRefs(demo.remoteRepo)[demo.ref];
    assert.ok(offered);
    assertRefused(await settle(helper.call('upgrade', { commit: offered })), rpmOstree);
    assert.deepEqual(snapshot(), before, 'no deployment, origin or ref changed');
    assert.equal(head(), current.checksum);
  });

  it('refuses upgrade and deploy from a deployment that follows a container image', async () => {
    const [current] = ostreeStatus(sysroot);
    assert.ok(current);
    writeOrigin(originFile(current), IMAGE_ORIGIN);
    const before = snapshot();
    const image = new RegExp(
      `container image ${IMAGE.replace(/[.:/]/g, '\\$&')}.*\`bootc upgrade\`.*\`rpm-ostree upgrade\``,
    );
    const older = ostreeStatus(sysroot)[1];
    assert.ok(older?.version);
    assertRefused(await settle(helper.call('deploy', { commit: older.version })), image);
    assertRefused(await settle(helper.call('upgradeCheck', {})), image);
    assertRefused(await settle(helper.call('upgrade', {})), image);
    assert.deepEqual(snapshot(), before, 'no deployment, origin or ref changed');
  });

  it('shows the layered packages and the image reference in status (JSON and text)', async () => {
    const [first, second, third] = ostreeStatus(sysroot);
    assert.ok(first && second && third);
    writeOrigin(originFile(first), LAYERED(`${demo.remote}:${demo.ref}`));
    writeOrigin(originFile(second), IMAGE_ORIGIN);
    const status = await helper.call('status', {});
    const pick = (d: Deployment) => ({
      origin: d.origin,
      layeredPackages: d.layeredPackages,
      imageReference: d.imageReference,
      managedBy: d.managedBy,
    });
    assert.deepEqual(status.deployments.map(pick), [
      {
        origin: `${demo.remote}:${demo.ref}`,
        layeredPackages: ['htop', 'vim'],
        imageReference: null,
        managedBy: 'rpm-ostree',
      },
      { origin: IMAGE, layeredPackages: [], imageReference: IMAGE, managedBy: 'bootc' },
      {
        origin: `${demo.remote}:${demo.ref}`,
        layeredPackages: [],
        imageReference: null,
        managedBy: null,
      },
    ]);
    assert.deepEqual(
      status.deployments.map((d) => d.pinned),
      ostreeStatus(sysroot).map((d) => d.pinned),
      'pinning is read from the origin as before',
    );
    const text = formatStatus(status);
    assert.match(
      text,
      /^Deployment 0: layered packages: htop, vim; upgraded by rpm-ostree \(rpm-ostree upgrade\)/m,
    );
    assert.match(
      text,
      new RegExp(`^Deployment 1: container image ${IMAGE.replace(/[.:/]/g, '\\$&')}; upgraded by bootc`, 'm'),
    );
    assert.doesNotMatch(text, /^Deployment 2:/m);
  });

  it('still checks for upgrades when only an older deployment is layered', async () => {
    const [, second] = ostreeStatus(sysroot);
    assert.ok(second);
    writeOrigin(originFile(second), LAYERED(`${demo.remote}:${demo.ref}`));
    const check = await helper.call('upgradeCheck', {});
    assert.equal(check.origin, `${demo.remote}:${demo.ref}`);
    assert.equal(check.available?.version, demo.available);
  });
});
