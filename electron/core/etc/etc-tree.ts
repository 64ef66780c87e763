import { closeSync, lstatSync, readdirSync, readlinkSync, readSync, statSync } from 'node:fs';
import { HindsightError } from '../../../shared/errors.ts';
import type { ContentKind, EtcPath, FileMeta } from '../../../shared/types.ts';
import { confinedDir, confinedEntry, openRegularFile } from '../confined-fs.ts';
import { settled } from '../file-state.ts';
import { fileTypeOf } from '../file-type.ts';

/**
 * File-system primitives for /etc trees. Paths are Buffers end to end, so names that are not
 * valid UTF-8 (or hold spaces and newlines) survive exactly.
 */

export interface NodeInfo extends FileMeta {
  dev: number;
  ino: number;
  /** Change and modification times (ms, sub-ms precision): with dev, ino and size they identify a file's state. */
  ctimeMs: number;
  mtimeMs: number;
  /** Raw symlink target bytes. */
  targetBytes?: Buffer;
}

/**
 * What this module remembers (byte comparisons, directory listings, symlink targets) is keyed by a
 * node's state: device, inode, size, mtime and ctime, and only for nodes settled at the read (see
 * file-state.ts). A symlink changed is always a new inode.
 */
const MEMORY_LIMIT = 100_000;

/** Just the fields that identify a node's state: what is remembered, kept small. */
interface NodeState {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
}

const stateOf = (n: NodeInfo): NodeState => ({
  dev: n.dev,
  ino: n.ino,
  size: n.size,
  mtimeMs: n.mtimeMs,
  ctimeMs: n.ctimeMs,
});

const sameState = (x: NodeState, y: NodeState): boolean =>
  x.ino === y.ino &&
  x.dev === y.dev &&
  x.size === y.size &&
  x.ctimeMs === y.ctimeMs &&
  x.mtimeMs === y.mtimeMs;

const allSettled = (nodes: NodeInfo[], readAt: number): boolean => nodes.every((n) => settled(n, readAt));

/** Files larger than this are flagged `large` and never line-diffed. */
export const LARGE_FILE_BYTES = 2 * 1024 * 1024;
const SLASH = Buffer.from('/');

export function joinPath(dir: Buffer, name: Buffer): Buffer {
  if (dir.length === 0) return name;
  return Buffer.concat([dir, SLASH, name]);
}

export function absolute(root: string | Buffer, rel: Buffer): Buffer {
  const head = typeof root === 'string' ? Buffer.from(root) : root;
  return rel.length ? Buffer.concat([head, SLASH, rel]) : head;
}

/** lstat that answers null for a missing path and a clear error for anything else. */
export function lstatNode(path: Buffer): NodeInfo | null {
  let st: ReturnType<typeof lstatSync>;
  try {
    // No exception for a missing path: throwing and catching costs more than the lstat itself.
    st = lstatSync(confinedEntry(path), { throwIfNoEntry: false });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw new HindsightError('unreadable', `cannot read ${printablePath(path)}: ${code ?? 'error'}`);
  }
  if (!st) return null;
  const type = fileTypeOf(st.mode);
  const node: NodeInfo = {
    type,
    mode: st.mode & 0o7777,
    uid: st.uid,
    gid: st.gid,
    size: st.size,
    dev: st.dev,
    ino: st.ino,
    ctimeMs: st.ctimeMs,
    mtimeMs: st.mtimeMs,
  };
  if (type === 'symlink') {
    node.targetBytes = symlinkTarget(path, node);
    node.target = node.targetBytes.toString('utf8');
  }
  return node;
}

/** Symlink targets by inode: a symlink's target never changes in place, and a new link has a new ctime. */
const targets = new Map<number, { link: NodeState; target: Buffer }[]>();
let targetCount = 0;

function symlinkTarget(path: Buffer, link: NodeInfo): Buffer {
  const entries = targets.get(link.ino);
  if (entries) {
    for (const e of entries) if (sameState(e.link, link)) return e.target;
  }
  const before = Date.now();
  let target: Buffer;
  try {
    target = readlinkSync(confinedEntry(path), { encoding: 'buffer' });
  } catch (error) {
    // lstat saw a symlink a moment ago: it has been replaced (EINVAL: no longer a link) or removed.
    throw new HindsightError(
      'unreadable',
      `${printablePath(path)} changed while Hindsight read it (${(error as NodeJS.ErrnoException).code ?? 'error'}); try again`,
    );
  }
  if (allSettled([link], before)) {
    if (targetCount >= MEMORY_LIMIT) {
      targets.clear();
      targetCount = 0;
    }
    const entry = { link: stateOf(link), target };
    if (entries) entries.push(entry);
    else targets.set(link.ino, [entry]);
    targetCount++;
  }
  return target;
}

/**
 * The root of an /etc tree (a deployment's `etc` or `usr/etc`, or a checkout of one) must be a folder
 * that exists: below the root a missing path is a removed file, but a missing root is not an empty
 * /etc. Read as one, it made every file look removed (and `etc apply --take local` deleted them).
 */
export function requireEtcRoot(root: string): void {
  let isDir: boolean;
  try {
    isDir = statSync(root).isDirectory();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' || code === 'ENOTDIR'
        ? 'no such folder'
        : code === 'EACCES' || code === 'EPERM'
          ? 'permission denied'
          : (code ?? 'error');
    throw new HindsightError(
      'unreadable',
      `cannot read the /etc tree ${printablePath(Buffer.from(root))}: ${why}`,
    );
  }
  if (!isDir) {
    throw new HindsightError(
      'unreadable',
      `cannot read the /etc tree ${printablePath(Buffer.from(root))}: not a folder`,
    );
  }
}

export function listDir(path: Buffer): Buffer[] {
  try {
    return readdirSync(confinedDir(path), { encoding: 'buffer' });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw new HindsightError('unreadable', `cannot list ${printablePath(path)}: ${code ?? 'error'}`);
  }
}

interface Listing {
  dir: NodeState;
  /** The names end to end in one buffer, with their end offsets: two objects, not one per name. */
  bytes: Buffer;
  ends: Uint32Array;
}

function packNames(names: Buffer[]): { bytes: Buffer; ends: Uint32Array } {
  const ends = new Uint32Array(names.length);
  let at = 0;
  for (const [i, name] of names.entries()) {
    at += name.length;
    ends[i] = at;
  }
  return { bytes: Buffer.concat(names, at), ends };
}

function unpackNames(listing: Listing): Buffer[] {
  const names: Buffer[] = new Array(listing.ends.length);
  let start = 0;
  for (let i = 0; i < listing.ends.length; i++) {
    const end = listing.ends[i] as number;
    names[i] = listing.bytes.subarray(start, end);
    start = end;
  }
  return names;
}
/** Directory listings by inode, kept while the directory's mtime and ctime stay as they were. */
const listings = new Map<number, Listing[]>();
let listingCount = 0;

/**
 * The names in a directory whose lstat is `dir`. Creating, removing or renaming an entry updates
 * the directory's mtime and ctime, so a listing read under the same state is still the listing;
 * as with byte comparisons, a directory changed too recently is read every time.
 */
export function listDirOf(path: Buffer, dir: NodeInfo | null): Buffer[] {
  if (dir?.type !== 'directory') return listDir(path);
  const entries = listings.get(dir.ino);
  if (entries) {
    for (const e of entries) if (sameState(e.dir, dir)) return unpackNames(e);
  }
  const before = Date.now();
  const names = listDir(path);
  if (allSettled([dir], before)) {
    if (listingCount >= MEMORY_LIMIT) {
      listings.clear();
      listingCount = 0;
    }
    const entry = { dir: stateOf(dir), ...packNames(names) };
    if (entries) entries.push(entry);
    else listings.set(dir.ino, [entry]);
    listingCount++;
  }
  return names;
}

const CHUNK = 1 << 20;
/** Comparison buffers, reused: one allocation per process instead of two per file. */
let chunkA: Buffer | null = null;
let chunkB: Buffer | null = null;

/** Byte-compares two files of the same size, chunk by chunk, so a 50 MB file never sits in memory twice. */
export function sameBytes(a: Buffer, b: Buffer, size: number): boolean {
  if (size === 0) return true;
  let fa = -1;
  let fb = -1;
  try {
    fa = openRegularFile(a);
    fb = openRegularFile(b);
    chunkA ??= Buffer.allocUnsafeSlow(CHUNK);
    chunkB ??= Buffer.allocUnsafeSlow(CHUNK);
    const ba = chunkA;
    const bb = chunkB;
    let offset = 0;
    while (offset < size) {
      const want = Math.min(ba.length, size - offset);
      const ra = readFully(fa, ba, want, offset);
      const rb = readFully(fb, bb, want, offset);
      if (ra !== rb || ba.compare(bb, 0, rb, 0, ra) !== 0) return false;
      if (ra === 0) break;
      offset += ra;
    }
    return true;
  } catch (error) {
    throw new HindsightError(
      'unreadable',
      `cannot read ${printablePath(a)}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  } finally {
    if (fa >= 0) closeSync(fa);
    if (fb >= 0) closeSync(fb);
  }
}

/** An earlier byte comparison, valid while both files keep the state they had (see file-state.ts). */
interface Compared {
  a: NodeState;
  b: NodeState;
  same: boolean;
}
/** By the first file's inode; a base file shared by many deployments (hard links) has a few entries. */
const compared = new Map<number, Compared[]>();
let comparedCount = 0;

/** Whether two regular files hold the same bytes: same inode is the same file; otherwise compare, once. */
export function sameFileBytes(aPath: Buffer, a: NodeInfo, bPath: Buffer, b: NodeInfo): boolean {
  if (a.size !== b.size) return false;
  if (a.dev === b.dev && a.ino === b.ino) return true;
  if (a.size === 0) return true;
  const entries = compared.get(a.ino);
  if (entries) {
    for (const e of entries) {
      if (sameState(e.a, a) && sameState(e.b, b)) {
        comparisonLog?.used.add(e);
        return e.same;
      }
    }
  }
  const before = Date.now();
  const same = sameBytes(aPath, bPath, a.size);
  if (allSettled([a, b], before)) remember({ a: stateOf(a), b: stateOf(b), same }, entries);
  return same;
}

function remember(entry: Compared, entries = compared.get(entry.a.ino)): void {
  if (comparedCount >= MEMORY_LIMIT * 4) {
    compared.clear();
    comparedCount = 0;
  }
  if (entries && compared.has(entry.a.ino)) entries.push(entry);
  else compared.set(entry.a.ino, [entry]);
  comparedCount++;
  if (comparisonLog) {
    comparisonLog.used.add(entry);
    comparisonLog.added++;
  }
}

/**
 * The comparisons one scan used or made, so that a short-lived process (the CLI) can hand them to
 * the next one through a store: each valid only while both files keep the state they had.
 */
interface ComparisonLog {
  used: Set<Compared>;
  added: number;
}
let comparisonLog: ComparisonLog | null = null;

/** Keeps comparisons across processes (the app cache), by a key naming the two trees. */
export interface EtcComparisonStore {
  getEtcComparisons(trees: string): Buffer | undefined;
  putEtcComparisons(trees: string, states: Buffer): void;
}

/** Packed: a format number, then 11 float64s per comparison (both files' states, then same as 0/1). */
const PACK_FORMAT = 1;
const PACK_FIELDS = 11;

function packComparisons(entries: Iterable<Compared>): Buffer {
  const list = [...entries];
  const out = new Float64Array(1 + list.length * PACK_FIELDS);
  out[0] = PACK_FORMAT;
  let at = 1;
  for (const { a, b, same } of list) {
    for (const n of [a, b]) {
      out[at++] = n.dev;
      out[at++] = n.ino;
      out[at++] = n.size;
      out[at++] = n.mtimeMs;
      out[at++] = n.ctimeMs;
    }
    out[at++] = same ? 1 : 0;
  }
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

function unpackComparisons(bytes: Buffer): Compared[] {
  if (bytes.length % 8 !== 0) return [];
  const copy = new Float64Array(bytes.length / 8);
  new Uint8Array(copy.buffer).set(bytes);
  if (copy[0] !== PACK_FORMAT || (copy.length - 1) % PACK_FIELDS !== 0) return [];
  const out: Compared[] = [];
  const state = (at: number): NodeState => ({
    dev: copy[at] as number,
    ino: copy[at + 1] as number,
    size: copy[at + 2] as number,
    mtimeMs: copy[at + 3] as number,
    ctimeMs: copy[at + 4] as number,
  });
  for (let at = 1; at < copy.length; at += PACK_FIELDS) {
    out.push({ a: state(at), b: state(at + 5), same: copy[at + 10] === 1 });
  }
  return out;
}

/**
 * Runs `scan` with the comparisons `store` kept for `trees`, then keeps for next time the ones it
 * used or made. A store that fails only costs speed; without a store, `scan` just runs.
 */
export function withStoredComparisons<T>(
  store: EtcComparisonStore | undefined,
  trees: string,
  scan: () => T,
): T {
  if (!store) return scan();
  try {
    const stored = store.getEtcComparisons(trees);
    for (const entry of stored ? unpackComparisons(stored) : []) {
      const entries = compared.get(entry.a.ino);
      if (!entries?.some((e) => sameState(e.a, entry.a) && sameState(e.b, entry.b))) remember(entry, entries);
    }
  } catch {
    // unreadable cache: this scan compares afresh
  }
  const log: ComparisonLog = { used: new Set(), added: 0 };
  comparisonLog = log;
  let result: T;
  try {
    result = scan();
  } finally {
    comparisonLog = null;
  }
  if (log.added > 0) {
    try {
      store.putEtcComparisons(trees, packComparisons(log.used));
    } catch {
      // read-only or full cache: the next process compares again
    }
  }
  return result;
}

function readFully(fd: number, buf: Buffer, want: number, position: number): number {
  let got = 0;
  while (got < want) {
    const n = readSync(fd, buf, got, want - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

export interface TextRead {
  kind: ContentKind;
  text?: string;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** Reads a file as text when it is text: valid UTF-8, no NUL byte, not large. */
export function readText(path: Buffer, node: NodeInfo | null): TextRead {
  if (node?.type !== 'file') return { kind: 'none' };
  if (node.size > LARGE_FILE_BYTES) return { kind: 'large' };
  let bytes: Buffer;
  try {
    bytes = readWhole(path, node.size);
  } catch (error) {
    if (error instanceof HindsightError) throw error;
    throw new HindsightError(
      'unreadable',
      `cannot read ${printablePath(path)}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
  return textOf(bytes);
}

/** Bytes as a diff view takes them: text when they are UTF-8 without NUL bytes, else binary. */
export function textOf(bytes: Buffer): TextRead {
  if (bytes.length > LARGE_FILE_BYTES) return { kind: 'large' };
  if (bytes.includes(0)) return { kind: 'binary' };
  try {
    return { kind: 'text', text: decoder.decode(bytes) };
  } catch {
    return { kind: 'binary' };
  }
}

/** Content kinds by file state (see file-state.ts): a drift reports them for every changed file, every time. */
const kinds = new Map<number, { file: NodeState; kind: ContentKind }[]>();
let kindCount = 0;

/** What readText would call the file's content, without keeping the text. */
export function contentKind(path: Buffer, node: NodeInfo | null): ContentKind {
  if (node?.type !== 'file' || node.size > LARGE_FILE_BYTES) return readText(path, node).kind;
  const entries = kinds.get(node.ino);
  if (entries) {
    for (const e of entries) if (sameState(e.file, node)) return e.kind;
  }
  const before = Date.now();
  const { kind } = readText(path, node);
  if (allSettled([node], before)) {
    if (kindCount >= MEMORY_LIMIT) {
      kinds.clear();
      kindCount = 0;
    }
    const entry = { file: stateOf(node), kind };
    if (entries) entries.push(entry);
    else kinds.set(node.ino, [entry]);
    kindCount++;
  }
  return kind;
}

function readWhole(path: Buffer, size: number): Buffer {
  let fd = -1;
  try {
    fd = openRegularFile(path);
    const buf = Buffer.allocUnsafe(size);
    const n = readFully(fd, buf, size, 0);
    return buf.subarray(0, n);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new HindsightError(
      code === 'EACCES' || code === 'EPERM' ? 'not-authorized' : 'unreadable',
      `cannot read ${printablePath(path)}: ${code === 'EACCES' ? 'permission denied (root only)' : (code ?? 'error')}`,
    );
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

/** How a relative /etc path crosses JSON: as text, plus base64 of the bytes when they are not UTF-8. */
export function encodeEtcPath(rel: Buffer): EtcPath {
  try {
    return { path: decoder.decode(rel) };
  } catch {
    return { path: rel.toString('utf8'), pathBase64: rel.toString('base64') };
  }
}

export function decodeEtcPath(p: EtcPath): Buffer {
  return p.pathBase64 !== undefined ? Buffer.from(p.pathBase64, 'base64') : Buffer.from(p.path, 'utf8');
}

export function printablePath(path: Buffer): string {
  return path.toString('utf8').replace(/[\u0000-\u001f\u007f]/g, '?');
}

export function compareBytes(a: Buffer, b: Buffer): number {
  return Buffer.compare(a, b);
}
