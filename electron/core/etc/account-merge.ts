import type { ConflictHunk } from '../../../shared/types.ts';
import { conflictBlock, joinLines, splitLines, type TextMerge } from './line-merge.ts';

/**
 * Account databases merge by entry (the first `:` field), not by line: both sides' new entries are
 * kept, group member lists are united, and only an entry changed differently on both sides conflicts.
 * This is what makes "you added a user, the image added sshd" merge cleanly.
 *
 * A system account (uid or gid below 1000, or nobody/nogroup) that both images ship but the local
 * file lacks is almost never a deliberate deletion: an earlier whole-file merge kept a local copy
 * made before the image added it (DESIGN.md), and services break without it. Such entries, their
 * shadow/gshadow entries and the image's system members of a group are restored, and named in
 * `restored`; any other entry the images ship that the local file lacks is a conflict the user decides.
 */
export const ACCOUNT_DATABASES = new Set(['passwd', 'group', 'shadow', 'gshadow', 'subuid', 'subgid']);

/** Below this, an id is a system account's (Debian's and Fedora's SYS_UID_MAX is 999). */
const FIRST_USER_ID = 1000;
const NOBODY_ID = 65534;

/** The names of system accounts (passwd) or groups (group) in a database's text. */
export function systemNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of splitLines(text).lines) {
    if (!line || line.startsWith('#')) continue;
    const fields = line.split(':');
    const id = Number(fields[2]);
    if (fields[0] && Number.isInteger(id) && (id < FIRST_USER_ID || id === NOBODY_ID)) names.add(fields[0]);
  }
  return names;
}

/**
 * Which names count as system accounts for a database: its own ids for passwd and group; shadow and
 * gshadow have no ids, so the names that are system accounts in the image's passwd or group.
 */
export interface AccountContext {
  /** System account names of the new image's passwd (for shadow). */
  users?: Set<string>;
  /** System group names of the new image's group (for gshadow). */
  groups?: Set<string>;
}

function isSystemEntry(database: string, key: string, line: string, context: AccountContext): boolean {
  if (database === 'passwd' || database === 'group') return systemNames(line).has(key);
  if (database === 'shadow') return context.users?.has(key) ?? false;
  if (database === 'gshadow') return context.groups?.has(key) ?? false;
  return false;
}

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

/**
 * Members both images list in a group that the local entry lacks, when they are system accounts:
 * put back, as the entries themselves are. Returns the line with them appended, and their names.
 */
function restoreMembers(
  database: string,
  merged: string,
  base: string | undefined,
  upstream: string,
  users: Set<string> | undefined,
): { line: string; members: string[] } {
  const fields = MEMBER_FIELDS[database];
  if (!fields || base === undefined || !users) return { line: merged, members: [] };
  const out = merged.split(':');
  const b = base.split(':');
  const u = upstream.split(':');
  const restored: string[] = [];
  for (const i of fields) {
    const have = (out[i] ?? '').split(',').filter(Boolean);
    const imageBoth = (b[i] ?? '').split(',').filter((m) => m && (u[i] ?? '').split(',').includes(m));
    for (const m of imageBoth) {
      if (!have.includes(m) && users.has(m)) {
        have.push(m);
        if (!restored.includes(m)) restored.push(m);
      }
    }
    if (i < out.length) out[i] = have.join(',');
  }
  return { line: out.join(':'), members: restored };
}

export function mergeAccountDatabase(
  database: string,
  baseText: string,
  localText: string,
  upstreamText: string,
  context: AccountContext = {},
): TextMerge & { restored: string[] } {
  const base = parse(baseText, database);
  const local = parse(localText, database);
  const upstream = parse(upstreamText, database);
  const out: string[] = [];
  const conflicts: ConflictHunk[] = [];
  const restored: string[] = [];
  /** Whether names here are checked against system users (group members: the image's passwd). */
  const users = context.users;
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
      else {
        const back = restoreMembers(database, merged, b, u, users);
        out.push(back.line);
        for (const m of back.members) restored.push(`${key}: ${m}`);
      }
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
  // Entries both images ship that the local file lacks: a system account is restored (an earlier
  // merge lost it); anything else is the user's call, as is an entry the new image changed.
  // subuid/subgid lines are ranges, not accounts: one the image still ships stays deleted.
  for (const key of base.order) {
    if (done.has(key) || local.entries.has(key)) continue;
    done.add(key);
    const b = base.entries.get(key) as string;
    const u = upstream.entries.get(key);
    if (u === undefined) continue;
    if (u === b && isSystemEntry(database, key, u, context)) {
      out.push(u);
      restored.push(key);
    } else if (u !== b || (database !== 'subuid' && database !== 'subgid')) conflict([], [b], [u]);
  }
  for (const key of upstream.order) {
    if (done.has(key)) continue;
    done.add(key);
    emit(key);
  }
  const finalNewline = splitLines(localText).finalNewline || splitLines(upstreamText).finalNewline;
  return { merged: joinLines(out, finalNewline), conflicts, restored };
}
