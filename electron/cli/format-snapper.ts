import type { SnapperPackageDelta, SnapperSnapshotRef } from '../../shared/types.ts';
import type { SnapperSnapshot } from '../core/snapper/snapper-list.ts';
import type { SnapperRootReport } from '../core/snapper/snapshots.ts';
import { packageDeltaText, paint, shortDate, table } from './format.ts';

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
