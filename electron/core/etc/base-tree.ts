import type { Deployment, FileType } from '../../../shared/types.ts';
import { settled } from '../file-state.ts';
import { deploymentUnlocked } from '../ostree/sysroot.ts';
import { lstatNode, type NodeInfo } from './etc-tree.ts';

/** One base directory as a scan saw it: names in byte order, and each name's lstat once taken. */
export interface BaseListing {
  names: Buffer[];
  /** By name index; undefined until taken. */
  nodes: (NodeInfo | null | undefined)[];
}

/**
 * What scans learnt about a base tree (a deployment's usr/etc): shared by the two scans of a
 * three-way analysis, and by every drift of a deployment while its base tree is remembered.
 */
export interface BaseTreeMemo {
  dirs: Map<string, BaseListing>;
}

export function newBaseTreeMemo(): BaseTreeMemo {
  return { dirs: new Map() };
}

/** Keeps base trees across processes (the app cache), by folder, with the folder's state. */
export interface BaseTreeStore {
  getBaseTree(base: string): { state: string; tree: string } | undefined;
  putBaseTree(base: string, state: string, tree: string): void;
}

/**
 * A deployment's usr/etc is its commit's checkout: read-only by design (mounted so on a booted
 * system, hard links into the content-addressed repository otherwise), so its names and file
 * metadata hold for the deployment's life. What a scan learnt of it is kept, in this process and
 * through a store, by folder and the folder's own state (a redeploy under the same name is a new
 * folder). Never for an unlocked deployment, whose /usr may be written, and never for a folder
 * changed too recently to vouch for it (a deploy still being written; see file-state.ts).
 */
const baseTrees = new Map<string, { state: string; memo: BaseTreeMemo }>();
const BASE_TREES_KEPT = 4;

export interface RememberedBaseTree {
  memo: BaseTreeMemo;
  /** Call after the scan: hands a newly learnt tree to the store. */
  keep(): void;
}

export function rememberedBaseTree(
  sysroot: string,
  deployment: Deployment,
  base: string,
  store?: BaseTreeStore,
): RememberedBaseTree | undefined {
  if (deploymentUnlocked(sysroot, deployment)) return undefined;
  const node = lstatNode(Buffer.from(base));
  if (node?.type !== 'directory') return undefined;
  if (!settled(node, Date.now())) return undefined;
  const state = `${node.dev}:${node.ino}:${node.mtimeMs}:${node.ctimeMs}`;
  const nothingToKeep = { keep: () => {} };
  const known = baseTrees.get(base);
  if (known?.state === state) return { memo: known.memo, ...nothingToKeep };
  let memo: BaseTreeMemo | null = null;
  try {
    const stored = store?.getBaseTree(base);
    if (stored?.state === state) memo = unpackBaseTree(stored.tree);
  } catch {
    // an unreadable cache costs one walk of the base tree, never the answer
  }
  const fresh = memo === null;
  memo ??= newBaseTreeMemo();
  if (baseTrees.size >= BASE_TREES_KEPT) baseTrees.delete(baseTrees.keys().next().value as string);
  baseTrees.set(base, { state, memo });
  const learnt = memo;
  return {
    memo: learnt,
    keep: () => {
      if (!fresh || !store) return;
      try {
        store.putBaseTree(base, state, packBaseTree(learnt));
      } catch {
        // read-only or full cache: the next process walks the base tree again
      }
    },
  };
}

const TYPES: FileType[] = ['file', 'directory', 'symlink', 'other'];
const PACK_FORMAT = 1;

/**
 * A name and its node as one array; names and targets as latin1, so every byte survives JSON. The
 * type is an index into TYPES, or NOT_TAKEN (no lstat yet) or ABSENT (lstat found nothing).
 */
type PackedNode = [string, number, number, number, number, number, number, number, number, number, string?];
const NOT_TAKEN = -1;
const ABSENT = -2;

/** JSON, compact: [format, [[dir, [[name, type, mode, uid, gid, size, dev, ino, ctimeMs, mtimeMs, target?]…]]…]]. */
export function packBaseTree(memo: BaseTreeMemo): string {
  const dirs: [string, PackedNode[]][] = [];
  for (const [rel, listing] of memo.dirs) {
    dirs.push([
      rel,
      listing.names.map((name, i): PackedNode => {
        const n = listing.nodes[i];
        if (n === undefined) return [name.toString('latin1'), NOT_TAKEN, 0, 0, 0, 0, 0, 0, 0, 0];
        if (n === null) return [name.toString('latin1'), ABSENT, 0, 0, 0, 0, 0, 0, 0, 0];
        const packed: PackedNode = [
          name.toString('latin1'),
          TYPES.indexOf(n.type),
          n.mode,
          n.uid,
          n.gid,
          n.size,
          n.dev,
          n.ino,
          n.ctimeMs,
          n.mtimeMs,
        ];
        if (n.targetBytes) packed.push(n.targetBytes.toString('latin1'));
        return packed;
      }),
    ]);
  }
  return JSON.stringify([PACK_FORMAT, dirs]);
}

export function unpackBaseTree(text: string): BaseTreeMemo | null {
  const parsed = JSON.parse(text) as [number, [string, PackedNode[]][]];
  if (!Array.isArray(parsed) || parsed[0] !== PACK_FORMAT || !Array.isArray(parsed[1])) return null;
  const memo = newBaseTreeMemo();
  for (const [rel, entries] of parsed[1]) {
    const names: Buffer[] = new Array(entries.length);
    const nodes: (NodeInfo | null | undefined)[] = new Array(entries.length);
    for (const [i, e] of entries.entries()) {
      names[i] = Buffer.from(e[0], 'latin1');
      const type = e[1];
      if (type === NOT_TAKEN) continue;
      if (type === ABSENT) {
        nodes[i] = null;
        continue;
      }
      const node: NodeInfo = {
        type: TYPES[type] ?? 'other',
        mode: e[2],
        uid: e[3],
        gid: e[4],
        size: e[5],
        dev: e[6],
        ino: e[7],
        ctimeMs: e[8],
        mtimeMs: e[9],
      };
      if (e[10] !== undefined) {
        node.targetBytes = Buffer.from(e[10], 'latin1');
        node.target = node.targetBytes.toString('utf8');
      }
      nodes[i] = node;
    }
    memo.dirs.set(rel, { names, nodes });
  }
  return memo;
}
