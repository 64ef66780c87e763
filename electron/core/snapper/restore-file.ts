import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fstatSync,
  fsyncSync,
  futimesSync,
  lchownSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  readSync,
  renameSync,
  rmdirSync,
  symlinkSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { HindsightError } from '../../../shared/errors.ts';
import type { FileType } from '../../../shared/types.ts';
import { writeFileAtomic } from '../atomic-write.ts';
import {
  confinedDir,
  confinedEntry,
  confineTree,
  fsyncFolder,
  openFolder,
  openRegularFile,
} from '../confined-fs.ts';
import { encodeEtcPath, printablePath } from '../etc/etc-tree.ts';
import { fileTypeOf } from '../file-type.ts';
import { SNAPSHOTS_DIR, type SnapperRootReport, snapshotFolder } from './snapshots.ts';

/**
 * Puts one file (or symlink) of an older snapper snapshot back into the running root, and takes it
 * back again. Also the write-and-backup machinery pending-merge.ts applies merges with: every change
 * to the live root is preceded by a backup (the old node's bytes or link target, its mode, owner and
 * mtime, or the fact that there was nothing) under a folder the caller owns, with a manifest written
 * before the first change, so an undo can put every path back even after a crash half-way.
 *
 * No link is followed on either side: the path is split into names, `..` is refused, and every
 * folder on the way is lstat'ed and must be a real folder (a link among them is refused, not
 * resolved: the user names the path it leads to). The node itself is opened with O_NOFOLLOW, and in
 * the root helper both trees are confined (confined-fs.ts), so a folder swapped for a link between
 * the check and the write still cannot steer the write out of the root.
 */

/** What a restore, a merge apply and their undos answer: one line for a person, the id for undo. */
export interface LiveChange {
  message: string;
  backupId: string;
  /** The path changed, from the root: `/etc/motd`. */
  path: string;
  /** The path's exact bytes, when they are not UTF-8. */
  pathBase64?: string;
}

export interface RestoreRequest {
  /** The snapshot to take the path from (not 0: that is the live root itself). */
  from: number;
  /** From the root (`/etc/motd` or `etc/motd`); a Buffer for a name that is not UTF-8. */
  path: string | Buffer;
}

/** The kinds of change a backup folder holds; an undo of one kind refuses a backup of the other. */
export type ChangeKind = 'restore' | 'pending-merge';

const SLASH = 0x2f;
const DOT_DOT = Buffer.from('..');
const BACKUP_ID = /^[\w.-]{1,100}$/;
const MANIFEST = 'manifest.json';
const COPY_CHUNK = 1 << 20;
const TEMP_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
let tempCounter = 0;

// --- paths -------------------------------------------------------------------------------------

/** A request's path as names from the root; refuses what could leave the root or names nothing. */
export function pathNames(path: string | Buffer): Buffer[] {
  const bytes = typeof path === 'string' ? Buffer.from(path, 'utf8') : path;
  if (bytes.includes(0)) throw new HindsightError('bad-path', 'a path cannot hold a NUL byte');
  const names: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length || bytes[i] === SLASH) {
      const name = bytes.subarray(start, i);
      start = i + 1;
      if (name.length === 0 || (name.length === 1 && name[0] === 0x2e)) continue;
      if (name.equals(DOT_DOT))
        throw new HindsightError('bad-path', `${printablePath(bytes)}: a path with ".." is not taken`);
      names.push(name);
    }
  }
  if (names.length === 0) throw new HindsightError('bad-path', `"${printablePath(bytes)}" names no file`);
  // Through the live root, .snapshots leads into the snapshots themselves: never a restore target.
  if (names[0]?.toString('latin1') === SNAPSHOTS_DIR)
    throw new HindsightError(
      'bad-path',
      `${printablePath(bytes)} is inside ${SNAPSHOTS_DIR}, not the system`,
    );
  return names;
}

export function joinNames(names: Buffer[]): Buffer {
  const parts: Buffer[] = [];
  for (const name of names) parts.push(Buffer.from('/'), name);
  return Buffer.concat(parts);
}

/** `/etc/motd` plus its bytes when they are not UTF-8, as results carry a path. */
export function describePath(names: Buffer[]): { path: string; pathBase64?: string } {
  return encodeEtcPath(joinNames(names));
}

function under(root: string, names: Buffer[]): Buffer {
  return Buffer.concat([Buffer.from(root), joinNames(names)]);
}

export interface NodeState {
  type: FileType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtimeMs: number;
  ino: number;
  dev: number;
}

function lstatAt(path: Buffer): NodeState | null {
  let st: ReturnType<typeof lstatSync> | undefined;
  try {
    st = lstatSync(confinedEntry(path), { throwIfNoEntry: false });
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw ioError(error, path, 'read');
  }
  if (!st) return null;
  return {
    type: fileTypeOf(st.mode),
    mode: st.mode & 0o7777,
    uid: st.uid,
    gid: st.gid,
    size: st.size,
    mtimeMs: st.mtimeMs,
    ino: st.ino,
    dev: st.dev,
  };
}

/**
 * Checks the folders of `names` inside `root` one by one without following any: a link among them is
 * refused. Answers how many of them exist (all of them: names.length - 1).
 */
function checkFolders(root: string, names: Buffer[], side: string): number {
  for (let i = 0; i < names.length - 1; i++) {
    const at = under(root, names.slice(0, i + 1));
    const node = lstatAt(at);
    if (!node) return i;
    const shown = printablePath(joinNames(names.slice(0, i + 1)));
    if (node.type === 'symlink')
      throw new HindsightError(
        'refused',
        `${shown} in ${side} is a link; Hindsight does not follow links on the way to a file (name the path it leads to)`,
      );
    if (node.type !== 'directory')
      throw new HindsightError('bad-path', `${shown} in ${side} is not a folder`);
  }
  return names.length - 1;
}

/** The live root, checked writable: a read-only root (MicroOS) changes only through a new snapshot. */
export function requireLiveRoot(root: string, report: SnapperRootReport): string {
  const abs = resolve(root);
  if (abs !== report.root)
    throw new HindsightError('bad-request', `the report is of ${report.root}, not of ${abs}`);
  if (report.activeSubvolume.readOnly)
    throw new HindsightError(
      'refused',
      `${abs} is read-only (a transactional system such as MicroOS): change it with transactional-update, not in place`,
    );
  confineTree(abs);
  return abs;
}

/** A snapshot's folder to read from; the writable running snapshot's folder is the live root itself. */
export function snapshotToRead(root: string, report: SnapperRootReport, number: number): string {
  if (number === 0) return root;
  if (!report.snapshots.some((s) => s.number === number))
    throw new HindsightError('bad-selector', `${report.root} has no snapshot ${number}`);
  const folder = snapshotFolder(root, number);
  confineTree(folder);
  return folder;
}

// --- writing -----------------------------------------------------------------------------------

export interface NodeAttrs {
  mode: number;
  uid: number;
  gid: number;
  /** Kept when known, so `rpm -V` and snapper see a restored file as it was. */
  mtimeMs?: number;
}

function parentOf(path: Buffer): Buffer {
  const slash = path.lastIndexOf(SLASH);
  return slash <= 0 ? Buffer.from('/') : path.subarray(0, slash);
}

function tempIn(dir: Buffer): Buffer {
  tempCounter += 1;
  return Buffer.concat([dir, Buffer.from(`/.hindsight-${process.pid}-${Date.now()}-${tempCounter}.tmp`)]);
}

function writeAll(fd: number, bytes: Buffer): void {
  let offset = 0;
  while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
}

function copyFd(from: number, to: number): void {
  const chunk = Buffer.allocUnsafe(COPY_CHUNK);
  for (;;) {
    const n = readSync(from, chunk, 0, chunk.length, null);
    if (n === 0) return;
    writeAll(to, chunk.subarray(0, n));
  }
}

/**
 * Writes a regular file atomically, as atomic-write.ts does (temp in the same folder, fsync, rename,
 * fsync of the folder), but through confined names and with the owner set on the descriptor before
 * the rename: the file never appears with the wrong owner or a wider mode, not even for a moment.
 */
export function installFile(dest: Buffer, content: Buffer | { fd: number }, attrs: NodeAttrs): void {
  const dir = parentOf(dest);
  const temp = tempIn(dir);
  let fd = -1;
  try {
    fd = openSync(confinedEntry(temp), TEMP_FLAGS, 0o600);
    if (Buffer.isBuffer(content)) writeAll(fd, content);
    else copyFd(content.fd, fd);
    // chown first: it clears set-id bits that the chmod then sets.
    fchownSync(fd, attrs.uid, attrs.gid);
    fchmodSync(fd, attrs.mode);
    if (attrs.mtimeMs !== undefined) futimesSync(fd, Date.now() / 1000, attrs.mtimeMs / 1000);
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    renameSync(confinedEntry(temp), confinedEntry(dest));
  } catch (error) {
    if (fd >= 0) closeSync(fd);
    removeQuietly(temp);
    throw ioError(error, dest, 'write');
  }
  fsyncFolder(dir);
}

export function installSymlink(dest: Buffer, target: Buffer, attrs: NodeAttrs): void {
  const dir = parentOf(dest);
  const temp = tempIn(dir);
  try {
    symlinkSync(target, confinedEntry(temp));
    lchownSync(confinedEntry(temp), attrs.uid, attrs.gid);
    if (attrs.mtimeMs !== undefined)
      lutimesSync(confinedEntry(temp), Date.now() / 1000, attrs.mtimeMs / 1000);
    renameSync(confinedEntry(temp), confinedEntry(dest));
  } catch (error) {
    removeQuietly(temp);
    throw ioError(error, dest, 'write');
  }
  fsyncFolder(dir);
}

export function removeNode(path: Buffer): void {
  try {
    unlinkSync(confinedEntry(path));
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return;
    throw ioError(error, path, 'write');
  }
  fsyncFolder(parentOf(path));
}

function removeQuietly(path: Buffer): void {
  try {
    unlinkSync(confinedEntry(path));
  } catch {
    // never created
  }
}

/** A regular file opened without following a link, checked to be the node lstat saw. */
function openSame(path: Buffer, node: NodeState): number {
  let fd: number;
  try {
    fd = openRegularFile(path);
  } catch (error) {
    throw ioError(error, path, 'read');
  }
  const st = fstatSync(fd);
  if (st.ino !== node.ino || st.dev !== node.dev) {
    closeSync(fd);
    throw new HindsightError('refused', `${printablePath(path)} changed while Hindsight read it; try again`);
  }
  return fd;
}

export function readNodeBytes(path: Buffer, node: NodeState): Buffer {
  const fd = openSame(path, node);
  try {
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

function sha256Of(path: Buffer, node: NodeState): string {
  const fd = openSame(path, node);
  try {
    const hash = createHash('sha256');
    const chunk = Buffer.allocUnsafe(COPY_CHUNK);
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      hash.update(chunk.subarray(0, n));
    }
    return hash.digest('hex');
  } finally {
    closeSync(fd);
  }
}

function readTarget(path: Buffer): Buffer {
  try {
    return readlinkSync(confinedEntry(path), { encoding: 'buffer' });
  } catch (error) {
    throw ioError(error, path, 'read');
  }
}

/** Copies a node (file bytes or link target) of one tree onto a path of the live root, with its attributes. */
function installCopyOf(dest: Buffer, from: Buffer, node: NodeState): void {
  const attrs = { mode: node.mode, uid: node.uid, gid: node.gid, mtimeMs: node.mtimeMs };
  if (node.type === 'symlink') {
    installSymlink(dest, readTarget(from), attrs);
    return;
  }
  const fd = openSame(from, node);
  try {
    installFile(dest, { fd }, attrs);
  } finally {
    closeSync(fd);
  }
}

export function errnoCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

function ioError(error: unknown, path: Buffer, doing: 'read' | 'write'): HindsightError {
  if (error instanceof HindsightError) return error;
  const code = errnoCode(error);
  const shown = printablePath(path);
  if (code === 'EROFS')
    return new HindsightError('refused', `${shown} is on a read-only file system; nothing was written there`);
  if (code === 'EACCES' || code === 'EPERM')
    return new HindsightError('not-authorized', `cannot ${doing} ${shown}: permission denied`);
  if (code === 'ELOOP' || code === 'ENOTDIR' || code === 'EINVAL' || code === 'EEXIST')
    return new HindsightError(
      'refused',
      `${shown} changed while Hindsight used it (a folder on the way or the file itself is no longer what it was)`,
    );
  return new HindsightError(
    doing === 'read' ? 'unreadable' : 'io-error',
    `cannot ${doing} ${shown}: ${code ?? (error as Error).message}`,
  );
}

// --- backups -----------------------------------------------------------------------------------

interface ManifestEntry {
  /** The path from the root, exact bytes. */
  pathBase64: string;
  existed: boolean;
  type?: 'file' | 'symlink';
  /** The saved bytes, relative to the backup folder. */
  file?: string;
  targetBase64?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtimeMs?: number;
  /** What the change left there, so an undo can tell a later edit from its own write. */
  after?: { type: 'file'; sha256: string } | { type: 'symlink'; targetBase64: string } | null;
}

interface Manifest {
  version: 1;
  id: string;
  kind: ChangeKind;
  time: string;
  root: string;
  /** `prepared` before the first change, `applied` after the last, `undone` once put back. */
  state: 'prepared' | 'applied' | 'undone';
  /** The change in one line, as its result said it. */
  summary: string;
  entries: ManifestEntry[];
  /** Folders the change created (shallowest first), removed on undo when empty again. */
  createdDirsBase64: string[];
  undoneAt?: string;
}

function newBackupId(): string {
  const stamp = new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${randomBytes(4).toString('hex')}`;
}

function requireBackupId(id: string): void {
  if (!BACKUP_ID.test(id) || id === '.' || id === '..')
    throw new HindsightError('bad-request', `not a backup id: ${printablePath(Buffer.from(id))}`);
}

/** A private folder: backups hold copies of files such as /etc/shadow. */
function privateDir(path: string): void {
  try {
    mkdirSync(path, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw ioError(error, Buffer.from(path), 'write');
  }
  const st = lstatSync(path);
  if (!st.isDirectory())
    throw new HindsightError('refused', `${path} is not a folder Hindsight can keep backups in`);
}

/** One change's backup: the old nodes saved, then the manifest, before the live root is touched. */
export class Backup {
  readonly id = newBackupId();
  readonly dir: string;
  private readonly manifest: Manifest;

  constructor(backupDir: string, kind: ChangeKind, root: string) {
    privateDir(backupDir);
    this.dir = join(backupDir, this.id);
    try {
      mkdirSync(this.dir, { mode: 0o700 });
      mkdirSync(join(this.dir, 'files'), { mode: 0o700 });
    } catch (error) {
      throw ioError(error, Buffer.from(this.dir), 'write');
    }
    this.manifest = {
      version: 1,
      id: this.id,
      kind,
      time: new Date().toISOString(),
      root,
      state: 'prepared',
      summary: '',
      entries: [],
      createdDirsBase64: [],
    };
  }

  /** Saves what is at `path` now (or that nothing is); returns the entry for `after` later. */
  save(path: Buffer, rel: Buffer, node: NodeState | null): void {
    const entry: ManifestEntry = { pathBase64: rel.toString('base64'), existed: node !== null };
    if (node) {
      if (node.type !== 'file' && node.type !== 'symlink')
        throw new HindsightError('refused', `${printablePath(rel)} is not a file or a link`);
      Object.assign(entry, {
        type: node.type,
        mode: node.mode,
        uid: node.uid,
        gid: node.gid,
        mtimeMs: node.mtimeMs,
      });
      if (node.type === 'symlink') entry.targetBase64 = readTarget(path).toString('base64');
      else {
        entry.file = `files/${this.manifest.entries.length}`;
        const fd = openSame(path, node);
        let out = -1;
        try {
          out = openSync(join(this.dir, entry.file), 'wx', 0o600);
          copyFd(fd, out);
          fsyncSync(out);
        } catch (error) {
          throw ioError(error, Buffer.from(join(this.dir, entry.file)), 'write');
        } finally {
          closeSync(fd);
          if (out >= 0) closeSync(out);
        }
      }
    }
    this.manifest.entries.push(entry);
  }

  createdDir(rel: Buffer): void {
    this.manifest.createdDirsBase64.push(rel.toString('base64'));
  }

  /** On disk before the first change: a crash after it leaves a backup an undo can use. */
  prepare(summary: string): void {
    this.manifest.summary = summary;
    this.write();
  }

  /** Records what each saved path holds now, and that the change is complete. */
  applied(root: string): void {
    for (const entry of this.manifest.entries) entry.after = currentState(root, entry);
    this.manifest.state = 'applied';
    this.write();
  }

  private write(): void {
    writeFileAtomic(join(this.dir, MANIFEST), `${JSON.stringify(this.manifest, null, 2)}\n`, { mode: 0o600 });
  }
}

function currentState(root: string, entry: ManifestEntry): ManifestEntry['after'] {
  const path = Buffer.concat([Buffer.from(root), Buffer.from(entry.pathBase64, 'base64')]);
  const node = lstatAt(path);
  if (!node) return null;
  if (node.type === 'symlink') return { type: 'symlink', targetBase64: readTarget(path).toString('base64') };
  if (node.type === 'file') return { type: 'file', sha256: sha256Of(path, node) };
  throw new HindsightError('refused', `${printablePath(path)} is no longer a file or a link`);
}

function sameState(a: ManifestEntry['after'], b: ManifestEntry['after']): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

function readManifest(backupDir: string, id: string, kind?: ChangeKind): { dir: string; manifest: Manifest } {
  requireBackupId(id);
  const dir = join(backupDir, id);
  let manifest: Manifest;
  try {
    const path = join(dir, MANIFEST);
    if (!lstatSync(path).isFile()) throw new Error('not a file');
    manifest = JSON.parse(readFileSync(path, 'utf8')) as Manifest;
  } catch {
    throw new HindsightError('bad-request', `no backup ${id} in ${backupDir}`);
  }
  if (manifest?.version !== 1 || manifest.id !== id || !Array.isArray(manifest.entries))
    throw new HindsightError('unreadable', `backup ${id} has a manifest Hindsight cannot read`);
  if (kind !== undefined && manifest.kind !== kind)
    throw new HindsightError('bad-request', `backup ${id} is of a ${manifest.kind}, not of a ${kind}`);
  return { dir, manifest };
}

/**
 * Puts every path a backup saved back as it was, and removes folders the change created. Refused
 * when a path holds neither what the change left nor what was there before: someone changed it
 * since, and an undo would silently throw that away.
 */
/** Puts back what backup `id` holds; `kind`, when given, must be the change that made it. */
export function undoBackup(root: string, backupDir: string, id: string, kind?: ChangeKind): LiveChange {
  const abs = resolve(root);
  const { dir, manifest } = readManifest(backupDir, id, kind);
  if (manifest.root !== abs)
    throw new HindsightError('bad-request', `backup ${id} is of ${manifest.root}, not of ${abs}`);
  if (manifest.state === 'undone')
    throw new HindsightError('refused', `backup ${id} was already put back (${manifest.undoneAt ?? ''})`);
  confineTree(abs);
  const plans = manifest.entries.map((entry) => {
    const rel = Buffer.from(entry.pathBase64, 'base64');
    const names = pathNames(rel);
    if (checkFolders(abs, names, 'the running root') < names.length - 1 && entry.existed)
      throw new HindsightError('refused', `the folder of ${printablePath(rel)} is gone; cannot put it back`);
    const now = currentState(abs, entry);
    const before: ManifestEntry['after'] = !entry.existed
      ? null
      : entry.type === 'symlink'
        ? { type: 'symlink', targetBase64: entry.targetBase64 ?? '' }
        : { type: 'file', sha256: sha256Of(Buffer.from(join(dir, entry.file ?? '')), fileNode(dir, entry)) };
    const leftByChange = manifest.state === 'applied' && sameState(now, entry.after);
    if (!leftByChange && !sameState(now, before) && manifest.state === 'applied')
      throw new HindsightError(
        'refused',
        `${printablePath(rel)} changed since backup ${id} was taken; not undoing over that change`,
      );
    return { entry, rel, path: under(abs, names), done: sameState(now, before) };
  });
  for (const { entry, path, done } of plans) {
    const attrs = {
      mode: entry.mode ?? 0o644,
      uid: entry.uid ?? 0,
      gid: entry.gid ?? 0,
      mtimeMs: entry.mtimeMs,
    };
    if (!entry.existed) removeNode(path);
    else if (entry.type === 'symlink') {
      if (!done) installSymlink(path, Buffer.from(entry.targetBase64 ?? '', 'base64'), attrs);
    } else {
      const saved = Buffer.from(join(dir, entry.file ?? ''));
      const fd = openSame(saved, fileNode(dir, entry));
      try {
        // Even when the bytes are back already, mode, owner and mtime may not be.
        installFile(path, { fd }, attrs);
      } finally {
        closeSync(fd);
      }
    }
  }
  for (const encoded of [...manifest.createdDirsBase64].reverse()) {
    const path = under(abs, pathNames(Buffer.from(encoded, 'base64')));
    try {
      if (readdirSync(confinedDir(path)).length === 0) rmdirSync(confinedEntry(path));
    } catch {
      // gone already, or holds something new: it stays
    }
  }
  manifest.state = 'undone';
  manifest.undoneAt = new Date().toISOString();
  writeFileAtomic(join(dir, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
  const first = plans[0];
  const shown = first ? describePath(pathNames(first.rel)) : { path: '' };
  const what = plans.map((p) => printablePath(p.rel)).join(' and ');
  return { message: `Put back ${what} as before backup ${id}`, backupId: id, ...shown };
}

function fileNode(dir: string, entry: ManifestEntry): NodeState {
  const node = lstatAt(Buffer.from(join(dir, entry.file ?? '')));
  if (node?.type !== 'file')
    throw new HindsightError('unreadable', `backup ${entry.file ?? ''} in ${dir} is missing; cannot undo`);
  return node;
}

// --- restore -----------------------------------------------------------------------------------

/**
 * Copies one file or link from snapshot `from` into the live root, atomically, with the snapshot's
 * mode, owner, mtime (and link target); what it replaces is backed up under `backupDir` first.
 */
export async function restoreFile(
  root: string,
  report: SnapperRootReport,
  request: RestoreRequest,
  backupDir: string,
): Promise<LiveChange> {
  const live = requireLiveRoot(root, report);
  const { from } = request;
  if (!Number.isSafeInteger(from) || from <= 0)
    throw new HindsightError('bad-selector', `restore takes a snapshot number above 0, not ${from}`);
  if (from === report.activeSubvolume.number)
    throw new HindsightError(
      'bad-request',
      `snapshot ${from} is the running root itself; nothing to restore`,
    );
  const folder = snapshotToRead(live, report, from);
  const names = pathNames(request.path);
  const shown = describePath(names);
  const rel = joinNames(names);

  if (checkFolders(folder, names, `snapshot ${from}`) < names.length - 1)
    throw new HindsightError('bad-path', `snapshot ${from} has no ${shown.path}`);
  const source = under(folder, names);
  const node = lstatAt(source);
  if (!node) throw new HindsightError('bad-path', `snapshot ${from} has no ${shown.path}`);
  if (node.type === 'directory')
    throw new HindsightError(
      'refused',
      `${shown.path} is a folder; Hindsight restores one file or link at a time`,
    );
  if (node.type === 'other')
    throw new HindsightError(
      'refused',
      `${shown.path} is a special file (device, pipe or socket); not restored`,
    );

  const present = checkFolders(live, names, 'the running root');
  const dest = under(live, names);
  const old = present === names.length - 1 ? lstatAt(dest) : null;
  if (old && old.type !== 'file' && old.type !== 'symlink')
    throw new HindsightError(
      'refused',
      `${shown.path} in the running root is ${old.type === 'directory' ? 'a folder' : 'a special file'}; not replaced`,
    );

  const backup = new Backup(backupDir, 'restore', live);
  backup.save(dest, rel, old);
  for (let i = present; i < names.length - 1; i++) backup.createdDir(joinNames(names.slice(0, i + 1)));
  const message = `Restored ${shown.path} from snapshot ${from}${old ? '' : ' (it did not exist; undo removes it)'}; backup ${backup.id}`;
  backup.prepare(message);
  // Folders gone from the live root come back with the snapshot's attributes.
  for (let i = present; i < names.length - 1; i++) {
    const sub = names.slice(0, i + 1);
    const like = lstatAt(under(folder, sub));
    const path = under(live, sub);
    let fd = -1;
    try {
      mkdirSync(confinedEntry(path), { mode: 0o700 });
      fd = openFolder(path);
      fchownSync(fd, like?.uid ?? 0, like?.gid ?? 0);
      fchmodSync(fd, like?.mode ?? 0o755);
    } catch (error) {
      throw ioError(error, path, 'write');
    } finally {
      if (fd >= 0) closeSync(fd);
    }
  }
  installCopyOf(dest, source, node);
  backup.applied(live);
  return { message, backupId: backup.id, ...shown };
}

/** Puts back what a restore replaced (or removes what it added). */
export async function undoRestore(root: string, backupDir: string, backupId: string): Promise<LiveChange> {
  return undoBackup(root, backupDir, backupId, 'restore');
}

/** Exposed for pending-merge.ts, which writes through the same checks. */
export const liveFs = { checkFolders, lstatAt, under };
