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
import { resolveDeployment } from '../ostree/selectors.ts';
import { deploymentPath } from '../ostree/sysroot.ts';
import {
  absolute,
  compareBytes,
  encodeEtcPath,
  joinPath,
  listDir,
  lstatNode,
  type NodeInfo,
  readText,
  sameBytes,
} from './etc-tree.ts';

export interface DriftOptions {
  /** Attach line-diff hunks to text files whose content changed. */
  diffs?: boolean;
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
    const same =
      base.size === local.size &&
      ((base.dev === local.dev && base.ino === local.ino) || sameBytes(basePath, localPath, base.size));
    if (!same) changes.push('content');
  }
  if (base.mode !== local.mode && base.type !== 'symlink') changes.push('mode');
  if (base.uid !== local.uid || base.gid !== local.gid) changes.push('owner');
  return changes;
}

/**
 * Walks a base tree and a local tree once, side by side, and lists what differs: new directories with
 * everything under them, removed directories once, type changes without descending (as config-diff does).
 */
export function scanDrift(baseRoot: string, localRoot: string): RawDrift[] {
  const out: RawDrift[] = [];
  const addTree = (rel: Buffer, node: NodeInfo): void => {
    out.push({ rel, status: 'added', changes: [], base: null, local: node });
    if (node.type !== 'directory') return;
    for (const name of listDir(absolute(localRoot, rel)).sort(compareBytes)) {
      const child = joinPath(rel, name);
      const childNode = lstatNode(absolute(localRoot, child));
      if (childNode) addTree(child, childNode);
    }
  };
  const walk = (rel: Buffer): void => {
    const baseNames = listDir(absolute(baseRoot, rel));
    const localNames = listDir(absolute(localRoot, rel));
    const seen = new Set(baseNames.map((n) => n.toString('latin1')));
    const names = [...baseNames, ...localNames.filter((n) => !seen.has(n.toString('latin1')))].sort(
      compareBytes,
    );
    for (const name of names) {
      const child = joinPath(rel, name);
      const basePath = absolute(baseRoot, child);
      const localPath = absolute(localRoot, child);
      const base = lstatNode(basePath);
      const local = lstatNode(localPath);
      if (base && !local) {
        out.push({ rel: child, status: 'removed', changes: [], base, local: null });
      } else if (!base && local) {
        addTree(child, local);
      } else if (base && local) {
        const changes = nodeChanges(basePath, base, localPath, local);
        if (changes.length) out.push({ rel: child, status: 'modified', changes, base, local });
        if (base.type === 'directory' && local.type === 'directory') walk(child);
      }
    }
  };
  walk(Buffer.alloc(0));
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
  const before =
    raw.base?.type === 'file' ? readText(absolute(baseRoot, raw.rel), raw.base) : { kind: 'none' as const };
  const after =
    raw.local?.type === 'file'
      ? readText(absolute(localRoot, raw.rel), raw.local)
      : { kind: 'none' as const };
  const kinds = [before.kind, after.kind];
  entry.content = kinds.includes('large') ? 'large' : kinds.includes('binary') ? 'binary' : 'text';
  if (options.diffs && entry.content === 'text') entry.hunks = lineHunks(before.text ?? '', after.text ?? '');
  return entry;
}

export function lineHunks(before: string, after: string): DiffHunk[] {
  return structuredPatch('a', 'b', before, after, '', '', { context: 3 }).hunks.map((h) => ({
    oldStart: h.oldStart,
    oldLines: h.oldLines,
    newStart: h.newStart,
    newLines: h.newLines,
    lines: h.lines,
  }));
}

export function etcRoots(
  sysroot: string,
  d: Parameters<typeof deploymentPath>[1],
): { base: string; local: string } {
  const tree = deploymentPath(sysroot, d);
  return { base: join(tree, 'usr', 'etc'), local: join(tree, 'etc') };
}

/** /etc drift of one deployment: its `etc` against its `usr/etc`. */
export function etcDrift(report: StatusReport, selector: string, options: DriftOptions = {}): EtcDriftReport {
  const deployment = resolveDeployment(report, selector);
  const { base, local } = etcRoots(report.sysroot, deployment);
  const entries = scanDrift(base, local).map((raw) => toDriftEntry(raw, base, local, options));
  return { deployment, entries };
}
