import { join } from 'node:path';
import { structuredPatch } from 'diff';
import type {
  DiffHunk,
  EtcChangeKind,
  EtcDriftEntry,
  EtcDriftReport,
  FileMeta,
  StatusReport,
} from '../../../shared/types.ts';
import { confineTree } from '../confined-fs.ts';
import { resolveDeployment } from '../ostree/selectors.ts';
import { deploymentPath } from '../ostree/sysroot.ts';
import { type BaseListing, type BaseTreeMemo, type BaseTreeStore, rememberedBaseTree } from './base-tree.ts';
import {
  absolute,
  compareBytes,
  contentKind,
  type EtcComparisonStore,
  encodeEtcPath,
  joinPath,
  listDirOf,
  lstatNode,
  type NodeInfo,
  readText,
  requireEtcRoot,
  sameFileBytes,
  type TextRead,
  withStoredComparisons,
} from './etc-tree.ts';

export interface DriftOptions {
  /** Attach line-diff hunks to text files whose content changed. */
  diffs?: boolean;
  /** Base trees and byte comparisons kept by an earlier process (the CLI passes the app cache). */
  store?: EtcComparisonStore & BaseTreeStore;
}

/** One changed path before it is turned into plain data. */
export interface RawDrift {
  rel: Buffer;
  status: EtcDriftEntry['status'];
  changes: EtcChangeKind[];
  base: NodeInfo | null;
  local: NodeInfo | null;
}

function meta(node: NodeInfo | null): FileMeta | null {
  if (!node) return null;
  const out: FileMeta = { type: node.type, mode: node.mode, uid: node.uid, gid: node.gid, size: node.size };
  if (node.target !== undefined) out.target = node.target;
  return out;
}

/** What changed between two existing nodes of the same path, by OSTree's rule (xattrs and times ignored). */
export function nodeChanges(
  basePath: Buffer,
  base: NodeInfo,
  localPath: Buffer,
  local: NodeInfo,
): EtcChangeKind[] {
  if (base.type !== local.type) return ['type'];
  const changes: EtcChangeKind[] = [];
  if (base.type === 'symlink') {
    if (!(base.targetBytes as Buffer).equals(local.targetBytes as Buffer)) changes.push('symlink');
  } else if (base.type === 'file') {
    // Size first, then the inode, and only then the bytes (remembered while both files stay as they are).
    if (!sameFileBytes(basePath, base, localPath, local)) changes.push('content');
  }
  if (base.mode !== local.mode && base.type !== 'symlink') changes.push('mode');
  if (base.uid !== local.uid || base.gid !== local.gid) changes.push('owner');
  return changes;
}

/**
 * Walks a base tree and a local tree once, side by side, and lists what differs: new directories with
 * everything under them, removed directories once, type changes without descending (as config-diff does).
 */
export function scanDrift(baseRoot: string, localRoot: string, memo?: BaseTreeMemo): RawDrift[] {
  // A missing root is an error, never an empty tree (every path would read as removed or added).
  requireEtcRoot(baseRoot);
  requireEtcRoot(localRoot);
  const out: RawDrift[] = [];
  const baseHead = Buffer.from(baseRoot);
  const localHead = Buffer.from(localRoot);
  const baseListing = (rel: Buffer, node: NodeInfo | null): BaseListing => {
    const read = (): BaseListing => ({
      names: listDirOf(absolute(baseHead, rel), node).sort(compareBytes),
      nodes: [],
    });
    if (!memo) return read();
    const key = rel.toString('latin1');
    let listing = memo.dirs.get(key);
    if (!listing) {
      listing = read();
      memo.dirs.set(key, listing);
    }
    return listing;
  };
  const addTree = (rel: Buffer, node: NodeInfo): void => {
    out.push({ rel, status: 'added', changes: [], base: null, local: node });
    if (node.type !== 'directory') return;
    for (const name of listDirOf(absolute(localHead, rel), node).sort(compareBytes)) {
      const child = joinPath(rel, name);
      const childNode = lstatNode(absolute(localHead, child));
      if (childNode) addTree(child, childNode);
    }
  };
  /** One name of a directory: `at` is its index in the base listing (-1: not in base). */
  const visit = (child: Buffer, listing: BaseListing, at: number, inLocal: boolean): void => {
    const basePath = absolute(baseHead, child);
    const localPath = absolute(localHead, child);
    // A name missing from a listing is missing from that tree: no lstat needed to learn it.
    let base: NodeInfo | null = null;
    if (at >= 0) {
      const known = listing.nodes[at];
      base = known === undefined ? lstatNode(basePath) : known;
      listing.nodes[at] = base;
    }
    const local = inLocal ? lstatNode(localPath) : null;
    if (base && !local) {
      out.push({ rel: child, status: 'removed', changes: [], base, local: null });
    } else if (!base && local) {
      addTree(child, local);
    } else if (base && local) {
      const changes = nodeChanges(basePath, base, localPath, local);
      if (changes.length) out.push({ rel: child, status: 'modified', changes, base, local });
      if (base.type === 'directory' && local.type === 'directory') walk(child, base, local);
    }
  };
  /** Both directories' lstat, when known, lets an unchanged directory be listed from memory. */
  const walk = (rel: Buffer, baseDirNode: NodeInfo | null, localDirNode: NodeInfo | null): void => {
    // Both listings in byte order, merged: every name once, in order, knowing which side has it.
    const listing = baseListing(rel, baseDirNode);
    const baseNames = listing.names;
    const localNames = listDirOf(absolute(localHead, rel), localDirNode).sort(compareBytes);
    let i = 0;
    let j = 0;
    while (i < baseNames.length || j < localNames.length) {
      const b = baseNames[i];
      const l = localNames[j];
      const order = b === undefined ? 1 : l === undefined ? -1 : compareBytes(b, l);
      if (order === 0) {
        visit(joinPath(rel, b as Buffer), listing, i, true);
        i++;
        j++;
      } else if (order < 0) {
        visit(joinPath(rel, b as Buffer), listing, i, false);
        i++;
      } else {
        visit(joinPath(rel, l as Buffer), listing, -1, true);
        j++;
      }
    }
  };
  walk(Buffer.alloc(0), null, null);
  return out;
}

export function toDriftEntry(
  raw: RawDrift,
  baseRoot: string,
  localRoot: string,
  options: DriftOptions,
): EtcDriftEntry {
  const entry: EtcDriftEntry = {
    ...encodeEtcPath(raw.rel),
    status: raw.status,
    changes: raw.changes,
    base: meta(raw.base),
    local: meta(raw.local),
    content: 'none',
  };
  const contentChanged = raw.status !== 'modified' || raw.changes.includes('content');
  const isFile = raw.base?.type === 'file' || raw.local?.type === 'file';
  if (!isFile || !contentChanged) return entry;
  // Without diffs only the kind of content matters, which is remembered per file state.
  const read = options.diffs
    ? readText
    : (path: Buffer, node: NodeInfo) => ({ kind: contentKind(path, node) });
  const before: TextRead =
    raw.base?.type === 'file' ? read(absolute(baseRoot, raw.rel), raw.base) : { kind: 'none' };
  const after: TextRead =
    raw.local?.type === 'file' ? read(absolute(localRoot, raw.rel), raw.local) : { kind: 'none' };
  const kinds = [before.kind, after.kind];
  entry.content = kinds.includes('large') ? 'large' : kinds.includes('binary') ? 'binary' : 'text';
  if (options.diffs && entry.content === 'text') entry.hunks = lineHunks(before.text ?? '', after.text ?? '');
  return entry;
}

/**
 * A minimal line diff costs O(lines × changed lines) (Myers): a 20,000-line file with every other
 * line rewritten took jsdiff over half a minute, holding the helper. Past this many changed lines it
 * gives up (in about 0.3 s at 20,000 lines) and the change is shown as one replaced block.
 */
const MAX_EDIT_LINES = 2000;
const CONTEXT_LINES = 3;

export function lineHunks(before: string, after: string): DiffHunk[] {
  const patch = structuredPatch('a', 'b', before, after, '', '', {
    context: CONTEXT_LINES,
    maxEditLength: MAX_EDIT_LINES,
  });
  if (!patch) return [replacedBlock(before, after)];
  return patch.hunks.map((h) => ({
    oldStart: h.oldStart,
    oldLines: h.oldLines,
    newStart: h.newStart,
    newLines: h.newLines,
    lines: h.lines,
  }));
}

/** Lines with their newline kept, so a missing final newline is a difference, as in diff(1). */
const linesOf = (text: string): string[] => (text === '' ? [] : text.split(/(?<=\n)/));

/**
 * The coarse diff: common leading and trailing lines kept as context, everything between removed
 * and added, in unified-diff form (applyPatch turns `before` into `after` with it).
 */
function replacedBlock(before: string, after: string): DiffHunk {
  const a = linesOf(before);
  const b = linesOf(after);
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (
    tail < a.length - head &&
    tail < b.length - head &&
    a[a.length - 1 - tail] === b[b.length - 1 - tail]
  )
    tail++;
  const lead = Math.min(CONTEXT_LINES, head);
  const trail = Math.min(CONTEXT_LINES, tail);
  const lines: string[] = [];
  const push = (mark: string, line: string): void => {
    lines.push(mark + line.replace(/\n$/, ''));
    if (!line.endsWith('\n')) lines.push('\\ No newline at end of file');
  };
  for (const line of a.slice(head - lead, head)) push(' ', line);
  for (const line of a.slice(head, a.length - tail)) push('-', line);
  for (const line of b.slice(head, b.length - tail)) push('+', line);
  for (const line of a.slice(a.length - tail, a.length - tail + trail)) push(' ', line);
  const oldLines = a.length - head - tail + lead + trail;
  const newLines = b.length - head - tail + lead + trail;
  // As diff(1) numbers an empty side: the line before it.
  const start = head - lead;
  return {
    oldStart: oldLines ? start + 1 : start,
    oldLines,
    newStart: newLines ? start + 1 : start,
    newLines,
    lines,
  };
}

export function etcRoots(
  sysroot: string,
  d: Parameters<typeof deploymentPath>[1],
): { base: string; local: string } {
  const tree = deploymentPath(sysroot, d);
  const roots = { base: join(tree, 'usr', 'etc'), local: join(tree, 'etc') };
  // In the root helper, everything below these is then read through link-free descriptors.
  confineTree(roots.base);
  confineTree(roots.local);
  return roots;
}

/** /etc drift of one deployment: its `etc` against its `usr/etc`. */
export function etcDrift(report: StatusReport, selector: string, options: DriftOptions = {}): EtcDriftReport {
  const deployment = resolveDeployment(report, selector);
  const { base, local } = etcRoots(report.sysroot, deployment);
  const baseTree = rememberedBaseTree(report.sysroot, deployment, base, options.store);
  const raw = withStoredComparisons(options.store, `${base}\n${local}`, () =>
    scanDrift(base, local, baseTree?.memo),
  );
  baseTree?.keep();
  const entries = raw.map((r) => toDriftEntry(r, base, local, options));
  return { deployment, entries };
}
