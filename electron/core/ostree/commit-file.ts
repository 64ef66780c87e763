import { closeSync, lstatSync, openSync, readFileSync, readlinkSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { HindsightError } from '../../../shared/errors.ts';
import type { FileMeta } from '../../../shared/types.ts';
import { commitIsPartial, readCommitObject } from './commit-object.ts';
import { parseGVariant } from './gvariant.ts';
import { keyfileValue, parseKeyfile } from './keyfile.ts';

/**
 * A commit's files read from the repository's objects: dirtrees walked by name down to the path,
 * the file object's metadata and content read in the repo's own storage format. Nothing is checked
 * out, so a commit that is not deployed reads the same as one that is.
 *
 * Names are carried as latin1 text (one char per byte): names that are not UTF-8 survive exactly,
 * and comparing such strings orders them byte by byte, as ostree sorts dirtree entries.
 */

/** A dirtree entry: a subfolder (its contents and metadata objects) or a file object. */
export type TreeNode = { kind: 'dir'; tree: string; meta: string } | { kind: 'file'; checksum: string };

export interface DirTree {
  /** Name (latin1) → file object checksum (hex). */
  files: Map<string, string>;
  /** Name (latin1) → contents (dirtree) and metadata (dirmeta) checksums (hex). */
  dirs: Map<string, { tree: string; meta: string }>;
}

/** How the repository stores file objects; only these are read here. */
export type ContentMode = 'bare' | 'archive' | 'bare-user-only';

/** The metadata of a file object, and what a content comparison needs beyond it. */
export interface ObjectMeta extends FileMeta {
  /** Extended attributes as stored (archive only): equal headers with different checksums differ in content. */
  xattrs?: string;
}

export interface CommitFile {
  meta: FileMeta;
  /** The bytes of a regular file; null for anything else, or when larger than the limit. */
  content: Buffer | null;
}

/** Above this, readCommitFile gives the metadata and no content unless asked for more. */
export const DEFAULT_MAX_CONTENT = 32 * 1024 * 1024;
/** OSTREE_MAX_METADATA_SIZE: no metadata object (nor an archive file header) is larger. */
const MAX_METADATA_SIZE = 128 * 1024 * 1024;
const CACHE_LIMIT = 50_000;

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

const short = (checksum: string): string => checksum.slice(0, 10);

/** A path for messages: latin1 names back to their bytes, shown as UTF-8, control characters masked. */
export function printableName(latin1: string): string {
  return Buffer.from(latin1, 'latin1')
    .toString('utf8')
    .replace(/[\u0000-\u001f\u007f]/g, '?');
}

// ---------------------------------------------------------------------------------------------
// Repository format

/**
 * The repo's core.mode. bare-user keeps owner and mode in a `user.ostreemeta` xattr and
 * bare-split-xattrs keeps xattrs in separate objects: Node cannot read xattrs, so both are refused
 * rather than answered with the wrong owner.
 */
export function contentMode(repo: string): ContentMode {
  let text: string;
  try {
    text = readFileSync(join(repo, 'config'), 'utf8');
  } catch (error) {
    throw new HindsightError(
      'unreadable',
      `cannot read the repository's config: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
  const mode = keyfileValue(parseKeyfile(text), 'core', 'mode') ?? 'bare';
  if (mode === 'bare' || mode === 'bare-user-only') return mode;
  if (mode === 'archive' || mode === 'archive-z2') return 'archive';
  throw new HindsightError(
    'unsupported',
    `repository mode "${mode.replace(/[^\x20-\x7e]/g, '?')}" is not supported (only bare, bare-user-only and archive)`,
  );
}

function objectPath(repo: string, checksum: string, suffix: string): string {
  return join(repo, 'objects', checksum.slice(0, 2), `${checksum.slice(2)}.${suffix}`);
}

function missing(what: string, error: unknown): HindsightError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new HindsightError('unreadable', `${what} is missing from the repository`);
  }
  return new HindsightError('io-error', `cannot read ${what}: ${code ?? (error as Error).message}`);
}

function readMetadataObject(repo: string, checksum: string, suffix: string): Buffer {
  const path = objectPath(repo, checksum, suffix);
  try {
    const bytes = readFileSync(path);
    if (bytes.length > MAX_METADATA_SIZE)
      throw new HindsightError('unreadable', `${suffix} ${short(checksum)} is too large`);
    return bytes;
  } catch (error) {
    if (error instanceof HindsightError) throw error;
    throw missing(`${suffix} ${short(checksum)}`, error);
  }
}

/** ostree writes these header fields with GUINT32_TO_BE/GUINT64_TO_BE; the parser reads little-endian. */
function be32(value: number): number {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value);
  return b.readUInt32BE();
}

function be64(value: bigint): number {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(value);
  const n = b.readBigUInt64BE();
  if (n > BigInt(Number.MAX_SAFE_INTEGER))
    throw new HindsightError('unreadable', 'a file size is out of range');
  return Number(n);
}

/**
 * An `s` field read as `ay` (same framing, alignment 1): the bytes with their terminating nul. The
 * GVariant reader insists on UTF-8 for `s`, but a name or link target is bytes to the kernel.
 */
function cString(bytes: Buffer, what: string): Buffer {
  const end = bytes.length - 1;
  if (end < 0 || bytes[end] !== 0 || bytes.indexOf(0) !== end) {
    throw new HindsightError('unreadable', `${what} is not a terminated string`);
  }
  return bytes.subarray(0, end);
}

function hexChecksum(csum: Buffer, what: string): string {
  if (csum.length !== 32) throw new HindsightError('unreadable', `${what} has a malformed checksum`);
  return csum.toString('hex');
}

// ---------------------------------------------------------------------------------------------
// Dirtrees and dirmeta

/** Dirtree objects by checksum: content-addressed, so they never change. */
const trees = new Map<string, DirTree>();

export function loadDirTree(repo: string, checksum: string): DirTree {
  const key = `${repo}\0${checksum}`;
  const known = trees.get(key);
  if (known) return known;
  const bytes = readMetadataObject(repo, checksum, 'dirtree');
  const [files, dirs] = parseGVariant('(a(ayay)a(ayayay))', bytes) as [
    [Buffer, Buffer][],
    [Buffer, Buffer, Buffer][],
  ];
  const what = `dirtree ${short(checksum)}`;
  const tree: DirTree = { files: new Map(), dirs: new Map() };
  for (const [name, csum] of files) tree.files.set(entryName(name, what), hexChecksum(csum, what));
  for (const [name, contents, meta] of dirs) {
    const key = entryName(name, what);
    if (tree.files.has(key)) throw new HindsightError('unreadable', `${what} names an entry twice`);
    tree.dirs.set(key, { tree: hexChecksum(contents, what), meta: hexChecksum(meta, what) });
  }
  if (trees.size >= CACHE_LIMIT) trees.clear();
  trees.set(key, tree);
  return tree;
}

/** ostree_validate_filename's rule: anything else would turn into a different path when joined. */
function entryName(raw: Buffer, what: string): string {
  const name = cString(raw, `a name in ${what}`).toString('latin1');
  if (name === '' || name === '.' || name === '..' || name.includes('/')) {
    throw new HindsightError('unreadable', `${what} holds an invalid name`);
  }
  return name;
}

export function childNode(tree: DirTree, name: string): TreeNode | null {
  const checksum = tree.files.get(name);
  if (checksum !== undefined) return { kind: 'file', checksum };
  const dir = tree.dirs.get(name);
  return dir ? { kind: 'dir', ...dir } : null;
}

const dirMetas = new Map<string, FileMeta>();

export function readDirMeta(repo: string, checksum: string): FileMeta {
  const key = `${repo}\0${checksum}`;
  const known = dirMetas.get(key);
  if (known) return known;
  const [uid, gid, mode] = parseGVariant('(uuua(ayay))', readMetadataObject(repo, checksum, 'dirmeta')) as [
    number,
    number,
    number,
  ];
  const meta: FileMeta = {
    type: 'directory',
    mode: be32(mode) & 0o7777,
    uid: be32(uid),
    gid: be32(gid),
    size: 0,
  };
  if (dirMetas.size >= CACHE_LIMIT) dirMetas.clear();
  dirMetas.set(key, meta);
  return meta;
}

// ---------------------------------------------------------------------------------------------
// File objects

function typeOf(mode: number): FileMeta['type'] {
  const format = mode & S_IFMT;
  return format === S_IFREG ? 'file' : format === S_IFLNK ? 'symlink' : 'other';
}

const fileMetas = new Map<string, ObjectMeta>();

export function readFileMeta(repo: string, mode: ContentMode, checksum: string): ObjectMeta {
  const key = `${repo}\0${checksum}`;
  const known = fileMetas.get(key);
  if (known) return known;
  const meta = mode === 'archive' ? archiveHeader(repo, checksum).meta : bareMeta(repo, mode, checksum);
  if (fileMetas.size >= CACHE_LIMIT) fileMetas.clear();
  fileMetas.set(key, meta);
  return meta;
}

/** Bare objects are the files themselves, with the owner and mode the commit gives them. */
function bareMeta(repo: string, mode: ContentMode, checksum: string): ObjectMeta {
  const path = objectPath(repo, checksum, 'file');
  try {
    const st = lstatSync(path);
    const type = typeOf(st.mode);
    // bare-user-only checksums everything as root's: the object's own owner is whoever pulled it.
    const owned = mode === 'bare';
    const meta: ObjectMeta = {
      type,
      mode: st.mode & 0o7777,
      uid: owned ? st.uid : 0,
      gid: owned ? st.gid : 0,
      size: st.size,
    };
    if (type === 'symlink') meta.target = readlinkSync(path, { encoding: 'buffer' }).toString('utf8');
    return meta;
  } catch (error) {
    throw missing(`file ${short(checksum)}`, error);
  }
}

interface ArchiveHeader {
  meta: ObjectMeta;
  /** Where the raw-deflate content starts in the .filez file. */
  contentOffset: number;
}

function readAt(fd: number, length: number, position: number, what: string): Buffer {
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, position + got);
    if (n === 0) throw new HindsightError('unreadable', `${what} is truncated`);
    got += n;
  }
  return buf;
}

/**
 * An archive `.filez` starts with the file header (a big-endian u32 length, 4 bytes of padding,
 * then `(tuuuusa(ayay))`: size, uid, gid, mode, rdev, link target, xattrs) and goes on with the
 * content as raw deflate. Only the header is read here.
 */
function archiveHeader(repo: string, checksum: string): ArchiveHeader {
  const what = `file ${short(checksum)}`;
  let fd = -1;
  try {
    fd = openSync(objectPath(repo, checksum, 'filez'), 'r');
    const length = readAt(fd, 8, 0, what).readUInt32BE(0);
    if (length > MAX_METADATA_SIZE) throw new HindsightError('unreadable', `${what} has an oversized header`);
    const [size, uid, gid, mode, , target, xattrs] = parseGVariant(
      '(tuuuuaya(ayay))',
      readAt(fd, length, 8, what),
    ) as [bigint, number, number, number, number, Buffer, [Buffer, Buffer][]];
    const fullMode = be32(mode);
    const type = typeOf(fullMode);
    const meta: ObjectMeta = {
      type,
      mode: fullMode & 0o7777,
      uid: be32(uid),
      gid: be32(gid),
      size: be64(size),
      xattrs: xattrs.map(([n, v]) => `${n.toString('hex')}=${v.toString('hex')}`).join(','),
    };
    if (type === 'symlink') {
      const bytes = cString(target, `the link target of ${what}`);
      meta.target = bytes.toString('utf8');
      // As lstat counts a symlink, so both repo modes give the same size.
      meta.size = bytes.length;
    }
    return { meta, contentOffset: 8 + length };
  } catch (error) {
    if (error instanceof HindsightError) throw error;
    throw missing(what, error);
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

/** A regular file object's bytes; the caller has checked its size against any limit. */
export function readFileContent(repo: string, mode: ContentMode, checksum: string): Buffer {
  const what = `file ${short(checksum)}`;
  if (mode !== 'archive') {
    try {
      return readFileSync(objectPath(repo, checksum, 'file'));
    } catch (error) {
      throw missing(what, error);
    }
  }
  const { meta, contentOffset } = archiveHeader(repo, checksum);
  let packed: Buffer;
  try {
    packed = readFileSync(objectPath(repo, checksum, 'filez')).subarray(contentOffset);
  } catch (error) {
    throw missing(what, error);
  }
  if (meta.size === 0 && packed.length === 0) return Buffer.alloc(0);
  let content: Buffer;
  try {
    // One byte over the recorded size is enough to tell a lying header from a true one.
    content = inflateRawSync(packed, { maxOutputLength: meta.size + 1 });
  } catch (error) {
    throw new HindsightError('unreadable', `${what}: its content does not inflate`, { cause: error });
  }
  if (content.length !== meta.size)
    throw new HindsightError('unreadable', `${what}: its content has the wrong size`);
  return content;
}

const CHUNK = 1 << 20;

/**
 * Whether two regular file objects hold the same bytes. Archive objects with the same header but
 * different checksums must differ in content, so only a bare repo (whose xattrs Node cannot see)
 * or a header that differs in xattrs needs the bytes themselves.
 */
export function sameContent(repo: string, mode: ContentMode, a: string, b: string): boolean {
  if (a === b) return true;
  // Objects never change, so neither does the answer.
  const key = `${repo}\0${a < b ? a : b}\0${a < b ? b : a}`;
  let same = compared.get(key);
  if (same === undefined) {
    same = compareContent(repo, mode, a, b);
    if (compared.size >= CACHE_LIMIT) compared.clear();
    compared.set(key, same);
  }
  return same;
}

const compared = new Map<string, boolean>();

function compareContent(repo: string, mode: ContentMode, a: string, b: string): boolean {
  const ma = readFileMeta(repo, mode, a);
  const mb = readFileMeta(repo, mode, b);
  if (ma.size !== mb.size) return false;
  if (ma.size === 0) return true;
  if (mode === 'archive') {
    if (ma.xattrs === mb.xattrs && ma.mode === mb.mode && ma.uid === mb.uid && ma.gid === mb.gid)
      return false;
    return readFileContent(repo, mode, a).equals(readFileContent(repo, mode, b));
  }
  let fa = -1;
  let fb = -1;
  try {
    fa = openSync(objectPath(repo, a, 'file'), 'r');
    fb = openSync(objectPath(repo, b, 'file'), 'r');
    const ba = Buffer.allocUnsafe(Math.min(CHUNK, ma.size));
    const bb = Buffer.allocUnsafe(ba.length);
    for (let offset = 0; offset < ma.size; ) {
      const ra = readSync(fa, ba, 0, ba.length, offset);
      const rb = readSync(fb, bb, 0, bb.length, offset);
      if (ra !== rb || ba.compare(bb, 0, rb, 0, ra) !== 0) return false;
      if (ra === 0) break;
      offset += ra;
    }
    return true;
  } catch (error) {
    throw missing(`file ${short(a)} or ${short(b)}`, error);
  } finally {
    if (fa >= 0) closeSync(fa);
    if (fb >= 0) closeSync(fb);
  }
}

/** The metadata of a dirtree entry: its dirmeta for a folder, its file object otherwise. */
export function nodeMeta(repo: string, mode: ContentMode, node: TreeNode): FileMeta {
  if (node.kind === 'dir') return readDirMeta(repo, node.meta);
  const { xattrs: _, ...meta } = readFileMeta(repo, mode, node.checksum);
  return meta;
}

/** A missing object of a commit pulled only in part is "not downloaded", not damage. */
export function explainMissing(error: unknown, repo: string, commits: string[]): unknown {
  if (!(error instanceof HindsightError) || error.code !== 'unreadable') return error;
  const partial = commits.find((c) => commitIsPartial(repo, c));
  if (!partial) return error;
  return new HindsightError('not-downloaded', `commit ${short(partial)} is not downloaded in full`, {
    cause: error,
  });
}

// ---------------------------------------------------------------------------------------------
// Paths

/**
 * A path from the commit's root as names (latin1), `/`-separated, a leading `/` optional; a Buffer
 * gives the exact bytes of a name that is not UTF-8 (an entry's pathBase64). `.` and
 * `..` are refused rather than resolved: a caller naming one is confused about where it is.
 */
export function pathNames(path: string | Buffer): string[] {
  const names = (typeof path === 'string' ? Buffer.from(path, 'utf8') : path)
    .toString('latin1')
    .split('/')
    .filter((n) => n !== '');
  if (names.some((n) => n === '.' || n === '..')) {
    throw new HindsightError('bad-path', `"${printableName(names.join('/'))}" has a "." or ".." component`);
  }
  return names;
}

/**
 * One path of a commit: its metadata, and its content when it is a regular file no larger than
 * `maxSize` bytes (else null: a multi-gigabyte image is never read whole by accident). Folders
 * are walked by name; a symlink on the way is reported, never followed, so a path cannot lead
 * outside what the commit itself holds under that name.
 */
export function readCommitFile(
  repo: string,
  checksum: string,
  path: string | Buffer,
  options: { maxSize?: number } = {},
): CommitFile {
  const names = pathNames(path);
  const commit = readCommitObject(repo, checksum);
  const mode = contentMode(repo);
  const maxSize = options.maxSize ?? DEFAULT_MAX_CONTENT;
  try {
    let node: TreeNode = { kind: 'dir', tree: commit.rootTree, meta: commit.rootMeta };
    let walked = '';
    for (const name of names) {
      if (node.kind !== 'dir') {
        const type = readFileMeta(repo, mode, node.checksum).type;
        throw new HindsightError(
          'bad-path',
          type === 'symlink'
            ? `${printableName(walked)} is a symbolic link; links are not followed`
            : `${printableName(walked)} is not a folder`,
        );
      }
      const child = childNode(loadDirTree(repo, node.tree), name);
      walked += `/${name}`;
      if (!child) {
        throw new HindsightError('bad-path', `no ${printableName(walked)} in commit ${short(checksum)}`);
      }
      node = child;
    }
    const meta = nodeMeta(repo, mode, node);
    const content =
      node.kind === 'file' && meta.type === 'file' && meta.size <= maxSize
        ? readFileContent(repo, mode, node.checksum)
        : null;
    return { meta, content };
  } catch (error) {
    throw explainMissing(error, repo, [checksum]);
  }
}
