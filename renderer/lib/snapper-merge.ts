import type { PendingMergeView } from '../../shared/snapper.ts';
import type { EtcMergeFile } from '../../shared/types.ts';

/**
 * A package manager's pending merge (`sshd_config.rpmnew`) in the shape the merge panes already draw
 * for OSTree, so the snapper screen reuses them instead of a second three-way view.
 */
export function pendingAsMergeFile(p: PendingMergeView): EtcMergeFile {
  return {
    path: p.path.replace(/^\/?etc\//, ''),
    local: 'modified',
    upstream: 'modified',
    ostree: 'kept-local',
    merge: p.merge,
    strategy: p.merge === 'none' || p.merge === 'not-text' ? 'none' : 'lines',
    flags: [],
    ...(p.merged !== undefined ? { merged: p.merged } : {}),
    ...(p.conflicts ? { conflicts: p.conflicts } : {}),
  };
}

/** The three texts of a merge, or null when a side is not text (binary, large, missing). */
export function pendingTexts(p: PendingMergeView): { base: string; yours: string; upstream: string } | null {
  if (p.local.content !== 'text' || p.upstream.content !== 'text') return null;
  // Without the package's old version the merge is two-way: an empty base makes every difference a choice.
  const base = p.base?.content === 'text' ? (p.base.text ?? '') : '';
  return { base, yours: p.local.text ?? '', upstream: p.upstream.text ?? '' };
}

export type MergeTake =
  | { take: 'merged' | 'local' | 'upstream'; text?: undefined }
  | { take: 'edited'; text: string };

/**
 * What "Apply merged" sends for the result on screen: the engine's own merge when that is what it
 * shows (so the helper writes what it computed), a whole side when it equals one, else the text.
 */
export function mergedTake(
  p: Pick<PendingMergeView, 'merge' | 'merged'>,
  result: { text: string; unresolved: number },
  sides: { yours: string; upstream: string },
): MergeTake | { unresolved: number } {
  if (result.unresolved > 0) return { unresolved: result.unresolved };
  if (p.merge === 'clean' && p.merged === result.text) return { take: 'merged' };
  if (result.text === sides.yours) return { take: 'local' };
  if (result.text === sides.upstream) return { take: 'upstream' };
  return { take: 'edited', text: result.text };
}

/** The package manager's word for the file it left, for sentences. */
export function mergeFileWord(p: Pick<PendingMergeView, 'kind'>): string {
  return `.${p.kind}`;
}
