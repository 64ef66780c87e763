import type { Deployment } from '../../../shared/types.ts';
import { type Keyfile, keyfileValue } from './keyfile.ts';

/**
 * A deployment's origin keyfile (`$checksum.$serial.origin`, beside the deployment folder) as
 * OSTree, rpm-ostree and bootc write it:
 *
 * - plain OSTree: `[origin] refspec=remote:ref`;
 * - rpm-ostree with client-side layering or overrides: `[origin] baserefspec=remote:ref` (rpm-ostree
 *   swaps `refspec` for `baserefspec` as soon as the deployment needs local assembly), with
 *   `[packages] requested=htop;vim;`, `requested-local=SHA256:NEVRA;`, `[overrides] remove=…;`,
 *   `replace-local=…;`, `[modules] …`, `[rpmostree] regenerate-initramfs=true`, `initramfs-etc=…`;
 * - a container image (rpm-ostree rebased to one, or bootc): `[origin] container-image-reference=
 *   ostree-unverified-registry:…` (or `ostree-image-signed:…`, `ostree-remote-image:…`).
 */

export interface OriginFacts {
  /** The refspec (or rpm-ostree's base refspec, or the image reference) it follows, else null. */
  origin: string | null;
  pinned: boolean;
  layeredPackages: string[];
  imageReference: string | null;
  managedBy: Deployment['managedBy'];
}

/** A GLib keyfile string list (`a;b;`, `\;` an escaped separator), without empty items. */
export function keyfileList(kf: Keyfile, group: string, key: string): string[] {
  const value = keyfileValue(kf, group, key);
  if (value === null) return [];
  const items: string[] = [];
  let current = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i] as string;
    if (c === '\\' && i + 1 < value.length) {
      const next = value[++i] as string;
      current += next === 's' ? ' ' : next === 't' ? '\t' : next === 'n' ? '\n' : next;
    } else if (c === ';') {
      items.push(current);
      current = '';
    } else current += c;
  }
  items.push(current);
  return items.map((s) => s.trim()).filter((s) => s !== '');
}

/** rpm-ostree keeps local RPMs as `SHA256:NEVRA`: the NEVRA is what a person knows them by. */
const withoutDigest = (entry: string): string => entry.replace(/^[0-9a-f]{64}:/, '');

export function describeOrigin(kf: Keyfile): OriginFacts {
  const refspec = keyfileValue(kf, 'origin', 'refspec');
  const baseRefspec = keyfileValue(kf, 'origin', 'baserefspec');
  const imageReference = keyfileValue(kf, 'origin', 'container-image-reference');
  const layeredPackages = [
    ...keyfileList(kf, 'packages', 'requested'),
    ...keyfileList(kf, 'packages', 'requested-local').map(withoutDigest),
    ...keyfileList(kf, 'packages', 'requested-local-fileoverride').map(withoutDigest),
  ];
  // Anything rpm-ostree assembles on the client: only rpm-ostree can carry it to a new deployment.
  const assembled =
    baseRefspec !== null ||
    layeredPackages.length > 0 ||
    [
      ['overrides', 'remove'],
      ['overrides', 'replace-local'],
      ['modules', 'enable'],
      ['modules', 'install'],
      ['rpmostree', 'initramfs-etc'],
    ].some(([group, key]) => keyfileList(kf, group as string, key as string).length > 0) ||
    keyfileValue(kf, 'rpmostree', 'regenerate-initramfs') === 'true';
  return {
    origin: refspec ?? baseRefspec ?? imageReference,
    pinned: keyfileValue(kf, 'libostree-transient', 'pinned') === 'true',
    layeredPackages,
    imageReference,
    managedBy: assembled ? 'rpm-ostree' : imageReference !== null ? 'bootc' : null,
  };
}

/** The command that upgrades a deployment its own tool owns (see Deployment.managedBy). */
export function upgradeCommand(managedBy: NonNullable<Deployment['managedBy']>): string {
  return managedBy === 'rpm-ostree' ? 'rpm-ostree upgrade' : 'bootc upgrade';
}
