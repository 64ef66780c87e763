import { closeSync, lstatSync, openSync, readdirSync, readlinkSync, readSync } from 'node:fs';
import { HindsightError } from '../../../shared/errors.ts';
import type { ContentKind, EtcPath, FileMeta, FileType } from '../../../shared/types.ts';

/**
 * File-system primitives for /etc trees. Paths are Buffers end to end, so names that are not
 * valid UTF-8 (or hold spaces and newlines) survive exactly.
 */

export interface NodeInfo extends FileMeta {
  dev: number;
  ino: number;
  /** Raw symlink target bytes. */
  targetBytes?: Buffer;
}

/** Files larger than this are flagged `large` and never line-diffed. */
export const LARGE_FILE_BYTES = 2 * 1024 * 1024;
const SLASH = Buffer.from('/');

export function joinPath(dir: Buffer, name: Buffer): Buffer {
  if (dir.length === 0) return name;
  return Buffer.concat([dir, SLASH, name]);
}

export function absolute(root: string, rel: Buffer): Buffer {
  return rel.length ? Buffer.concat([Buffer.from(root), SLASH, rel]) : Buffer.from(root);
}

function fileType(mode: number): FileType {
  switch (mode & 0o170000) {
    case 0o100000:
      return 'file';
    case 0o040000:
      return 'directory';
    case 0o120000:
      return 'symlink';
    default:
      return 'other';
  }
}

/** lstat that answers null for a missing path and a clear error for anything else. */
export function lstatNode(path: Buffer): NodeInfo | null {
  let st: ReturnType<typeof lstatSync>;
  try {
    st = lstatSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw new HindsightError('unreadable', `cannot read ${printablePath(path)}: ${code ?? 'error'}`);
  }
  if (!st) return null;
  const type = fileType(st.mode);
  const node: NodeInfo = {
    type,
    mode: st.mode & 0o7777,
    uid: st.uid,
    gid: st.gid,
    size: st.size,
    dev: st.dev,
    ino: st.ino,
  };
  if (type === 'symlink') {
    node.targetBytes = readlinkSync(path, { encoding: 'buffer' });
    node.target = node.targetBytes.toString('utf8');
  }
  return node;
}

export function listDir(path: Buffer): Buffer[] {
  try {
    return readdirSync(path, { encoding: 'buffer' });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw new HindsightError('unreadable', `cannot list ${printablePath(path)}: ${code ?? 'error'}`);
  }
}

const CHUNK = 1 << 20;

/** Byte-compares two files of the same size, chunk by chunk, so a 50 MB file never sits in memory twice. */
export function sameBytes(a: Buffer, b: Buffer, size: number): boolean {
  if (size === 0) return true;
  let fa = -1;
  let fb = -1;
  try {
    fa = openSync(a, 'r');
    fb = openSync(b, 'r');
    const ba = Buffer.allocUnsafe(Math.min(CHUNK, size));
    const bb = Buffer.allocUnsafe(Math.min(CHUNK, size));
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

function readFully(fd: number, buf: Buffer, want: number, position: number): number {
  let got = 0;
  while (got < want) {
    const n = readSync(fd, buf, got, want - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

/** Same type, mode, owner, symlink target and bytes: what OSTree counts as an unmodified file. */
export function sameNode(aPath: Buffer, a: NodeInfo, bPath: Buffer, b: NodeInfo): boolean {
  if (a.type !== b.type || a.mode !== b.mode || a.uid !== b.uid || a.gid !== b.gid) return false;
  if (a.type === 'symlink') return (a.targetBytes as Buffer).equals(b.targetBytes as Buffer);
  if (a.type === 'file') {
    if (a.size !== b.size) return false;
    if (a.dev === b.dev && a.ino === b.ino) return true;
    return sameBytes(aPath, bPath, a.size);
  }
  return true;
}

/** Same content only (bytes or symlink target), ignoring mode and owner. */
export function sameContent(aPath: Buffer, a: NodeInfo, bPath: Buffer, b: NodeInfo): boolean {
  if (a.type !== b.type) return false;
  if (a.type === 'symlink') return (a.targetBytes as Buffer).equals(b.targetBytes as Buffer);
  if (a.type === 'file') {
    if (a.size !== b.size) return false;
    if (a.dev === b.dev && a.ino === b.ino) return true;
    return sameBytes(aPath, bPath, a.size);
  }
  return true;
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
  if (bytes.includes(0)) return { kind: 'binary' };
  try {
    return { kind: 'text', text: decoder.decode(bytes) };
  } catch {
    return { kind: 'binary' };
  }
}

function readWhole(path: Buffer, size: number): Buffer {
  const fd = openSync(path, 'r');
  try {
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
    closeSync(fd);
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
