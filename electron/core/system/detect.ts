import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { BackendKind } from '../../../shared/backends.ts';

/**
 * Which system a folder is, from what lies in it; nothing is run and nothing is read beyond a few
 * stat calls, so the CLI can ask before it loads a backend (and without root, which reading a
 * snapper root itself needs).
 */

/** snapper's config for the root filesystem: the one openSUSE's installer, snap-pac and Debian use. */
export const DEFAULT_SNAPPER_CONFIG = 'root';

/** The marks of each system, in the order they are tried; the first whose paths all exist wins. */
export const BACKEND_MARKS: readonly { kind: BackendKind; paths: readonly string[] }[] = [
  // ostree/repo/config as assertSysroot checks it: an empty ostree/repo folder is not a repository.
  { kind: 'ostree', paths: ['ostree/repo/config', 'ostree/deploy'] },
  { kind: 'snapper', paths: ['.snapshots', `etc/snapper/configs/${DEFAULT_SNAPPER_CONFIG}`] },
];

/**
 * The backend a folder (`--sysroot`, or `/`) belongs to, or null when it is none of them. OSTree is
 * tried first: an OSTree sysroot on btrfs may well have snapper set up for its /var or /home, never
 * for the sysroot itself.
 */
export function detectBackend(folder: string): BackendKind | null {
  const root = resolve(folder);
  try {
    if (!statSync(root).isDirectory()) return null;
  } catch {
    return null;
  }
  for (const mark of BACKEND_MARKS) {
    if (mark.paths.every((p) => existsSync(join(root, p)))) return mark.kind;
  }
  return null;
}
