import type { SnapperChange, SnapperOperationResult } from '../../shared/snapper.ts';
import type { SnapperPackageDelta, SnapperSnapshotRef } from '../../shared/types.ts';
import type { SnapshotDriftResult, SnapshotFilesResult } from '../core/snapper/files.ts';
import type { SnapperSnapshot } from '../core/snapper/snapper-list.ts';
import type { SnapperRootReport } from '../core/snapper/snapshots.ts';
import { packageDeltaText, paint, shortDate, showPath, table } from './format.ts';

/**
 * Human output for a snapper root. Its first line names what was read ("snapper root /mnt (config
 * root)"), and the rest speaks snapper's words: snapshots, pre/post, default and active.
 */

function userdataText(userdata: Record<string, string>): string {
  return Object.entries(userdata)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
}

/** snapper's own flags, in its words: `active` is mounted at the root, `default` boots next. */
function flags(s: SnapperSnapshot | null): string[] {
  if (!s) return [];
  const out: string[] = [];
  if (s.active) out.push(paint('green', 'active'));
  if (s.default) out.push(paint('cyan', 'default'));
  return out;
}

/** A pre/post pair's flags name the half they belong to: "default (3)". */
function pairFlags(pre: SnapperSnapshot | null, post: SnapperSnapshot | null): string {
  return [pre, post].flatMap((s) => (s ? flags(s).map((f) => `${f} (${s.number})`) : [])).join(', ');
}

export function formatSnapperStatus(report: SnapperRootReport, heading: string): string {
  const rows = [['', '#', 'TYPE', 'DATE', 'CLEANUP', 'DESCRIPTION', 'USERDATA', 'STATE']];
  const mark = (active: boolean): string => (active ? paint('green', '●') : ' ');
  const current = report.snapshots.find((s) => s.number === 0);
  if (current)
    rows.push([
      mark(current.active),
      '0',
      'current',
      '-',
      '',
      current.description,
      '',
      flags(current).join(', '),
    ]);
  // A pre and its post are one change (one zypper, apt or pacman run): one row, `PRE..POST` as
  // snapper's own `status PRE..POST` names the pair.
  for (const c of report.changes) {
    if (c.kind === 'single') {
      const s = c.snapshot;
      rows.push([
        mark(s.active),
        String(s.number),
        'single',
        shortDate(s.date),
        s.cleanup,
        s.description,
        userdataText(s.userdata),
        flags(s).join(', '),
      ]);
      continue;
    }
    const { pre, post } = c;
    const first = (pre ?? post) as SnapperSnapshot;
    rows.push([
      mark(!!(pre?.active || post?.active)),
      pre && post ? `${pre.number}..${post.number}` : String(first.number),
      pre && post ? 'pre/post' : pre ? 'pre (no post)' : `post (of ${post?.preNumber})`,
      shortDate(first.date),
      first.cleanup,
      c.description,
      userdataText(c.userdata),
      pairFlags(pre, post),
    ]);
  }
  const lines = [heading, '', table(rows), ''];
  const next = report.snapshots.find((s) => s.default);
  const { defaultSubvolume: def, activeSubvolume: act } = report;
  lines.push(
    `Boots next: ${next ? `snapshot ${next.number}` : 'no snapshot'} (default subvolume ${def.path}).`,
    `Active (mounted at ${report.root}): ${act.number !== null ? `snapshot ${act.number}` : act.path}${act.readOnly ? ', read-only' : ''}.`,
  );
  return `${lines.join('\n')}\n`;
}

function describeSnapperSide(s: SnapperSnapshotRef): string {
  if (s.number === 0) return 'snapshot 0: current (the live root)';
  const type = s.type === 'post' ? `post of ${s.preNumber}` : s.type;
  return `snapshot ${s.number} (${type}): ${s.description || 'no description'} (${shortDate(s.date)})`;
}

export function formatSnapperPackageDelta(delta: SnapperPackageDelta, heading: string): string {
  return `${heading}\n${packageDeltaText(describeSnapperSide(delta.from), describeSnapperSide(delta.to), delta, '')}`;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** snapper status's six columns: + created, - deleted, c content, t type; p, u, g; x and a never checked. */
function statusLetters(e: SnapshotFilesResult['entries'][number]): string {
  if (e.status === 'added') return '+.....';
  if (e.status === 'removed') return '-.....';
  const has = (c: (typeof e.changes)[number]): boolean => e.changes.includes(c);
  const first = has('type') ? 't' : has('content') || has('target') ? 'c' : '.';
  return `${first}${has('mode') ? 'p' : '.'}${has('owner') ? 'u' : '.'}${has('group') ? 'g' : '.'}..`;
}

const LETTER_STYLE = { added: 'green', removed: 'red', modified: 'yellow' } as const;

export function formatSnapperFiles(report: SnapshotFilesResult, heading: string): string {
  const lines = [heading, `<<< ${describeSnapperSide(report.from)}`, `>>> ${describeSnapperSide(report.to)}`];
  if (report.paths.length) lines.push(`Only under: ${report.paths.map((p) => `/${p}`).join(', ')}`);
  lines.push('');
  for (const e of report.entries) {
    const what = e.status === 'modified' ? `  (${e.changes.join(', ')})` : '';
    const dir = (e.to ?? e.from)?.type === 'directory' ? '/' : '';
    lines.push(`${paint(LETTER_STYLE[e.status], statusLetters(e))} ${showPath(e)}${dir}${what}`);
  }
  if (report.entries.length) lines.push('');
  const { added, removed, modified } = report.counts;
  lines.push(
    report.entries.length ? `${added} added, ${removed} removed, ${modified} modified.` : 'No files differ.',
  );
  if (report.notEntered > 0)
    lines.push(
      `Not entered: ${report.notEntered} nested subvolume${report.notEntered === 1 ? ' or mount point' : 's or mount points'} (snapper does not compare them either).`,
    );
  return `${lines.join('\n')}\n`;
}

const DRIFT_STYLE = {
  modified: 'yellow',
  missing: 'red',
  replaced: 'red',
  unreadable: 'magenta',
  unchecked: 'dim',
} as const;

export function formatSnapperDrift(report: SnapshotDriftResult, heading: string): string {
  const lines = [
    heading,
    `Config files of ${describeSnapperSide(report.snapshot)}`,
    `against the ${report.format} database (${report.source}):`,
    '',
  ];
  if (report.entries.length) {
    const rows = [['STATUS', 'RPM -V', 'PATH', 'PACKAGE', 'WHAT CHANGED']];
    for (const e of report.entries)
      rows.push([
        paint(DRIFT_STYLE[e.status], e.status),
        e.letters || '-',
        e.path,
        e.package,
        e.reason ?? e.changes.join(', '),
      ]);
    lines.push(table(rows), '');
  }
  lines.push(
    `${plural(report.entries.length, 'config file')} not as installed, ${report.unchangedCount} unchanged.`,
  );
  if (report.pending.length) {
    lines.push('', `${plural(report.pending.length, 'pending merge')}:`);
    for (const p of report.pending) {
      const owners = p.owners.length ? ` (${p.owners.join(', ')})` : '';
      const what =
        p.holds === 'upstream'
          ? "the package's new version, not merged into"
          : 'a local version moved aside from';
      lines.push(`  pending merge  ${p.mergePath}: ${what} ${p.path}${owners}`);
    }
  }
  for (const problem of report.problems) lines.push(`note: ${problem}`);
  return `${lines.join('\n')}\n`;
}

/** One change snapper recorded, for `history`: a pre/post pair is one change. */
export interface SnapperHistoryEntry {
  kind: SnapperChange['kind'];
  /** The single snapshot's number, else null. */
  number: number | null;
  pre: number | null;
  post: number | null;
  description: string;
  userdata: Record<string, string>;
  /** When it started (the pre's date, or the single's). */
  date: string | null;
  /** When it ended (the post's date); null for a single, or a pre whose post never came. */
  endDate: string | null;
  user: string;
  cleanup: string;
  default: boolean;
  active: boolean;
}

/** The changes of a root, newest first (by the latest snapshot each holds). */
export function snapperHistory(report: SnapperRootReport): SnapperHistoryEntry[] {
  const out = report.changes.map((c): SnapperHistoryEntry & { last: number } => {
    if (c.kind === 'single') {
      const s = c.snapshot;
      return {
        kind: c.kind,
        number: s.number,
        pre: null,
        post: null,
        description: c.description,
        userdata: s.userdata,
        date: s.date,
        endDate: null,
        user: s.user,
        cleanup: s.cleanup,
        default: s.default,
        active: s.active,
        last: s.number,
      };
    }
    const first = (c.pre ?? c.post) as SnapperSnapshot;
    return {
      kind: c.kind,
      number: null,
      pre: c.pre?.number ?? null,
      post: c.post?.number ?? null,
      description: c.description,
      userdata: c.userdata,
      date: c.pre ? c.pre.date : null,
      endDate: c.post?.date ?? null,
      user: first.user,
      cleanup: first.cleanup,
      default: !!(c.pre?.default || c.post?.default),
      active: !!(c.pre?.active || c.post?.active),
      last: Math.max(c.pre?.number ?? 0, c.post?.number ?? 0),
    };
  });
  return out.sort((a, b) => b.last - a.last).map(({ last: _, ...entry }) => entry);
}

export function formatSnapperHistory(entries: SnapperHistoryEntry[], total: number, heading: string): string {
  if (!entries.length) return `${heading}\nsnapper has recorded no changes yet.\n`;
  const rows = [['#', 'TYPE', 'STARTED', 'ENDED', 'USER', 'DESCRIPTION', 'USERDATA']];
  for (const e of entries) {
    rows.push([
      e.number !== null ? String(e.number) : `${e.pre ?? '?'}..${e.post ?? '?'}`,
      e.kind === 'single'
        ? 'single'
        : e.pre === null
          ? `post (pre gone)`
          : e.post === null
            ? 'pre (no post)'
            : 'pre/post',
      shortDate(e.date),
      e.kind === 'single' ? '' : shortDate(e.endDate),
      e.user,
      e.description,
      userdataText(e.userdata),
    ]);
  }
  const more = total > entries.length ? `\n${total - entries.length} older not shown (--limit).` : '';
  return `${heading}\n\n${table(rows)}\n${more ? `${more.slice(1)}\n` : ''}`;
}

/** A change the helper made: its one-line message, what boots next, and how to undo it. */
export function formatSnapperOperation(result: SnapperOperationResult): string {
  const lines = [result.message];
  const next = result.status.snapshots.find((s) => s.default);
  if (next) lines.push(`Boots next: snapshot ${next.number} (${next.description || 'no description'}).`);
  const pending = result.status.pendingRollback;
  if (pending)
    lines.push(
      `Rolled back to snapshot ${pending.target}; undo before the reboot: hindsight rollback --undo`,
    );
  if (result.backupId) lines.push(`Undo: hindsight etc undo ${result.backupId}`);
  return `${lines.join('\n')}\n`;
}
