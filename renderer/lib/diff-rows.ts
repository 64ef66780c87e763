import { structuredPatch } from 'diff';
import type { DiffHunk } from '../../shared/types.ts';

/** Rows of a unified diff, flat so a virtual list can show 20,000 lines without rendering them all. */
export type UnifiedRow =
  | { kind: 'hunk'; header: string }
  | { kind: 'context' | 'add' | 'del'; oldNo: number | null; newNo: number | null; text: string }
  | { kind: 'note'; text: string };

export interface SplitCell {
  no: number;
  text: string;
  kind: 'context' | 'add' | 'del';
}

export type SplitRow =
  | { kind: 'hunk'; header: string }
  | { kind: 'pair'; left: SplitCell | null; right: SplitCell | null };

const NO_NEWLINE = '\\';

function hunkHeader(h: DiffHunk): string {
  return `@@ −${h.oldStart},${h.oldLines} +${h.newStart},${h.newLines} @@`;
}

export function unifiedRows(hunks: DiffHunk[]): UnifiedRow[] {
  const rows: UnifiedRow[] = [];
  for (const h of hunks) {
    rows.push({ kind: 'hunk', header: hunkHeader(h) });
    let oldNo = h.oldStart;
    let newNo = h.newStart;
    for (const line of h.lines) {
      const mark = line[0];
      const text = line.slice(1);
      if (mark === '+') rows.push({ kind: 'add', oldNo: null, newNo: newNo++, text });
      else if (mark === '-') rows.push({ kind: 'del', oldNo: oldNo++, newNo: null, text });
      else if (mark === NO_NEWLINE) rows.push({ kind: 'note', text: 'No newline at end of file' });
      else rows.push({ kind: 'context', oldNo: oldNo++, newNo: newNo++, text });
    }
  }
  return rows;
}

/** Pairs each run of removed lines with the run of added lines after it, as side-by-side views do. */
export function splitRows(hunks: DiffHunk[]): SplitRow[] {
  const rows: SplitRow[] = [];
  for (const h of hunks) {
    rows.push({ kind: 'hunk', header: hunkHeader(h) });
    let oldNo = h.oldStart;
    let newNo = h.newStart;
    let dels: SplitCell[] = [];
    let adds: SplitCell[] = [];
    const flush = (): void => {
      const n = Math.max(dels.length, adds.length);
      for (let i = 0; i < n; i++) rows.push({ kind: 'pair', left: dels[i] ?? null, right: adds[i] ?? null });
      dels = [];
      adds = [];
    };
    for (const line of h.lines) {
      const mark = line[0];
      const text = line.slice(1);
      if (mark === '-') dels.push({ no: oldNo++, text, kind: 'del' });
      else if (mark === '+') adds.push({ no: newNo++, text, kind: 'add' });
      else if (mark === NO_NEWLINE) continue;
      else {
        flush();
        rows.push({
          kind: 'pair',
          left: { no: oldNo++, text, kind: 'context' },
          right: { no: newNo++, text, kind: 'context' },
        });
      }
    }
    flush();
  }
  return rows;
}

/** Hunks for two texts when the engine did not send them (a new or deleted file, say). */
export function hunksFor(before: string, after: string, context = 3): DiffHunk[] {
  return structuredPatch('a', 'b', before, after, '', '', { context }).hunks;
}

export function diffStats(hunks: DiffHunk[]): { added: number; removed: number } {
  let added = 0;
  let removed = 0;
  for (const h of hunks) {
    for (const line of h.lines) {
      if (line[0] === '+') added++;
      else if (line[0] === '-') removed++;
    }
  }
  return { added, removed };
}
