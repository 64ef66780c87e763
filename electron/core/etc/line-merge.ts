import { diff3Merge } from 'node-diff3';
import type { ConflictHunk } from '../../../shared/types.ts';

export interface TextMerge {
  merged: string;
  conflicts: ConflictHunk[];
}

export const MARKER_YOURS = '<<<<<<< yours (this deployment)';
export const MARKER_BASE = '||||||| base (old image)';
export const MARKER_SPLIT = '=======';
export const MARKER_UPSTREAM = '>>>>>>> upstream (new image)';

/** Splits text into lines, remembering whether it ended with a newline so the join is exact. */
export function splitLines(text: string): { lines: string[]; finalNewline: boolean } {
  if (text === '') return { lines: [], finalNewline: false };
  const finalNewline = text.endsWith('\n');
  const lines = (finalNewline ? text.slice(0, -1) : text).split('\n');
  return { lines, finalNewline };
}

export function joinLines(lines: string[], finalNewline: boolean): string {
  if (!lines.length) return '';
  return lines.join('\n') + (finalNewline ? '\n' : '');
}

/** Conflict block in diff3 style, so an editor and a person can both read it. */
export function conflictBlock(local: string[], base: string[], upstream: string[]): string[] {
  return [MARKER_YOURS, ...local, MARKER_BASE, ...base, MARKER_SPLIT, ...upstream, MARKER_UPSTREAM];
}

/** A line-level three-way merge (diff3): clean merged text, or text with conflict blocks and their hunks. */
export function mergeLines(base: string, local: string, upstream: string): TextMerge {
  const b = splitLines(base);
  const l = splitLines(local);
  const u = splitLines(upstream);
  const regions = diff3Merge(l.lines, b.lines, u.lines, { excludeFalseConflicts: true });
  const out: string[] = [];
  const conflicts: ConflictHunk[] = [];
  for (const region of regions) {
    if (region.ok) out.push(...region.ok);
    else if (region.conflict) {
      const { a, o, b: theirs } = region.conflict;
      conflicts.push({ line: out.length + 1, base: o, local: a, upstream: theirs });
      out.push(...conflictBlock(a, o, theirs));
    }
  }
  // A side that added a final newline wins over one that did not touch it.
  const finalNewline = l.finalNewline !== b.finalNewline ? l.finalNewline : u.finalNewline;
  return {
    merged: joinLines(out, out.length ? finalNewline || l.finalNewline || u.finalNewline : false),
    conflicts,
  };
}
