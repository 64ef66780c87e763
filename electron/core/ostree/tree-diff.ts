import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HindsightError } from '../../../shared/errors.ts';
import type { FileCounts } from '../../../shared/types.ts';
import { readCommitObject } from './commit-object.ts';
import { parseGVariant } from './gvariant.ts';

/**
 * What `ostree diff REV REV` counts, read straight from the repository's dirtree objects instead of
 * through an `ostree` process: subtrees with the same contents checksum are skipped unopened, as
 * ostree_diff_dirs does, so the cost follows the size of the change, not of the tree.
 */

interface DirTree {
  /** Name → file object checksum (hex). */
  files: Map<string, string>;
  /** Name → contents (dirtree) and metadata (dirmeta) checksums (hex). */
  dirs: Map<string, { tree: string; meta: string }>;
}

/** Dirtree objects by checksum: content-addressed, so they never change. */
const trees = new Map<string, DirTree>();
const TREES_LIMIT = 20_000;

function loadDirTree(repo: string, checksum: string): DirTree {
  const key = `${repo}\0${checksum}`;
  const known = trees.get(key);
  if (known) return known;
  const bytes = readFileSync(join(repo, 'objects', checksum.slice(0, 2), `${checksum.slice(2)}.dirtree`));
  const [files, dirs] = parseGVariant('(a(say)a(sayay))', bytes) as [
    [string, Buffer][],
    [string, Buffer, Buffer][],
  ];
  const tree: DirTree = { files: new Map(), dirs: new Map() };
  for (const [name, csum] of files) tree.files.set(name, checked(name, csum));
  for (const [name, contents, meta] of dirs) {
    tree.dirs.set(name, { tree: checked(name, contents), meta: checked(name, meta) });
  }
  if (trees.size >= TREES_LIMIT) trees.clear();
  trees.set(key, tree);
  return tree;
}

function checked(name: string, csum: Buffer): string {
  // ostree diff prints one line per path; a name with a newline would print as two, so only the
  // ostree process itself can say how it counts such a tree.
  if (name.includes('\n') || csum.length !== 32) {
    throw new HindsightError('unsupported', 'tree needs ostree diff itself');
  }
  return csum.toString('hex');
}

/** Everything under an added directory counts as added, as diff_add_dir_recurse lists it. */
function descendants(repo: string, checksum: string): number {
  const tree = loadDirTree(repo, checksum);
  let n = tree.files.size + tree.dirs.size;
  for (const dir of tree.dirs.values()) n += descendants(repo, dir.tree);
  return n;
}

function diffDirs(repo: string, a: string, b: string, counts: FileCounts): void {
  // The fast path of ostree_diff_dirs: same contents, nothing to see (directory metadata aside).
  if (a === b) return;
  const ta = loadDirTree(repo, a);
  const tb = loadDirTree(repo, b);
  for (const [name, csum] of ta.files) {
    const other = tb.files.get(name);
    // A file object's checksum covers its type, mode and owner, so a type change differs too.
    if (other !== undefined) {
      if (other !== csum) counts.modified++;
    } else if (tb.dirs.has(name)) counts.modified++;
    else counts.removed++;
  }
  for (const [name, dir] of ta.dirs) {
    const other = tb.dirs.get(name);
    if (other) {
      if (other.meta !== dir.meta) counts.modified++;
      diffDirs(repo, dir.tree, other.tree, counts);
    } else if (tb.files.has(name)) counts.modified++;
    else counts.removed++;
  }
  for (const name of tb.files.keys()) if (!ta.files.has(name) && !ta.dirs.has(name)) counts.added++;
  for (const [name, dir] of tb.dirs) {
    if (ta.dirs.has(name) || ta.files.has(name)) continue;
    counts.added += 1 + descendants(repo, dir.tree);
  }
}

/**
 * Files added, removed and modified between two commits, counted as `ostree diff` prints them.
 * Throws when an object is missing or unreadable; callers fall back to `ostree diff` then.
 */
export function commitTreeCounts(repo: string, from: string, to: string): FileCounts {
  const counts: FileCounts = { added: 0, removed: 0, modified: 0 };
  diffDirs(repo, readCommitObject(repo, from).rootTree, readCommitObject(repo, to).rootTree, counts);
  return counts;
}
