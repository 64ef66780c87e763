import { closeSync, lstatSync, readlinkSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { HindsightError } from '../../../shared/errors.ts';
import type {
  EtcFileSide,
  FileChangeCounts,
  FileChangeEntry,
  FileMeta,
  SnapshotRef,
  StatusReport,
  TreeFileView,
} from '../../../shared/types.ts';
import { openRegularFile } from '../confined-fs.ts';
import { lineHunks } from '../etc/etc-drift.ts';
import { LARGE_FILE_BYTES, textOf } from '../etc/etc-tree.ts';
import { fileTypeOf } from '../file-type.ts';
import { type FileOwners, fileOwners } from '../packages/file-owners.ts';
import { readTreePackages } from '../packages/package-source.ts';
import { readCommitFile } from './commit-file.ts';
import { resolveSnapshot, type SnapshotTarget } from './selectors.ts';
import { deploymentPath, repoPath } from './sysroot.ts';
import { commitTreeDiff } from './tree-diff.ts';

/**
 * Files between two deployments or commits (`hindsight files diff`, Compare → Files): ostree diff's
 * view of the two commits (tree-diff.ts), each path with the package that owns it where the side's
 * package database says, and one file of a deployment or commit (`hindsight files show`).
 */

export interface FilesDiff {
  from: SnapshotRef;
  to: SnapshotRef;
  entries: (FileChangeEntry & { package?: string })[];
  counts: FileChangeCounts;
}

/**
 * Owners by deployment folder. A deployment's package database lives in its commit (usr/), which
 * never changes under it, so the helper builds each map once instead of on every view of the list.
 */
const ownersByTree = new Map<string, FileOwners | null>();
const OWNERS_KEPT = 8;

/**
 * The package database of a side, when it is checked out (a deployment); a commit's is not read.
 * `keep`: build the whole map and keep it (the helper, asked again and again); else read only the
 * paths asked about (the CLI, asked once).
 */
function ownersOf(
  report: StatusReport,
  target: SnapshotTarget,
  paths: string[],
  keep: boolean,
): FileOwners | null {
  if (target.kind !== 'deployment') return null;
  const tree = deploymentPath(report.sysroot, target.deployment);
  if (ownersByTree.has(tree)) return ownersByTree.get(tree) ?? null;
  const list = readTreePackages(tree);
  if (!list) return null;
  if (!keep) return fileOwners(tree, list.format, { only: paths });
  const owners = fileOwners(tree, list.format);
  if (ownersByTree.size >= OWNERS_KEPT) ownersByTree.delete(ownersByTree.keys().next().value as string);
  ownersByTree.set(tree, owners);
  return owners;
}

export function filesDiff(
  report: StatusReport,
  fromSelector: string,
  toSelector: string,
  paths: string[] = [],
  options: { keepOwners?: boolean } = {},
): FilesDiff {
  const from = resolveSnapshot(report, fromSelector);
  const to = resolveSnapshot(report, toSelector);
  const { entries, counts } = commitTreeDiff(
    repoPath(report.sysroot),
    from.ref.checksum,
    to.ref.checksum,
    paths.length ? { paths } : {},
  );
  // A removed file belonged to a package of the older side, anything else to one of the newer.
  const sides = new Map<'from' | 'to', FileOwners | null>();
  const ownersFor = (side: 'from' | 'to'): FileOwners | null => {
    if (!sides.has(side)) {
      const asked = entries
        .filter((e) => (e.status === 'removed') === (side === 'from') && e.pathBase64 === undefined)
        .map((e) => e.path);
      sides.set(side, ownersOf(report, side === 'from' ? from : to, asked, options.keepOwners === true));
    }
    return sides.get(side) ?? null;
  };
  const owned = entries.map((entry) => {
    const owners = ownersFor(entry.status === 'removed' ? 'from' : 'to');
    const pkg = entry.pathBase64 === undefined ? owners?.lookup(entry.path) : null;
    return pkg ? { ...entry, package: pkg } : entry;
  });
  return { from: from.ref, to: to.ref, entries: owned, counts };
}

/** A file too large to print or show whole is not read into memory. */
const MAX_SHOW_BYTES = 64 * 1024 * 1024;

interface SnapshotNode {
  meta: FileMeta;
  /** A regular file's bytes; null for anything else, or a file over the limit. */
  content: Buffer | null;
}

/**
 * One path of a deployment or a commit: a deployment's /etc is its own (the local file, not the
 * image's), everything else comes from the commit in the repository. Links are never followed;
 * null when nothing is there.
 */
function readSnapshotNode(
  report: StatusReport,
  target: SnapshotTarget,
  rel: string,
  maxSize: number,
): SnapshotNode | null {
  if (rel.split('/').includes('..')) throw new HindsightError('bad-path', `"/${rel}": no .. in paths`);
  if (target.kind === 'deployment' && (rel === 'etc' || rel.startsWith('etc/'))) {
    const root = deploymentPath(report.sysroot, target.deployment);
    let here = root;
    for (const name of rel.split('/').slice(0, -1)) {
      here = join(here, name);
      const st = lstatSync(here, { throwIfNoEntry: false });
      if (!st) return null;
      if (!st.isDirectory())
        throw new HindsightError('bad-path', `/${rel}: a link or file on the way; links are not followed`);
    }
    const path = join(root, rel);
    const st = lstatSync(path, { throwIfNoEntry: false });
    if (!st) return null;
    const meta: FileMeta = {
      type: fileTypeOf(st.mode),
      mode: st.mode & 0o7777,
      uid: st.uid,
      gid: st.gid,
      size: st.size,
    };
    if (st.isSymbolicLink()) meta.target = readlinkSync(path, 'utf8');
    if (!st.isFile() || st.size > maxSize) return { meta, content: null };
    const fd = openRegularFile(Buffer.from(path));
    try {
      const content = Buffer.alloc(st.size);
      let done = 0;
      while (done < content.length) {
        const n = readSync(fd, content, done, content.length - done, done);
        if (n === 0) break;
        done += n;
      }
      return { meta, content: content.subarray(0, done) };
    } finally {
      closeSync(fd);
    }
  }
  try {
    return readCommitFile(repoPath(report.sysroot), target.ref.checksum, rel, { maxSize });
  } catch (error) {
    if (error instanceof HindsightError && error.code === 'bad-path' && /^no /.test(error.message))
      return null;
    throw error;
  }
}

const relOf = (path: string): string => path.replace(/^\/+/, '');

/** One file of a deployment or a commit (`hindsight files show`). */
export function showFile(report: StatusReport, selector: string, path: string): Buffer {
  const rel = relOf(path);
  const node = readSnapshotNode(report, resolveSnapshot(report, selector), rel, MAX_SHOW_BYTES);
  if (!node) throw new HindsightError('bad-path', `no /${rel} in ${selector}`);
  if (node.meta.type !== 'file')
    throw new HindsightError(
      'bad-path',
      `/${rel} is ${node.meta.type === 'directory' ? 'a folder' : `a ${node.meta.type}`}, not a file`,
    );
  if (!node.content) throw new HindsightError('refused', `/${rel} is larger than 64 MB`);
  return node.content;
}

function sideOf(node: SnapshotNode | null): EtcFileSide {
  if (!node) return { meta: null, content: 'none' };
  if (node.meta.type !== 'file') return { meta: node.meta, content: 'none' };
  const read = node.content ? textOf(node.content) : { kind: 'large' as const };
  return read.text !== undefined
    ? { meta: node.meta, content: read.kind, text: read.text }
    : { meta: node.meta, content: read.kind };
}

/** One path of two deployments or commits, side by side, with the line diff when both are text. */
export function fileView(
  report: StatusReport,
  fromSelector: string,
  toSelector: string,
  path: string,
): TreeFileView {
  const rel = relOf(path);
  const from = sideOf(
    readSnapshotNode(report, resolveSnapshot(report, fromSelector), rel, LARGE_FILE_BYTES + 1),
  );
  const to = sideOf(readSnapshotNode(report, resolveSnapshot(report, toSelector), rel, LARGE_FILE_BYTES + 1));
  if (!from.meta && !to.meta)
    throw new HindsightError('bad-path', `/${rel} is in neither ${fromSelector} nor ${toSelector}`);
  const view: TreeFileView = { path: `/${rel}`, from, to };
  const asText = (s: EtcFileSide): string | null =>
    s.meta === null ? '' : s.content === 'text' ? (s.text ?? '') : null;
  const before = asText(from);
  const after = asText(to);
  if (before !== null && after !== null && before !== after) view.hunks = lineHunks(before, after);
  return view;
}
