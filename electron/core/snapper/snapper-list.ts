import { z } from 'zod';
import { HindsightError } from '../../../shared/errors.ts';
import type { SnapperChange, SnapperSnapshot } from '../../../shared/snapper.ts';

/**
 * snapper's own snapshot list (`snapper --jsonout list`), parsed, and its pre/post snapshots paired
 * into the changes a person made (one `zypper`, `apt` or `pacman` run each). Pure: no programs run.
 */

export type { SnapperChange, SnapperSnapshot, SnapshotType } from '../../../shared/snapper.ts';

const entrySchema = z.object({
  number: z.number().int().nonnegative(),
  type: z.enum(['single', 'pre', 'post']),
  'pre-number': z.number().int().nonnegative().nullable(),
  date: z.string(),
  user: z.string(),
  cleanup: z.string(),
  description: z.string(),
  userdata: z.record(z.string(), z.string()).nullable(),
  default: z.boolean(),
  active: z.boolean(),
});

const listSchema = z.record(z.string(), z.array(entrySchema));

// snapper prints `YYYY-MM-DD HH:MM:SS` in local time unless run with --utc, which the reader always
// passes, so the text is read as UTC here.
const DATE_RE = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})$/;

function isoDate(text: string, number: number): string | null {
  if (text === '') return null;
  const m = DATE_RE.exec(text);
  if (!m)
    throw new HindsightError('unreadable', `snapper printed an unknown date for snapshot ${number}: ${text}`);
  return `${m[1]}T${m[2]}Z`;
}

/** Parses `snapper --utc --jsonout list` output for one config (snapper keys the list by config). */
export function parseSnapperList(text: string, config = 'root'): SnapperSnapshot[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new HindsightError('unreadable', 'snapper printed a snapshot list that is not JSON');
  }
  const parsed = listSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue ? `${issue.path.join('.')}: ${issue.message}` : 'unknown shape';
    throw new HindsightError('unreadable', `snapper's snapshot list has an unexpected shape (${where})`);
  }
  const entries = parsed.data[config];
  if (!entries) throw new HindsightError('unreadable', `snapper's snapshot list has no config ${config}`);
  return entries
    .map((e) => ({
      number: e.number,
      type: e.type,
      preNumber: e['pre-number'],
      date: isoDate(e.date, e.number),
      user: e.user,
      cleanup: e.cleanup,
      description: e.description,
      userdata: { ...(e.userdata ?? {}) },
      default: e.default,
      active: e.active,
    }))
    .sort((a, b) => a.number - b.number);
}

/**
 * Pairs pre and post snapshots into changes, in number order; snapshot 0 ("current") is no change.
 * A post names its pre; a pre is found by that link only, never by position.
 */
export function pairChanges(snapshots: readonly SnapperSnapshot[]): SnapperChange[] {
  const byNumber = new Map(snapshots.map((s) => [s.number, s]));
  const postOf = new Map<number, SnapperSnapshot>();
  for (const s of snapshots) {
    if (s.type === 'post' && s.preNumber !== null && byNumber.get(s.preNumber)?.type === 'pre') {
      // Two posts naming one pre should not happen; the first one keeps the pair, the other stands alone.
      if (!postOf.has(s.preNumber)) postOf.set(s.preNumber, s);
    }
  }
  const paired = new Set([...postOf.values()].map((s) => s.number));
  const changes: SnapperChange[] = [];
  for (const s of snapshots) {
    if (s.number === 0) continue;
    if (s.type === 'single') {
      changes.push({ kind: 'single', number: s.number, description: s.description, snapshot: s });
    } else if (s.type === 'pre') {
      const post = postOf.get(s.number) ?? null;
      changes.push(pairChange(s, post));
    } else if (!paired.has(s.number)) {
      changes.push(pairChange(null, s));
    }
  }
  return changes;
}

function pairChange(pre: SnapperSnapshot | null, post: SnapperSnapshot | null): SnapperChange {
  const first = (pre ?? post) as SnapperSnapshot;
  // zypper and snap-pac write the command into both halves; some hooks only into the pre.
  const description = pre?.description || post?.description || '';
  return {
    kind: 'pre-post',
    number: first.number,
    description,
    userdata: { ...(pre?.userdata ?? {}), ...(post?.userdata ?? {}) },
    pre,
    post,
  };
}
