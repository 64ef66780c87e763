import type { ConflictHunk } from '../../../shared/types.ts';
import { conflictBlock, joinLines, splitLines, type TextMerge } from './line-merge.ts';

/**
 * Account databases merge by entry (the first `:` field), not by line: both sides' new entries are
 * kept, group member lists are united, and only an entry changed differently on both sides conflicts.
 * This is what makes "you added a user, the image added sshd" merge cleanly.
 */
export const ACCOUNT_DATABASES = new Set(['passwd', 'group', 'shadow', 'gshadow', 'subuid', 'subgid']);

/** Where the comma-separated member lists are, per database (0-based field index). */
const MEMBER_FIELDS: Record<string, number[]> = { group: [3], gshadow: [2, 3] };

export function isAccountDatabase(relPath: string): boolean {
  return ACCOUNT_DATABASES.has(relPath);
}

interface Parsed {
  order: string[];
  entries: Map<string, string>;
  /** Lines that are not entries (comments, blanks), kept from the local side in place. */
  other: Map<number, string>;
}

function entryKey(line: string, database: string): string | null {
  if (!line || line.startsWith('#')) return null;
  const name = line.split(':', 1)[0] ?? '';
  if (!name) return null;
  // subuid/subgid may hold several ranges for one user: the whole line is the key.
  return database === 'subuid' || database === 'subgid' ? line : name;
}

function parse(text: string, database: string): Parsed {
  const parsed: Parsed = { order: [], entries: new Map(), other: new Map() };
  splitLines(text).lines.forEach((line, i) => {
    const key = entryKey(line, database);
    if (key === null || parsed.entries.has(key)) parsed.other.set(i, line);
    else {
      parsed.order.push(key);
      parsed.entries.set(key, line);
    }
  });
  return parsed;
}

function unite(a: string, b: string): string {
  const members = a.split(',').filter(Boolean);
  for (const m of b.split(',').filter(Boolean)) if (!members.includes(m)) members.push(m);
  return members.join(',');
}

/** Merges one entry present on both sides; null means a real conflict. */
function mergeEntry(
  database: string,
  base: string | undefined,
  local: string,
  upstream: string,
): string | null {
  if (local === upstream) return local;
  if (base !== undefined && local === base) return upstream;
  if (base !== undefined && upstream === base) return local;
  const memberFields = MEMBER_FIELDS[database];
  if (!memberFields) return null;
  const l = local.split(':');
  const u = upstream.split(':');
  const b = base?.split(':');
  if (l.length !== u.length) return null;
  const out: string[] = [];
  for (let i = 0; i < l.length; i++) {
    const lv = l[i] as string;
    const uv = u[i] as string;
    const bv = b?.[i];
    if (lv === uv) out.push(lv);
    else if (memberFields.includes(i)) out.push(unite(lv, uv));
    else if (bv !== undefined && lv === bv) out.push(uv);
    else if (bv !== undefined && uv === bv) out.push(lv);
    else return null;
  }
  return out.join(':');
}

export function mergeAccountDatabase(
  database: string,
  baseText: string,
  localText: string,
  upstreamText: string,
): TextMerge {
  const base = parse(baseText, database);
  const local = parse(localText, database);
  const upstream = parse(upstreamText, database);
  const out: string[] = [];
  const conflicts: ConflictHunk[] = [];
  const conflict = (l: string[], b: string[], u: string[]): void => {
    conflicts.push({ line: out.length + 1, base: b, local: l, upstream: u });
    out.push(...conflictBlock(l, b, u));
  };
  const emit = (key: string): void => {
    const b = base.entries.get(key);
    const l = local.entries.get(key);
    const u = upstream.entries.get(key);
    if (l !== undefined && u !== undefined) {
      const merged = mergeEntry(database, b, l, u);
      if (merged === null) conflict([l], b === undefined ? [] : [b], [u]);
      else out.push(merged);
    } else if (l !== undefined) {
      // Gone upstream: drop it when the local side never touched it, conflict when it did.
      if (b === undefined) out.push(l);
      else if (l !== b) conflict([l], [b], []);
    } else if (u !== undefined) {
      if (b === undefined) out.push(u);
      else if (u !== b) conflict([], [b], [u]);
    }
  };
  const localLines = splitLines(localText).lines;
  const done = new Set<string>();
  localLines.forEach((line, i) => {
    const other = local.other.get(i);
    if (other !== undefined) {
      out.push(other);
      return;
    }
    const key = entryKey(line, database) as string;
    done.add(key);
    emit(key);
  });
  // Entries deleted locally but changed upstream surface as conflicts; unchanged ones stay deleted.
  for (const key of base.order) {
    if (done.has(key) || local.entries.has(key)) continue;
    done.add(key);
    const b = base.entries.get(key) as string;
    const u = upstream.entries.get(key);
    if (u !== undefined && u !== b) conflict([], [b], [u]);
  }
  for (const key of upstream.order) {
    if (done.has(key)) continue;
    done.add(key);
    emit(key);
  }
  const finalNewline = splitLines(localText).finalNewline || splitLines(upstreamText).finalNewline;
  return { merged: joinLines(out, finalNewline), conflicts };
}
