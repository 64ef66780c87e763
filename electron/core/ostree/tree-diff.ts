import { HindsightError } from '../../../shared/errors.ts';
import type {
  FileChangeCounts,
  FileChangeEntry,
  FileChangeKind,
  FileCounts,
  FileMeta,
} from '../../../shared/types.ts';
import { encodeEtcPath } from '../etc/etc-tree.ts';
import {
  type ContentMode,
  childNode,
  contentMode,
  explainMissing,
  loadDirTree,
  nodeMeta,
  pathNames,
  sameContent,
  type TreeNode,
} from './commit-file.ts';
import { readCommitObject } from './commit-object.ts';

/**
 * Files between two commits, as `ostree diff REV REV` sees them, read straight from the
 * repository's dirtree objects instead of through an `ostree` process: subtrees with the same
 * contents checksum are skipped unopened, as ostree_diff_dirs does, so the cost follows the size of
 * the change, not of the tree.
 *
 * What ostree diff prints, and so what is listed here: a path whose object differs (a folder whose
 * dirmeta differs, then its contents compared too); a path whose type changed, once, without what
 * is under it on either side; a removed folder once, without its contents; an added folder and
 * everything under it. The root folder's own metadata is never compared.
 */

type Status = FileChangeEntry['status'];
/** Paths are latin1 text (one char per byte) until they are handed out. */
type Emit = (status: Status, path: string, a: TreeNode | null, b: TreeNode | null) => void;

/** Tree order: names in byte order, merged across files and folders, each folder before its contents. */
function sortedNames(
  ta: { files: Map<string, unknown>; dirs: Map<string, unknown> },
  tb: typeof ta,
): string[] {
  const names = new Set<string>();
  for (const tree of [ta, tb]) {
    for (const name of tree.files.keys()) names.add(name);
    for (const name of tree.dirs.keys()) names.add(name);
  }
  // latin1 strings compare by code unit, that is byte by byte.
  return [...names].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
}

function diffDirs(repo: string, a: string, b: string, path: string, emit: Emit): void {
  // The fast path of ostree_diff_dirs: same contents, nothing to see (directory metadata aside).
  if (a === b) return;
  const ta = loadDirTree(repo, a);
  const tb = loadDirTree(repo, b);
  for (const name of sortedNames(ta, tb)) {
    diffNodes(repo, childNode(ta, name), childNode(tb, name), `${path}/${name}`, emit);
  }
}

function diffNodes(repo: string, a: TreeNode | null, b: TreeNode | null, path: string, emit: Emit): void {
  if (a && b) {
    if (a.kind === 'dir' && b.kind === 'dir') {
      if (a.meta !== b.meta) emit('modified', path, a, b);
      diffDirs(repo, a.tree, b.tree, path, emit);
    } else if (a.kind === 'file' && b.kind === 'file') {
      // A file object's checksum covers its type, mode, owner and xattrs, not only its bytes.
      if (a.checksum !== b.checksum) emit('modified', path, a, b);
    } else emit('modified', path, a, b);
  } else if (a) emit('removed', path, a, null);
  else if (b) {
    emit('added', path, null, b);
    if (b.kind === 'dir') addAll(repo, b.tree, path, emit);
  }
}

/** Everything under an added folder is added too, as diff_add_dir_recurse lists it. */
function addAll(repo: string, tree: string, path: string, emit: Emit): void {
  const t = loadDirTree(repo, tree);
  for (const name of sortedNames(t, { files: new Map(), dirs: new Map() })) {
    const node = childNode(t, name) as TreeNode;
    emit('added', `${path}/${name}`, null, node);
    if (node.kind === 'dir') addAll(repo, node.tree, `${path}/${name}`, emit);
  }
}

/**
 * The part of the diff under `names`: the walk goes down both trees together, as ostree diff's
 * would, and stops where it would print nothing below (same contents, a type change, a removed
 * folder, a file on the way); under an added folder everything is added.
 */
function diffUnder(repo: string, rootA: TreeNode, rootB: TreeNode, names: string[], emit: Emit): void {
  if (names.length === 0) {
    diffDirs(repo, (rootA as { tree: string }).tree, (rootB as { tree: string }).tree, '', emit);
    return;
  }
  let a: TreeNode | null = rootA;
  let b: TreeNode | null = rootB;
  let path = '';
  for (const name of names) {
    if (a && b) {
      if (a.kind !== 'dir' || b.kind !== 'dir' || a.tree === b.tree) return;
    } else if (a || b?.kind !== 'dir') return;
    a = a?.kind === 'dir' ? childNode(loadDirTree(repo, a.tree), name) : null;
    b = b?.kind === 'dir' ? childNode(loadDirTree(repo, b.tree), name) : null;
    path += `/${name}`;
    if (!a && !b) return;
  }
  diffNodes(repo, a, b, path, emit);
}

/** Compares names component by component: the tree order the entries come in. */
function compareNames(x: string[], y: string[]): number {
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const [p, q] = [x[i] as string, y[i] as string];
    if (p !== q) return p < q ? -1 : 1;
  }
  return x.length - y.length;
}

/** The given subtrees in tree order, each once: one inside another adds nothing to it. */
function subtrees(paths: (string | Buffer)[]): string[][] {
  const sorted = paths.map(pathNames).sort(compareNames);
  const kept: string[][] = [];
  for (const names of sorted) {
    const last = kept[kept.length - 1];
    if (last && last.length <= names.length && last.every((n, i) => names[i] === n)) continue;
    kept.push(names);
  }
  return kept;
}

function roots(repo: string, from: string, to: string): [TreeNode, TreeNode] {
  const a = readCommitObject(repo, from);
  const b = readCommitObject(repo, to);
  return [
    { kind: 'dir', tree: a.rootTree, meta: a.rootMeta },
    { kind: 'dir', tree: b.rootTree, meta: b.rootMeta },
  ];
}

/** What differs between two entries of the same path, from their metadata (and bytes, when needed). */
function changesOf(repo: string, mode: ContentMode, a: TreeNode, b: TreeNode, from: FileMeta, to: FileMeta) {
  const changes: FileChangeKind[] = [];
  if (from.type !== to.type) changes.push('type');
  else if (from.type === 'symlink' && from.target !== to.target) changes.push('target');
  else if (
    from.type === 'file' &&
    a.kind === 'file' &&
    b.kind === 'file' &&
    !sameContent(repo, mode, a.checksum, b.checksum)
  ) {
    changes.push('content');
  }
  // Permissions of different kinds of file do not compare, and a symlink's are always 0777.
  if (from.type === to.type && from.type !== 'symlink' && from.mode !== to.mode) changes.push('mode');
  if (from.uid !== to.uid) changes.push('owner');
  if (from.gid !== to.gid) changes.push('group');
  return changes;
}

export interface TreeDiffOptions {
  /** Only these subtrees (paths from the root; a leading `/` optional): the walk is pruned to them. */
  paths?: (string | Buffer)[];
}

export interface TreeDiff {
  entries: FileChangeEntry[];
  counts: FileChangeCounts;
}

/**
 * Every path that differs between two commits' trees, as `ostree diff` lists them (see the top of
 * this file), in tree order, paths from the root with a leading `/`. `changes` of a modified entry
 * names what differs; it is empty when only extended attributes do (they are not shown). The
 * repository must be bare, bare-user-only or archive (else 'unsupported'); a commit it does not
 * hold is 'no-such-commit', one not downloaded in full 'not-downloaded'.
 */
export function commitTreeDiff(
  repo: string,
  from: string,
  to: string,
  options: TreeDiffOptions = {},
): TreeDiff {
  const mode = contentMode(repo);
  // No paths, or an empty list, is the whole tree.
  const selected = options.paths?.length ? subtrees(options.paths) : [[]];
  const [rootA, rootB] = roots(repo, from, to);
  const entries: FileChangeEntry[] = [];
  const counts: FileChangeCounts = { added: 0, removed: 0, modified: 0 };
  const emit: Emit = (status, path, a, b) => {
    const fromMeta = a ? nodeMeta(repo, mode, a) : null;
    const toMeta = b ? nodeMeta(repo, mode, b) : null;
    const changes =
      status === 'modified' && a && b && fromMeta && toMeta
        ? changesOf(repo, mode, a, b, fromMeta, toMeta)
        : [];
    entries.push({
      ...encodeEtcPath(Buffer.from(path, 'latin1')),
      status,
      changes,
      from: fromMeta,
      to: toMeta,
    });
    counts[status]++;
  };
  try {
    for (const names of selected) diffUnder(repo, rootA, rootB, names, emit);
  } catch (error) {
    throw explainMissing(error, repo, [from, to]);
  }
  return { entries, counts };
}

/**
 * Files added, removed and modified between two commits, counted as `ostree diff` prints them.
 * Only dirtree and dirmeta checksums are read, so any repo mode will do. Throws when an object is
 * missing or unreadable; callers fall back to `ostree diff` then.
 */
export function commitTreeCounts(repo: string, from: string, to: string): FileCounts {
  const counts: FileCounts = { added: 0, removed: 0, modified: 0 };
  const [rootA, rootB] = roots(repo, from, to);
  diffUnder(repo, rootA, rootB, [], (status, path) => {
    // ostree diff prints one line per path; a name with a newline would print as two, so only the
    // ostree process itself can say how it counts such a tree.
    if (path.includes('\n')) throw new HindsightError('unsupported', 'tree needs ostree diff itself');
    counts[status]++;
  });
  return counts;
}
