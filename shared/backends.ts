/**
 * The systems Hindsight reads, and the words each one uses. Here in shared/ (not in
 * electron/core/system/) because the renderer may import only shared/, and its screens are to say
 * "snapshot" or "deployment" from this one table, as the CLI does.
 */

export const BACKEND_KINDS = ['ostree', 'snapper'] as const;
export type BackendKind = (typeof BACKEND_KINDS)[number];

export interface BackendWords {
  /** What the folder given as --sysroot is, in a sentence: "OSTree sysroot", "snapper root". */
  system: string;
  /** One entry of the system, and several. */
  entry: string;
  entries: string;
}

export const BACKEND_WORDS: Readonly<Record<BackendKind, BackendWords>> = {
  ostree: { system: 'OSTree sysroot', entry: 'deployment', entries: 'deployments' },
  snapper: { system: 'snapper root', entry: 'snapshot', entries: 'snapshots' },
};
