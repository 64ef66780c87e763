import type { SnapperChange, SnapperSnapshot, SnapperStatus } from '../../shared/snapper.ts';

/**
 * The rows the snapper screens draw: the live root ("current", snapshot 0) first, then each change —
 * a lone snapshot, or a pre and post pair as one row, since together they are one zypper run.
 */
export interface ChangeRow {
  key: string;
  kind: 'current' | 'single' | 'pre-post';
  /** How snapper people name it: `4..5` for a pair, `6` for a lone snapshot. */
  numbers: string;
  description: string;
  /** The post's date for a pair (when the change finished), else the snapshot's own. */
  date: string | null;
  user: string;
  cleanup: string;
  userdata: Record<string, string>;
  pre: SnapperSnapshot | null;
  post: SnapperSnapshot | null;
  /** The lone snapshot, or snapshot 0. */
  snapshot: SnapperSnapshot | null;
  active: boolean;
  default: boolean;
}

function halves(row: Pick<ChangeRow, 'pre' | 'post' | 'snapshot'>): SnapperSnapshot[] {
  return [row.snapshot, row.pre, row.post].filter((s): s is SnapperSnapshot => s !== null);
}

function rowOf(change: SnapperChange): ChangeRow {
  if (change.kind === 'single') {
    const s = change.snapshot;
    return {
      key: `s${s.number}`,
      kind: 'single',
      numbers: String(s.number),
      description: change.description,
      date: s.date,
      user: s.user,
      cleanup: s.cleanup,
      userdata: s.userdata,
      pre: null,
      post: null,
      snapshot: s,
      active: s.active,
      default: s.default,
    };
  }
  const { pre, post } = change;
  const first = pre ?? post;
  const parts = [pre?.number, post?.number].filter((n) => n !== undefined);
  return {
    key: `p${change.number}`,
    kind: 'pre-post',
    numbers: parts.length === 2 ? parts.join('..') : String(parts[0] ?? change.number),
    description: change.description,
    date: post?.date ?? pre?.date ?? null,
    user: first?.user ?? '',
    cleanup: first?.cleanup ?? '',
    userdata: change.userdata,
    pre,
    post,
    snapshot: null,
    active: !!(pre?.active || post?.active),
    default: !!(pre?.default || post?.default),
  };
}

/** Snapshot 0 on top, then the changes newest first (by number: snapper numbers only ever grow). */
export function changeRows(status: Pick<SnapperStatus, 'snapshots' | 'changes'>): ChangeRow[] {
  const current = status.snapshots.find((s) => s.number === 0) ?? null;
  const rows = status.changes
    .filter((c) => c.number !== 0)
    .map(rowOf)
    .sort((a, b) => numberOf(b) - numberOf(a));
  if (!current) return rows;
  return [
    {
      key: 's0',
      kind: 'current',
      numbers: '0',
      description: current.description || 'current',
      date: null,
      user: current.user,
      cleanup: '',
      userdata: current.userdata,
      pre: null,
      post: null,
      snapshot: current,
      active: current.active,
      default: current.default,
    },
    ...rows,
  ];
}

/** The number a row sorts and is linked by: a pair's lower number. */
export function numberOf(row: ChangeRow): number {
  return row.snapshot?.number ?? row.pre?.number ?? row.post?.number ?? 0;
}

/**
 * What "Roll back to this" goes back to: for a pair the pre snapshot — the system as it was before
 * the change — or the post when the pre is gone. Null for the live root.
 */
export function rollbackTarget(row: ChangeRow): number | null {
  if (row.kind === 'current') return null;
  return row.snapshot?.number ?? row.pre?.number ?? row.post?.number ?? null;
}

/** What deleting the row removes: both halves of a pair, which mean nothing apart. */
export function deleteNumbers(row: ChangeRow): number[] {
  if (row.kind === 'current') return [];
  return halves(row).map((s) => s.number);
}

/** Why a row cannot be deleted, or null when it can. */
export function deleteBlocker(row: ChangeRow, protectedNumbers: ReadonlySet<number>): string | null {
  if (row.kind === 'current') return 'The live root is not a snapshot on disk.';
  const all = halves(row);
  if (all.some((s) => s.active)) return 'The running snapshot cannot be deleted.';
  if (all.some((s) => s.default)) return 'The snapshot that boots next cannot be deleted.';
  if (all.some((s) => protectedNumbers.has(s.number)))
    return 'A pending rollback uses it; undo the rollback first.';
  return null;
}

/** The default comparison for a row: a pair's before and after, else the snapshot against the live root. */
export function compareDefault(row: ChangeRow): { from: number; to: number } {
  if (row.pre && row.post) return { from: row.pre.number, to: row.post.number };
  return { from: numberOf(row), to: 0 };
}

/** What topic toasts compare: the snapshots, the default and the running one. */
export function snapperSignature(status: SnapperStatus | undefined): string | null {
  if (!status) return null;
  const flags = status.snapshots.map((s) => `${s.number}:${+s.default}${+s.active}`).join(' ');
  return `${flags} d${status.defaultSubvolume.id} r${status.pendingRollback?.target ?? '-'}`;
}

/** A snapshot as a picker or a caption names it. */
export function snapshotLabel(s: Pick<SnapperSnapshot, 'number' | 'type' | 'description'>): string {
  if (s.number === 0) return '0 — current (the live root)';
  const type = s.type === 'single' ? '' : ` (${s.type})`;
  return `${s.number}${type} — ${s.description || 'no description'}`;
}

/** userdata as the editor shows it: one `key=value` per line. */
export function userdataText(userdata: Record<string, string>): string {
  return Object.entries(userdata)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n');
}

const KEY = /^[\w.-]{1,64}$/;
const BAD_VALUE = /[,=\u0000-\u001f\u007f]/;

/** Reads the editor's `key=value` lines back, with the line that snapper would refuse. */
export function parseUserdata(
  text: string,
): { ok: true; userdata: Record<string, string> } | { ok: false; problem: string } {
  const userdata: Record<string, string> = {};
  const lines = text.split('\n');
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (!line) continue;
    const eq = line.indexOf('=');
    const key = (eq < 0 ? line : line.slice(0, eq)).trim();
    const value = eq < 0 ? '' : line.slice(eq + 1).trim();
    if (!KEY.test(key))
      return { ok: false, problem: `Line ${i + 1}: a key is letters, digits, _ . or - (up to 64).` };
    if (BAD_VALUE.test(value) || value.length > 256)
      return { ok: false, problem: `Line ${i + 1}: a value has no , or = and is at most 256 characters.` };
    userdata[key] = value;
  }
  return { ok: true, userdata };
}

/** Rows by the day they were made, newest day first; snapshot 0 (no date) is left out. */
export function rowsByDay(rows: ChangeRow[], dayOf: (iso: string | null) => string): [string, ChangeRow[]][] {
  const days = new Map<string, ChangeRow[]>();
  for (const row of rows) {
    if (row.kind === 'current') continue;
    const day = dayOf(row.date);
    const list = days.get(day);
    if (list) list.push(row);
    else days.set(day, [row]);
  }
  return [...days.entries()];
}
