import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseKeyfile } from './keyfile.ts';
import { describeOrigin, keyfileList } from './origin.ts';

/**
 * Origin keyfiles as OSTree, rpm-ostree and bootc write them. The real `rpm-ostree status --json`
 * captures beside the project (../shared/realworld, not part of a clone) give the values real
 * systems hold; without them that part is skipped, and says so.
 */

const origin = (text: string) => describeOrigin(parseKeyfile(text));

describe('origin keyfiles', () => {
  it('reads a plain OSTree origin as before', () => {
    assert.deepEqual(
      origin('[origin]\nrefspec=demo:debian/bookworm/desktop\n\n[libostree-transient]\npinned=true\n'),
      {
        origin: 'demo:debian/bookworm/desktop',
        pinned: true,
        layeredPackages: [],
        imageReference: null,
        managedBy: null,
      },
    );
  });

  it('reads rpm-ostree layering: baserefspec and requested packages', () => {
    assert.deepEqual(
      origin('[origin]\nbaserefspec=fedora:fedora/39/x86_64/silverblue\n\n[packages]\nrequested=htop;vim;\n'),
      {
        origin: 'fedora:fedora/39/x86_64/silverblue',
        pinned: false,
        layeredPackages: ['htop', 'vim'],
        imageReference: null,
        managedBy: 'rpm-ostree',
      },
    );
    // Local RPMs are kept as SHA256:NEVRA; the NEVRA is the name a person knows.
    const local = origin(
      `[origin]\nbaserefspec=fedora:fedora/39/x86_64/silverblue\n\n[packages]\nrequested-local=${'ab'.repeat(32)}:foo-1.0-1.fc39.x86_64;\n`,
    );
    assert.deepEqual(local.layeredPackages, ['foo-1.0-1.fc39.x86_64']);
    // Overrides alone (a base package removed) are rpm-ostree's too, even without a package list.
    const removal = origin(
      '[origin]\nbaserefspec=fedora:fedora/x86_64/coreos/stable\n\n[overrides]\nremove=moby-engine;\n',
    );
    assert.equal(removal.managedBy, 'rpm-ostree');
    assert.deepEqual(removal.layeredPackages, []);
    assert.equal(
      origin('[origin]\nrefspec=fedora:x\n[rpmostree]\nregenerate-initramfs=true\n').managedBy,
      'rpm-ostree',
    );
  });

  it('reads container image origins, with or without layering on top', () => {
    for (const ref of [
      'ostree-unverified-registry:quay.io/fedora/fedora-coreos:stable',
      'ostree-image-signed:docker://quay.io/fedora/fedora-coreos:stable',
      'ostree-remote-image:fedora:docker://quay.io/fedora/fedora-coreos:stable',
    ]) {
      assert.deepEqual(origin(`[origin]\ncontainer-image-reference=${ref}\n`), {
        origin: ref,
        pinned: false,
        layeredPackages: [],
        imageReference: ref,
        managedBy: 'bootc',
      });
    }
    const layered = origin(
      '[origin]\ncontainer-image-reference=ostree-unverified-registry:quay.io/fedora/fedora-coreos:stable\n\n[packages]\nrequested=strace;\n',
    );
    // bootc refuses to upgrade a system with rpm-ostree layering: rpm-ostree owns it.
    assert.equal(layered.managedBy, 'rpm-ostree');
    assert.deepEqual(layered.layeredPackages, ['strace']);
  });

  it('splits GLib string lists, escapes included', () => {
    const kf = parseKeyfile('[packages]\nrequested=a;b\\;c;;d\n');
    assert.deepEqual(keyfileList(kf, 'packages', 'requested'), ['a', 'b;c', 'd']);
    assert.deepEqual(keyfileList(kf, 'packages', 'missing'), []);
  });
});

interface CapturedDeployment {
  id: string;
  origin?: string;
  'container-image-reference'?: string;
  'requested-packages'?: string[];
  'requested-local-packages'?: string[];
  'requested-base-removals'?: string[];
  'requested-base-local-replacements'?: string[];
  pinned?: boolean;
}

const REALWORLD = fileURLToPath(new URL('../../../../shared/realworld/', import.meta.url));
const captures = existsSync(REALWORLD)
  ? readdirSync(REALWORLD).filter((n) => /^rpm-ostree-status\..*\.json$/.test(n))
  : [];

/**
 * The origin keyfile rpm-ostree keeps for a deployment `rpm-ostree status --json` describes:
 * `baserefspec` as soon as anything is layered or overridden, else `refspec`; or the image reference.
 * A local RPM's header digest is not in the status: a placeholder stands in for it.
 */
function originFor(d: CapturedDeployment): string {
  const digest = '0'.repeat(64);
  const list = (items: string[]): string => `${items.join(';')};`;
  const requested = d['requested-packages'] ?? [];
  const local = d['requested-local-packages'] ?? [];
  const removals = d['requested-base-removals'] ?? [];
  const replacements = d['requested-base-local-replacements'] ?? [];
  const layered = requested.length + local.length + removals.length + replacements.length > 0;
  const lines = ['[origin]'];
  if (d['container-image-reference'])
    lines.push(`container-image-reference=${d['container-image-reference']}`);
  else lines.push(`${layered ? 'baserefspec' : 'refspec'}=${d.origin}`);
  if (requested.length || local.length) {
    lines.push('', '[packages]');
    if (requested.length) lines.push(`requested=${list(requested)}`);
    if (local.length) lines.push(`requested-local=${list(local.map((n) => `${digest}:${n}`))}`);
  }
  if (removals.length || replacements.length) {
    lines.push('', '[overrides]');
    if (removals.length) lines.push(`remove=${list(removals)}`);
    if (replacements.length) lines.push(`replace-local=${list(replacements.map((n) => `${digest}:${n}`))}`);
  }
  if (d.pinned) lines.push('', '[libostree-transient]', 'pinned=true');
  return `${lines.join('\n')}\n`;
}

describe('origins of the real rpm-ostree captures (../shared/realworld)', () => {
  const skip = captures.length
    ? false
    : `${REALWORLD} is absent (it sits beside the project, not in a clone): the origins of real rpm-ostree status captures were not checked`;

  it('reads what rpm-ostree reports: origin, layered packages, image reference, and who owns the upgrade', {
    skip,
  }, () => {
    const seen = { plain: 0, layered: 0, image: 0, signedImage: 0 };
    for (const name of captures) {
      const status = JSON.parse(readFileSync(join(REALWORLD, name), 'utf8')) as {
        deployments: CapturedDeployment[];
      };
      for (const d of status.deployments) {
        const where = `${name} ${d.id}`;
        const facts = origin(originFor(d));
        const image = d['container-image-reference'] ?? null;
        const requested = [...(d['requested-packages'] ?? []), ...(d['requested-local-packages'] ?? [])];
        const overridden =
          (d['requested-base-removals'] ?? []).length +
            (d['requested-base-local-replacements'] ?? []).length >
          0;
        assert.equal(facts.origin, image ?? d.origin, where);
        assert.equal(facts.imageReference, image, where);
        assert.deepEqual(facts.layeredPackages, requested, where);
        assert.equal(facts.pinned, d.pinned === true, where);
        const owner = requested.length || overridden ? 'rpm-ostree' : image ? 'bootc' : null;
        assert.equal(facts.managedBy, owner, where);
        if (image?.startsWith('ostree-image-signed:')) seen.signedImage++;
        else if (image) seen.image++;
        else if (owner) seen.layered++;
        else seen.plain++;
      }
    }
    // The captures hold each kind the helper must refuse to upgrade through ostree, and plain ones it must not.
    for (const [kind, count] of Object.entries(seen))
      assert.ok(count > 0, `a ${kind} deployment among the captures`);
  });
});
