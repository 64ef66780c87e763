import type { TreeChange } from './tree-compare.ts';

/**
 * snapper's `status` letters for a tree change, for showing a comparison the way snapper users read
 * it: six columns, `+` created, `-` deleted, `c` content, `t` type; then `p` permissions, `u` user,
 * `g` group, `x` extended attributes, `a` ACL. Hindsight does not compare extended attributes or ACLs
 * (Node has no listxattr), so the last two columns are always `.`.
 */
export function snapperLetters(change: TreeChange): string {
  if (change.status === 'added') return '+.....';
  if (change.status === 'removed') return '-.....';
  const has = (what: TreeChange['changes'][number]): boolean => change.changes.includes(what);
  // A type change hides content, as in snapper, which compares content only within one type.
  const first = has('type') ? 't' : has('content') || has('target') ? 'c' : '.';
  return `${first}${has('mode') ? 'p' : '.'}${has('owner') ? 'u' : '.'}${has('group') ? 'g' : '.'}..`;
}

export interface SnapperStatusLine {
  letters: string;
  /** As snapper prints it: absolute within the snapshot, leading slash. */
  path: string;
}

/**
 * Parses `snapper status A..B` output (`c..... /etc/x` per line). snapper prints names as they are,
 * so a name holding a newline cannot be told from two lines; callers compare such trees otherwise.
 */
export function parseSnapperStatus(text: string): SnapperStatusLine[] {
  const out: SnapperStatusLine[] = [];
  for (const line of text.split('\n')) {
    const m = /^([+\-ct.][p.][u.][g.][x.][a.]) (\/.*)$/.exec(line);
    if (m) out.push({ letters: m[1] as string, path: m[2] as string });
  }
  return out;
}
