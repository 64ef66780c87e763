import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { BACKEND_WORDS } from '../../../shared/backends.ts';
import { HindsightError } from '../../../shared/errors.ts';
import type { OstreeStore, OstreeSystem } from '../ostree/backend.ts';
import type { SnapperSystem } from '../snapper/backend.ts';
import { DEFAULT_SNAPPER_CONFIG, detectBackend } from './detect.ts';

export type { EntryState, SystemBackend, SystemEntry } from './backend.ts';
export type { OstreeSystem, SnapperSystem };

/** Every backend there is; `kind` tells them apart where a caller shows what is particular to one. */
export type System = OstreeSystem | SnapperSystem;

export interface OpenOptions {
  /** `--sysroot`: an OSTree sysroot or a snapper root (the folder holding `.snapshots`). */
  root: string;
  /** OSTree's stateroot (`--os`); a snapper root has none. */
  stateroot?: string;
  /** snapper's config; `root` by default. */
  config?: string;
  /** The local cache, for OSTree's listings and deltas. */
  store?: OstreeStore;
  /** For tests: the uid the snapper backend checks for root. */
  uid?: number;
}

/**
 * The system at a folder, by what it holds (detectBackend). A folder that is neither goes to OSTree,
 * whose reader has always said what is missing: those messages, which the CLI and the helper print,
 * stay as they were. Backends load on demand, so OSTree's `status` never loads snapper's (or zod).
 */
export async function openSystem(options: OpenOptions): Promise<System> {
  if (detectBackend(options.root) === 'snapper') {
    if (options.stateroot !== undefined)
      throw new HindsightError(
        'bad-request',
        `--os names an OSTree stateroot; ${resolve(options.root)} is a ${BACKEND_WORDS.snapper.system}, which has none`,
      );
    const { snapperBackend } = await import('../snapper/backend.ts');
    return snapperBackend({
      root: options.root,
      config: options.config ?? DEFAULT_SNAPPER_CONFIG,
      ...(options.uid !== undefined ? { uid: options.uid } : {}),
    });
  }
  const { ostreeBackend } = await import('../ostree/backend.ts');
  return ostreeBackend({
    sysroot: options.root,
    ...(options.stateroot !== undefined ? { stateroot: options.stateroot } : {}),
    ...(options.store ? { store: options.store } : {}),
  });
}

/**
 * The folder a command reads when none is given: `/` on a booted OSTree system, or `/` when it is
 * a snapper root (openSUSE, or Arch and Debian with snapper set up for `/`); null otherwise.
 */
export function defaultSystemRoot(): string | null {
  if (existsSync('/run/ostree-booted')) return '/';
  return detectBackend('/') === 'snapper' ? '/' : null;
}
