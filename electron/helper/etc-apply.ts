import {
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fstatSync,
  fsyncSync,
  lchownSync,
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
import { join } from 'node:path';
import { HindsightError } from '../../shared/errors.ts';
import type { Resolution } from '../../shared/schemas.ts';
import type {
  Deployment,
  EtcApplyResult,
  EtcMergeFile,
  EtcPath,
  SideStatus,
  StatusReport,
} from '../../shared/types.ts';
import { fsyncDir, writeFileAtomic } from '../core/atomic-write.ts';
import {
  confinedDir,
  confinedEntry,
  confineTree,
  fsyncFolder,
  openFolder,
  openRegularFile,
} from '../core/confined-fs.ts';
import { etcRoots } from '../core/etc/etc-drift.ts';
import { analyzeMerge } from '../core/etc/etc-merge.ts';
import { encodeEtcPath, lstatNode, type NodeInfo, printablePath } from '../core/etc/etc-tree.ts';
import { requireProgram, run } from '../core/exec.ts';
import { deploymentRef, printable, resolveDeployment, resolveSnapshot } from '../core/ostree/selectors.ts';
import { findSame, label, type OperationContext, status } from './context.ts';
import { createBackupFolder, etcBackupRoot, pruneEtcBackups } from './etc-backups.ts';
import { deploymentEtc, requestPathBytes, under, walkParents } from './etc-paths.ts';
import { errnoCode } from './state.ts';

/**
 * `etc apply SOURCE TARGET`: writes the user's resolution of each /etc path (the line-merged text,
 * the source's local file, the target image's default, or edited text) into the target deployment's
 * /etc. Each file is replaced atomically (temp in the same folder, fsync, rename, fsync of the folder)
 * with the mode, owner and xattrs of the side it comes from, after a backup of every file it replaces;
 * `etc undo` puts the backup back. A kill at any moment leaves each file wholly old or wholly new, and
 * the backup manifest is on disk before the first file changes.
 */

type Change =
  | { rel: Buffer; kind: 'delete' }
  | { rel: Buffer; kind: 'copy'; from: Buffer; node: NodeInfo }
  | { rel: Buffer; kind: 'text'; text: string; attrsFrom: Buffer | null; attrsNode: NodeInfo | null };

interface ManifestEntry {
  pathBase64: string;
  existed: boolean;
  /** Backup file, relative to the backup folder, when the path existed. */
  file?: string;
}

interface Manifest {
  id: string;
  time: string;
  state: 'prepared' | 'applied' | 'undone';
  source: { stateroot: string; checksum: string; serial: number };
  target: { stateroot: string; checksum: string; serial: number };
  etc: string;
  entries: ManifestEntry[];
  /** Folders this apply created (shallowest first), removed again on undo when empty. */
  createdDirs: string[];
  undoneAt?: string;
}

const changed = (s: SideStatus): boolean => s === 'added' || s === 'modified';
let tempCounter = 0;

// --- planning ----------------------------------------------------------------------------------------

function nodeChange(rel: Buffer, from: Buffer, node: NodeInfo | null, side: string): Change {
  if (!node) return { rel, kind: 'delete' };
  requireCopyable(rel, node);
  if (node.type === 'file' || node.type === 'symlink') return { rel, kind: 'copy', from, node };
  throw new HindsightError(
    'refused',
    `"${printablePath(rel)}" is ${node.type === 'directory' ? 'a folder' : 'not a file'} on the ${side} side; Hindsight writes files and symlinks only`,
  );
}

function textChange(rel: Buffer, text: string, sides: [Buffer, NodeInfo | null][]): Change {
  // The edited or merged text keeps the attributes of the file it replaces on the way: the user's own
  // (local) file first, else the image's.
  const ref = sides.find(([, n]) => n?.type === 'file');
  return { rel, kind: 'text', text, attrsFrom: ref?.[0] ?? null, attrsNode: ref?.[1] ?? null };
}

function plan(
  resolution: Resolution,
  rel: Buffer,
  file: EtcMergeFile,
  roots: { local: string; upstream: string },
): Change {
  const localPath = under(roots.local, rel);
  const upstreamPath = under(roots.upstream, rel);
  // Each side is read through real folders only: a symlinked parent could lead anywhere on the disk.
  walkParents(roots.local, rel);
  walkParents(roots.upstream, rel);
  const local = lstatNode(localPath);
  const upstream = lstatNode(upstreamPath);
  switch (resolution.take) {
    case 'local':
      return nodeChange(rel, localPath, local, 'local');
    case 'upstream':
      return nodeChange(rel, upstreamPath, upstream, 'upstream');
    case 'edited':
      return textChange(rel, resolution.text ?? '', [
        [localPath, local],
        [upstreamPath, upstream],
      ]);
    case 'merged': {
      if (file.merge === 'clean' && file.merged !== undefined) {
        return textChange(rel, file.merged, [
          [localPath, local],
          [upstreamPath, upstream],
        ]);
      }
      if (file.merge === 'none') {
        return changed(file.local)
          ? nodeChange(rel, localPath, local, 'local')
          : nodeChange(rel, upstreamPath, upstream, 'upstream');
      }
      const why =
        file.merge === 'conflict'
          ? `has ${file.conflicts?.length ? `${file.conflicts.length} conflicting hunk(s)` : 'a delete/change conflict'}`
          : 'is not text';
      throw new HindsightError(
        'refused',
        `"${printable(file.path)}" ${why}; there is no merged text to take (choose local, upstream or edited text)`,
      );
    }
  }
}

// --- writing -----------------------------------------------------------------------------------------
//
// Every name below is resolved through confined-fs: in the root helper each folder from the /etc root
// down is held by a descriptor opened without following links, so a user who swaps a folder for a
// symlink mid-write cannot steer a temp file, a rename or a chmod out of the tree.

/** /etc holds configuration; a file this large is not something to copy through root's memory or disk. */
export const MAX_ETC_FILE_BYTES = 256 * 1024 * 1024;
const COPY_CHUNK = 1 << 20;
const TEMP_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

function requireCopyable(path: Buffer, node: NodeInfo | null): void {
  if (node?.type === 'file' && node.size > MAX_ETC_FILE_BYTES) {
    throw new HindsightError(
      'refused',
      `"${printablePath(path)}" is ${(node.size / 1024 / 1024).toFixed(0)} MB; Hindsight copies /etc files up to ${MAX_ETC_FILE_BYTES / 1024 / 1024} MB`,
    );
  }
}

function tempIn(dir: Buffer): Buffer {
  tempCounter += 1;
  return Buffer.concat([dir, Buffer.from(`/.hindsight-${process.pid}-${Date.now()}-${tempCounter}.tmp`)]);
}

function parentOf(path: Buffer): Buffer {
  const slash = path.lastIndexOf(0x2f);
  return slash <= 0 ? Buffer.from('/') : path.subarray(0, slash);
}

function removeTemp(temp: Buffer): void {
  try {
    unlinkSync(confinedEntry(temp));
  } catch {
    // never created, or its folder is gone
  }
}

/** Leftovers of a helper killed mid-write (only one Hindsight process writes at a time: the lock). */
function sweepTemps(dir: Buffer): void {
  let names: Buffer[];
  try {
    names = readdirSync(confinedDir(dir), { encoding: 'buffer' });
  } catch {
    return;
  }
  for (const name of names) {
    const text = name.toString('latin1');
    if (/^\.hindsight-\d+-\d+-\d+\.tmp$/.test(text) && !text.startsWith(`.hindsight-${process.pid}-`)) {
      removeTemp(Buffer.concat([dir, Buffer.from('/'), name]));
    }
  }
}

/**
 * Copies mode, owner and xattrs (SELinux labels among them) from one open file onto another with
 * coreutils' cp (Node has no xattr API). cp names both through /proc/PID/fd: the exact files this
 * process opened, whatever has been renamed since.
 */
async function copyAttributes(fromFd: number, toFd: number, dest: Buffer): Promise<void> {
  const result = await run(requireProgram('cp'), [
    '--attributes-only',
    '--preserve=mode,ownership,xattr',
    '--no-target-directory',
    '--',
    `/proc/${process.pid}/fd/${fromFd}`,
    `/proc/${process.pid}/fd/${toFd}`,
  ]);
  if (result.code !== 0) {
    throw new HindsightError(
      'io-error',
      `cannot give ${printablePath(dest)} its attributes: ${result.stderr.trim()}`,
    );
  }
}

function writeAll(fd: number, bytes: Buffer): void {
  let offset = 0;
  while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
}

/** Streams one open file into another, a chunk at a time, refusing one that grew past the limit. */
function copyContent(fromFd: number, toFd: number, from: Buffer): void {
  const chunk = Buffer.allocUnsafe(COPY_CHUNK);
  let total = 0;
  for (;;) {
    const n = readSync(fromFd, chunk, 0, chunk.length, null);
    if (n === 0) return;
    total += n;
    if (total > MAX_ETC_FILE_BYTES) requireCopyable(from, { size: total, type: 'file' } as NodeInfo);
    writeAll(toFd, chunk.subarray(0, n));
  }
}

/**
 * Writes `dest` as a regular file atomically: a private temp file in the same folder (created with
 * O_EXCL|O_NOFOLLOW), the bytes, the attributes of `attrsFd` (else root:root 0644), fsync, rename
 * over `dest`, fsync of the folder. On any failure the temp file is removed.
 */
async function installFile(
  dest: Buffer,
  content: { bytes: Buffer } | { fromFd: number; from: Buffer },
  attrsFd: number | null,
): Promise<void> {
  const dir = parentOf(dest);
  sweepTemps(dir);
  const temp = tempIn(dir);
  let fd = -1;
  try {
    // Private until its attributes are set: /etc/shadow must never be readable on the way.
    fd = openSync(confinedEntry(temp), TEMP_FLAGS, 0o600);
    if ('bytes' in content) writeAll(fd, content.bytes);
    else copyContent(content.fromFd, fd, content.from);
    if (attrsFd === null) {
      fchownSync(fd, 0, 0);
      fchmodSync(fd, 0o644);
    } else await copyAttributes(attrsFd, fd, dest);
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    renameSync(confinedEntry(temp), confinedEntry(dest));
  } catch (error) {
    if (fd >= 0) closeSync(fd);
    removeTemp(temp);
    throw ioError(error, dest);
  }
  fsyncFolder(dir);
}

async function installSymlink(dest: Buffer, target: Buffer, owner: NodeInfo | null): Promise<void> {
  const dir = parentOf(dest);
  sweepTemps(dir);
  const temp = tempIn(dir);
  try {
    symlinkSync(target, confinedEntry(temp));
    if (owner) lchownSync(confinedEntry(temp), owner.uid, owner.gid);
    renameSync(confinedEntry(temp), confinedEntry(dest));
  } catch (error) {
    removeTemp(temp);
    throw ioError(error, dest);
  }
  fsyncFolder(dir);
}

function ioError(error: unknown, path: Buffer): HindsightError {
  if (error instanceof HindsightError) return error;
  const code = errnoCode(error);
  if (code === 'EROFS') {
    return new HindsightError(
      'refused',
      `${printablePath(path)} is on a read-only file system (a read-only /sysroot); Hindsight cannot write it from here`,
    );
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return new HindsightError('not-authorized', `cannot write ${printablePath(path)}: permission denied`);
  }
  // Its folder was checked (or made) just before: one that is gone, is back, or became a link has
  // been swapped under Hindsight by someone else.
  if (code === 'ENOENT' || code === 'EEXIST' || code === 'ENOTDIR' || code === 'ELOOP' || code === 'EINVAL') {
    return new HindsightError(
      'refused',
      `${printablePath(path)} changed while Hindsight wrote it (a folder on the way is no longer a folder, or the file is no longer a file); nothing was written there`,
    );
  }
  return new HindsightError(
    'io-error',
    `cannot write ${printablePath(path)}: ${code ?? (error as Error).message}`,
  );
}

/**
 * Copies an existing node (file bytes or symlink) with its attributes. The bytes and the attributes
 * come from one descriptor, opened without following a link, and checked to be the node planned.
 */
async function installCopyOf(dest: Buffer, from: Buffer, node: NodeInfo): Promise<void> {
  if (node.type === 'symlink') {
    let target: Buffer;
    try {
      target = readlinkSync(confinedEntry(from), { encoding: 'buffer' });
    } catch (error) {
      throw ioError(error, from);
    }
    await installSymlink(dest, target, node);
    return;
  }
  if (node.type !== 'file') throw new HindsightError('refused', `${printablePath(from)} is not a file`);
  requireCopyable(from, node);
  let fromFd: number;
  try {
    fromFd = openRegularFile(from);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') {
      throw new HindsightError(
        'refused',
        `${printablePath(from)} is gone since Hindsight checked it; nothing was written`,
      );
    }
    throw ioError(error, from);
  }
  try {
    const st = fstatSync(fromFd);
    if (st.ino !== node.ino || st.dev !== node.dev) {
      throw new HindsightError(
        'refused',
        `${printablePath(from)} changed while Hindsight read it; nothing was written`,
      );
    }
    await installFile(dest, { fromFd, from }, fromFd);
  } finally {
    closeSync(fromFd);
  }
}

/** Writes text with the attributes of a reference file (the one it replaces on the way), if any. */
async function installText(
  dest: Buffer,
  text: string,
  attrs: { from: Buffer; node: NodeInfo } | null,
): Promise<void> {
  if (!attrs) {
    await installFile(dest, { bytes: Buffer.from(text, 'utf8') }, null);
    return;
  }
  let attrsFd: number;
  try {
    attrsFd = openRegularFile(attrs.from);
  } catch (error) {
    throw ioError(error, attrs.from);
  }
  try {
    await installFile(dest, { bytes: Buffer.from(text, 'utf8') }, attrsFd);
  } finally {
    closeSync(attrsFd);
  }
}

function remove(dest: Buffer): void {
  const node = lstatNode(dest);
  if (!node) return;
  if (node.type === 'directory') throw new HindsightError('refused', `${printablePath(dest)} is a folder`);
  try {
    unlinkSync(confinedEntry(dest));
  } catch (error) {
    throw ioError(error, dest);
  }
  fsyncFolder(parentOf(dest));
}

/** Creates missing parent folders with the attributes of the same folder on the chosen side. */
function createParents(etc: string, missing: Buffer[], sideRoot: string | null): void {
  for (const rel of missing) {
    const path = under(etc, rel);
    const like = sideRoot ? lstatNode(under(sideRoot, rel)) : null;
    let fd = -1;
    try {
      mkdirSync(confinedEntry(path), { mode: 0o700 });
      fd = openFolder(path);
      const ref = like?.type === 'directory' ? like : null;
      // chown first: it clears set-id bits that the chmod then sets.
      fchownSync(fd, ref?.uid ?? 0, ref?.gid ?? 0);
      fchmodSync(fd, ref?.mode ?? 0o755);
    } catch (error) {
      throw ioError(error, path);
    } finally {
      if (fd >= 0) closeSync(fd);
    }
    fsyncFolder(parentOf(path));
  }
}

// --- the operations ----------------------------------------------------------------------------------

function backupRoot(report: StatusReport): string {
  return etcBackupRoot(report);
}

function newBackupId(): string {
  const stamp = new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

function writeManifest(dir: string, manifest: Manifest): void {
  writeFileAtomic(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
}

/**
 * The deployment whose /etc a resolution for `target` is written to. A staged deployment has no /etc
 * of its own until shutdown, when ostree builds it from the booted /etc (DESIGN.md): a resolution for
 * it goes into the booted /etc, where that merge picks it up. Either way the live /etc is written
 * only when asked (allowBooted).
 */
function writtenDeployment(
  report: StatusReport,
  target: Deployment,
  allowBooted: boolean | undefined,
): Deployment {
  let writeTo = target;
  if (target.staged) {
    const booted = report.deployments.find((d) => d.booted);
    if (!booted || !report.bootedSystem) {
      throw new HindsightError(
        'refused',
        `deployment ${target.index} ${label(target)} is staged but no deployment is booted`,
      );
    }
    if (!allowBooted) {
      throw new HindsightError(
        'refused',
        `deployment ${target.index} ${label(target)} is staged: ostree builds its /etc at shutdown from the live /etc, so the resolution is written to the live /etc and carried over. Ask explicitly to write it (allowBooted, --allow-booted)`,
      );
    }
    writeTo = booted;
  }
  if (writeTo.booted && !allowBooted) {
    throw new HindsightError(
      'refused',
      `deployment ${target.index} ${label(target)} is running now: its /etc is the live /etc. Ask explicitly to write it (allowBooted, --allow-booted)`,
    );
  }
  return writeTo;
}

export async function etcApply(
  ctx: OperationContext,
  params: { source: string; target: string; resolutions: Resolution[]; allowBooted?: boolean },
): Promise<EtcApplyResult> {
  const report = await status(ctx);
  const source = resolveDeployment(report, params.source);
  const snapshot = resolveSnapshot(report, params.target);
  if (snapshot.kind !== 'deployment') {
    throw new HindsightError(
      'refused',
      `${params.target} is a commit that is not deployed: it has no /etc to write yet (deploy it first, then apply)`,
    );
  }
  const target = snapshot.deployment;
  const writeTo = writtenDeployment(report, target, params.allowBooted);
  const etc = deploymentEtc(report, writeTo);
  const roots = { ...etcRoots(report.sysroot, source), upstream: etcRoots(report.sysroot, target).base };

  // Validate everything before anything is written.
  const analysis = new Map<string, EtcMergeFile>();
  for (const file of analyzeMerge(roots)) {
    const bytes =
      file.pathBase64 !== undefined ? Buffer.from(file.pathBase64, 'base64') : Buffer.from(file.path);
    analysis.set(bytes.toString('latin1'), file);
  }
  const seen = new Set<string>();
  const changes: { change: Change; missing: Buffer[] }[] = [];
  for (const resolution of params.resolutions) {
    const rel = requestPathBytes(resolution.path);
    const key = rel.toString('latin1');
    if (seen.has(key)) throw new HindsightError('bad-request', `"${printablePath(rel)}" is resolved twice`);
    seen.add(key);
    const file = analysis.get(key);
    if (!file) {
      throw new HindsightError(
        'refused',
        `"${printablePath(rel)}" is not a path that either side changed between deployment ${source.index} and ${target.index} (see hindsight etc merge)`,
      );
    }
    const change = plan(resolution, rel, file, roots);
    const { missing } = walkParents(etc, rel);
    const existing = lstatNode(under(etc, rel));
    // Its backup is a copy too: refused before anything is written.
    requireCopyable(rel, existing);
    if (existing?.type === 'directory') {
      throw new HindsightError(
        'refused',
        `"${printablePath(rel)}" is a folder in the target's /etc; Hindsight does not replace folders`,
      );
    }
    changes.push({ change, missing: change.kind === 'delete' ? [] : missing });
  }

  return writeEtcChanges(ctx, report, {
    operation: 'etcApply',
    source,
    target,
    writeTo,
    etc,
    roots,
    changes,
  });
}

/**
 * Writes planned changes into one deployment's /etc: the backup of every path first (manifest on
 * disk before the first file changes), then each file atomically. `etc apply` and `etc restore` plan
 * differently and write through here.
 */
async function writeEtcChanges(
  ctx: OperationContext,
  report: StatusReport,
  write: {
    operation: 'etcApply' | 'etcRestore';
    source: Deployment;
    target: Deployment;
    writeTo: Deployment;
    etc: string;
    roots: { local: string; upstream: string };
    changes: { change: Change; missing: Buffer[] }[];
  },
): Promise<EtcApplyResult> {
  const { source, target, writeTo, etc, roots, changes } = write;
  const id = newBackupId();
  // Root-only folders (they will hold copies of files like /etc/shadow): see etc-backups.ts.
  const dir = createBackupFolder(backupRoot(report), id);
  confineTree(dir);
  const manifest: Manifest = {
    id,
    time: new Date().toISOString(),
    state: 'prepared',
    source: { stateroot: source.stateroot, checksum: source.checksum, serial: source.serial },
    target: { stateroot: writeTo.stateroot, checksum: writeTo.checksum, serial: writeTo.serial },
    etc,
    entries: [],
    createdDirs: [],
  };
  const dirsToCreate = new Set<string>();
  for (const [i, { change, missing }] of changes.entries()) {
    const dest = under(etc, change.rel);
    const node = lstatNode(dest);
    const entry: ManifestEntry = { pathBase64: change.rel.toString('base64'), existed: node !== null };
    if (node) {
      entry.file = `files/${i}`;
      await installCopyOf(Buffer.from(join(dir, entry.file)), dest, node);
    }
    manifest.entries.push(entry);
    for (const m of missing) {
      const key = m.toString('base64');
      if (!dirsToCreate.has(key)) {
        dirsToCreate.add(key);
        manifest.createdDirs.push(key);
      }
    }
  }
  fsyncDir(join(dir, 'files'));
  writeManifest(dir, manifest);

  ctx.emit({
    operation: write.operation,
    phase: 'writing',
    fraction: 0,
    objectsDone: 0,
    objectsTotal: changes.length,
  });
  const written: EtcPath[] = [];
  for (const [i, { change, missing }] of changes.entries()) {
    const dest = under(etc, change.rel);
    const fresh = missing.filter((m) => lstatNode(under(etc, m)) === null);
    if (change.kind === 'delete') remove(dest);
    else {
      const sideRoot = change.kind === 'copy' ? sideRootOf(change.from, roots) : roots.local;
      createParents(etc, fresh, sideRoot);
      if (change.kind === 'copy') await installCopyOf(dest, change.from, change.node);
      else {
        const attrs =
          change.attrsFrom && change.attrsNode ? { from: change.attrsFrom, node: change.attrsNode } : null;
        await installText(dest, change.text, attrs);
      }
    }
    written.push(encodeEtcPath(change.rel));
    ctx.emit({
      operation: write.operation,
      phase: 'writing',
      fraction: (i + 1) / changes.length,
      objectsDone: i + 1,
      objectsTotal: changes.length,
    });
  }
  manifest.state = 'applied';
  writeManifest(dir, manifest);
  pruneEtcBackups(report);
  return { target: deploymentRef(target), written, backupId: id };
}

function sideRootOf(from: Buffer, roots: { local: string; upstream: string }): string | null {
  const text = from.toString('latin1');
  if (text.startsWith(`${roots.local}/`)) return roots.local;
  if (text.startsWith(`${roots.upstream}/`)) return roots.upstream;
  return null;
}

function readManifest(dir: string): Manifest | null {
  try {
    const value = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
    return value && Array.isArray(value.entries) ? value : null;
  } catch {
    return null;
  }
}

export async function etcUndo(ctx: OperationContext, backupId: string | undefined): Promise<EtcApplyResult> {
  const report = await status(ctx);
  const root = backupRoot(report);
  let id = backupId;
  if (id === undefined) {
    let names: string[] = [];
    try {
      names = readdirSync(root).filter((n) => /^[\w.-]{1,100}$/.test(n));
    } catch {
      names = [];
    }
    const candidates = names
      .map((n) => readManifest(join(root, n)))
      .filter((m): m is Manifest => m !== null && m.state !== 'undone')
      .sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : 0));
    id = candidates[0]?.id;
    if (!id) throw new HindsightError('refused', 'there is no /etc change to undo');
  }
  if (!/^[\w.-]{1,100}$/.test(id) || id === '.' || id === '..') {
    throw new HindsightError('bad-request', 'not a backup id');
  }
  const dir = join(root, id);
  confineTree(dir);
  const manifest = readManifest(dir);
  if (!manifest || manifest.id !== id) throw new HindsightError('refused', `there is no /etc backup "${id}"`);
  if (manifest.state === 'undone')
    throw new HindsightError('refused', `the /etc change ${id} was already undone`);
  const target = findSame(report, manifest.target);
  if (!target) {
    throw new HindsightError(
      'refused',
      `the deployment that change ${id} wrote to (${manifest.target.checksum.slice(0, 10)}.${manifest.target.serial}) no longer exists`,
    );
  }
  const etc = deploymentEtc(report, target);
  if (etc !== manifest.etc) {
    throw new HindsightError(
      'refused',
      `change ${id} was written to ${manifest.etc}, not ${etc}; not undoing it`,
    );
  }
  const restored: EtcPath[] = [];
  const entries = [...manifest.entries].reverse();
  for (const [i, entry] of entries.entries()) {
    const rel = Buffer.from(entry.pathBase64, 'base64');
    requestPathBytes({ path: rel.toString('utf8'), pathBase64: entry.pathBase64 });
    const { missing } = walkParents(etc, rel);
    const dest = under(etc, rel);
    if (entry.existed && entry.file) {
      const backup = Buffer.from(join(dir, entry.file));
      const node = lstatNode(backup);
      if (!node)
        throw new HindsightError(
          'unreadable',
          `the backup of "${printablePath(rel)}" is missing from ${dir}`,
        );
      if (missing.length) createParents(etc, missing, null);
      await installCopyOf(dest, backup, node);
    } else if (!missing.length) remove(dest);
    restored.push(encodeEtcPath(rel));
    ctx.emit({
      operation: 'etcUndo',
      phase: 'restoring',
      fraction: (i + 1) / entries.length,
      objectsDone: i + 1,
      objectsTotal: entries.length,
    });
  }
  for (const key of [...manifest.createdDirs].reverse()) {
    const path = under(etc, Buffer.from(key, 'base64'));
    try {
      rmdirSync(confinedEntry(path));
    } catch {
      // not empty (someone put a file there since) or already gone: leave it
    }
  }
  manifest.state = 'undone';
  manifest.undoneAt = new Date().toISOString();
  writeManifest(dir, manifest);
  return { target: deploymentRef(target), written: restored, backupId: id };
}

/**
 * `etc restore DEPLOYMENT PATH --from default|DEPLOYMENT`: puts one /etc path of a deployment back to
 * its image's default (`usr/etc`; absent there: the local file is removed) or copies it from another
 * deployment's /etc. Same rules and backup as `etc apply`: confined, no links followed, the running
 * /etc only when asked, and `etc undo` puts it back.
 */
export async function etcRestore(
  ctx: OperationContext,
  params: { deployment: string; path: EtcPath; from?: string; allowBooted?: boolean },
): Promise<EtcApplyResult> {
  // No `from`: the image's default, /etc as the deployment's own commit ships it (usr/etc).
  const fromImage = params.from === undefined;
  const report = await status(ctx);
  const snapshot = resolveSnapshot(report, params.deployment);
  if (snapshot.kind !== 'deployment') {
    throw new HindsightError(
      'refused',
      `${params.deployment} is a commit that is not deployed: it has no /etc to write yet`,
    );
  }
  const target = snapshot.deployment;
  const writeTo = writtenDeployment(report, target, params.allowBooted);
  const etc = deploymentEtc(report, writeTo);
  const source = params.from === undefined ? target : resolveDeployment(report, params.from);
  const fromRoot = fromImage ? etcRoots(report.sysroot, target).base : etcRoots(report.sysroot, source).local;
  const rel = requestPathBytes(params.path);
  walkParents(fromRoot, rel);
  const fromPath = under(fromRoot, rel);
  const node = lstatNode(fromPath);
  const existing = lstatNode(under(etc, rel));
  if (!node && !existing)
    throw new HindsightError(
      'bad-path',
      `"${printablePath(rel)}" is in neither ${fromImage ? "the image's /etc" : `deployment ${source.index}'s /etc`} nor the target's`,
    );
  requireCopyable(rel, existing);
  if (existing?.type === 'directory')
    throw new HindsightError(
      'refused',
      `"${printablePath(rel)}" is a folder in the target's /etc; Hindsight does not replace folders`,
    );
  const change = nodeChange(rel, fromPath, node, fromImage ? 'image default' : 'source');
  const { missing } = walkParents(etc, rel);
  return writeEtcChanges(ctx, report, {
    operation: 'etcRestore',
    source,
    target,
    writeTo,
    etc,
    roots: { local: fromRoot, upstream: fromRoot },
    changes: [{ change, missing: change.kind === 'delete' ? [] : missing }],
  });
}
