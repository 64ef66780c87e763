import type { PackageEntry } from '../../../shared/types.ts';

/** Where OSTree-adapted and plain Debian trees keep dpkg's status file, in preference order. */
export const DPKG_STATUS_CANDIDATES = [
  'usr/share/dpkg/database/status',
  'usr/lib/dpkg/status',
  'var/lib/dpkg/status',
];

/**
 * Parses a dpkg `status` file: the packages whose status is installed (what `dpkg-query -W` shows
 * with `${db:Status-Status}` = installed), sorted by name then architecture.
 */
export function parseDpkgStatus(text: string): PackageEntry[] {
  const out: PackageEntry[] = [];
  let name = '';
  let version = '';
  let arch = '';
  let status = '';
  const flush = (): void => {
    if (name && status.split(/\s+/)[2] === 'installed') out.push({ name, version, arch });
    name = version = arch = status = '';
  };
  for (const line of text.split('\n')) {
    if (line === '' || line === '\r') {
      flush();
      continue;
    }
    // Continuation lines (descriptions, conffiles) start with whitespace and never hold these fields.
    if (line.startsWith(' ') || line.startsWith('\t')) continue;
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const field = line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    if (field === 'Package') name = value;
    else if (field === 'Version') version = value;
    else if (field === 'Architecture') arch = value;
    else if (field === 'Status') status = value;
  }
  flush();
  return sortPackages(out);
}

export function sortPackages(list: PackageEntry[]): PackageEntry[] {
  return list.sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : a.arch < b.arch ? -1 : a.arch > b.arch ? 1 : 0,
  );
}
