import { AsyncLocalStorage } from 'node:async_hooks';
import { closeSync, constants, fstatSync, fsyncSync, lstatSync, openSync, realpathSync } from 'node:fs';
import { HindsightError } from '../../shared/errors.ts';

/**
 * File work that an unprivileged user cannot redirect while root does it.
 *
 * Checking a path with lstat and then using it by name is a race: between the two, a user who owns
 * any folder on the way can swap it for a symlink, and root then reads or writes wherever the link
 * points. Node has no openat(2), so the same guarantee comes from Linux's /proc/self/fd: a path
 * `/proc/self/fd/N/name` is looked up in the very folder that descriptor N holds, whatever has been
 * renamed since. Each folder below a tree's root is opened with O_DIRECTORY|O_NOFOLLOW from its
 * parent's descriptor, so no link is followed from the root down, and the final name of every
 * lstat, readlink, open (with O_NOFOLLOW), rename, unlink and mkdir is resolved in such a folder.
 *
 * Where every folder from the root down to an entry's is owned by root and writable by no one else,
 * no other user can swap any of them, and the entry's plain path is used (a descriptor path costs
 * about twice as much per call, and almost all of /etc is such folders): the descriptor paths start
 * at the first folder another user could change.
 *
 * Confinement is scoped (AsyncLocalStorage): the root helper runs each request in a scope, the trees
 * it touches register their roots in it (`confineTree`), and every descriptor is closed when the
 * request ends, so a folder moved after one request never steers the next. Outside a scope (the
 * unprivileged app and CLI) paths are used as given: a user cannot gain anything by racing themself.
 */

/** An open folder, and whether no one but root can change it or any folder above it. */
interface Folder {
  fd: number;
  trusted: boolean;
}

interface Tree {
  root: Buffer;
  top: Folder;
  /** Open folders below the root, by their relative path (latin1 of the bytes). */
  dirs: Map<string, Folder>;
}

interface Scope {
  trees: Tree[];
}

const scopes = new AsyncLocalStorage<Scope>();
const SLASH = 0x2f;
const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
/** Never block on a FIFO or adopt a terminal that was swapped in for a file. */
const FILE_READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY;

/** Runs `work` with confinement on: every tree registered inside it is walked by descriptors. */
export async function withConfinement<T>(work: () => Promise<T>): Promise<T> {
  const scope: Scope = { trees: [] };
  try {
    return await scopes.run(scope, work);
  } finally {
    for (const tree of scope.trees) {
      for (const folder of tree.dirs.values()) closeSync(folder.fd);
      closeSync(tree.top.fd);
    }
  }
}

export function confinementActive(): boolean {
  return scopes.getStore() !== undefined;
}

/**
 * Registers a tree root in the current scope (no-op outside one). As root, the root's own path must
 * be safe (see requireRootSafe): it is opened by name once, and everything below it by descriptor.
 * A root that does not exist is not registered; callers report it (requireEtcRoot).
 */
export function confineTree(root: string): void {
  const scope = scopes.getStore();
  if (!scope) return;
  const bytes = Buffer.from(root);
  if (scope.trees.some((t) => t.root.equals(bytes))) return;
  if (process.getuid?.() === 0) requireRootSafe(root);
  let fd: number;
  try {
    fd = openSync(root, constants.O_RDONLY | constants.O_DIRECTORY);
  } catch {
    return;
  }
  // As root the root's chain was just checked; otherwise nothing is taken on trust.
  const trusted = process.getuid?.() === 0 && onlyRootCanChange(fstatSync(fd));
  scope.trees.push({ root: bytes, top: { fd, trusted }, dirs: new Map() });
  // Longest root first: a tree inside another (usr/etc inside a deployment) wins for its paths.
  scope.trees.sort((a, b) => b.root.length - a.root.length);
}

function treeOf(scope: Scope, path: Buffer): { tree: Tree; rel: Buffer } | null {
  for (const tree of scope.trees) {
    if (path.equals(tree.root)) return { tree, rel: Buffer.alloc(0) };
    if (
      path.length > tree.root.length &&
      path[tree.root.length] === SLASH &&
      path.subarray(0, tree.root.length).equals(tree.root)
    ) {
      return { tree, rel: path.subarray(tree.root.length + 1) };
    }
  }
  return null;
}

/** `/proc/self/fd/N/` by descriptor number: the same bytes whichever folder N holds at the time. */
const heads = new Map<number, Buffer>();

function fdPath(fd: number, name?: Buffer): Buffer {
  let head = heads.get(fd);
  if (!head) {
    head = Buffer.from(`/proc/self/fd/${fd}/`);
    heads.set(fd, head);
  }
  return name ? Buffer.concat([head, name], head.length + name.length) : head.subarray(0, head.length - 1);
}

function fsError(code: string, path: Buffer): NodeJS.ErrnoException {
  const error = new Error(`${code}: ${path.toString('utf8')}`) as NodeJS.ErrnoException;
  error.code = code;
  return error;
}

/**
 * Whether only root can change a folder's entries: owned by root and writable by no one else (a
 * sticky folder is fine: others cannot rename what root owns in it).
 */
function onlyRootCanChange(st: { uid: number; gid: number; mode: number; isDirectory(): boolean }): boolean {
  const sticky = st.isDirectory() && (st.mode & 0o1000) !== 0;
  const othersWrite = (st.mode & 0o002) !== 0 && !sticky;
  const groupWrite = (st.mode & 0o020) !== 0 && st.gid !== 0 && !sticky;
  return st.uid === 0 && !othersWrite && !groupWrite;
}

/** Folder `names` (components) of `tree`, opened link-free from the root down. */
function folderOf(tree: Tree, names: Buffer[], path: Buffer): Folder {
  let folder = tree.top;
  let key = '';
  for (const name of names) {
    key = key ? `${key}/${name.toString('latin1')}` : name.toString('latin1');
    const known = tree.dirs.get(key);
    if (known !== undefined) {
      folder = known;
      continue;
    }
    let fd: number;
    try {
      fd = openSync(fdPath(folder.fd, name), DIR_FLAGS);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // A symlink (ELOOP) or a file where a folder should be: the path does not lead through folders.
      throw fsError(
        code === 'ENOENT' ? 'ENOENT' : code === 'ELOOP' || code === 'ENOTDIR' ? 'ENOTDIR' : (code ?? 'EIO'),
        path,
      );
    }
    folder = { fd, trusted: folder.trusted && onlyRootCanChange(fstatSync(fd)) };
    tree.dirs.set(key, folder);
  }
  return folder;
}

function split(rel: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= rel.length; i++) {
    if (i === rel.length || rel[i] === SLASH) {
      if (i > start) out.push(rel.subarray(start, i));
      start = i + 1;
    }
  }
  return out;
}

/**
 * The path to use for an operation on `path` itself (lstat, readlink, open with O_NOFOLLOW, rename,
 * unlink, mkdir, rmdir, symlink): its folder by descriptor, its own name last. Unchanged outside a
 * scope or a registered tree. Throws ENOENT/ENOTDIR (as fs does) when a parent is missing or a link.
 */
export function confinedEntry(path: Buffer): Buffer {
  const scope = scopes.getStore();
  if (!scope) return path;
  const found = treeOf(scope, path);
  if (!found || found.rel.length === 0) return path;
  const rel = found.rel;
  const slash = rel.lastIndexOf(SLASH);
  // Most calls name an entry of a folder already open (a scan lists a folder, then lstats each name).
  let folder = slash < 0 ? found.tree.top : found.tree.dirs.get(rel.subarray(0, slash).toString('latin1'));
  let name = rel.subarray(slash + 1);
  if (folder === undefined || name.length === 0) {
    const names = split(rel);
    name = names.pop() as Buffer;
    folder = folderOf(found.tree, names, path);
  }
  // Through folders only root can change, the path by name reaches the same entry, and faster.
  return folder.trusted ? path : fdPath(folder.fd, name);
}

/** The path to use for a folder's own contents (readdir, fsync): the folder's descriptor. */
export function confinedDir(path: Buffer): Buffer {
  const scope = scopes.getStore();
  if (!scope) return path;
  const found = treeOf(scope, path);
  if (!found) return path;
  const folder =
    found.rel.length === 0
      ? found.tree.top
      : (found.tree.dirs.get(found.rel.toString('latin1')) ?? folderOf(found.tree, split(found.rel), path));
  return folder.trusted ? path : fdPath(folder.fd);
}

/**
 * Opens a regular file for reading without following a link at its end (or, in a scope, anywhere
 * below its tree's root), and checks by fstat that a regular file is what was opened.
 */
export function openRegularFile(path: Buffer): number {
  const fd = openSync(confinedEntry(path), FILE_READ_FLAGS);
  let regular = false;
  try {
    regular = fstatSync(fd).isFile();
  } finally {
    if (!regular) closeSync(fd);
  }
  if (!regular) throw fsError('EINVAL', path);
  return fd;
}

/**
 * As root, Hindsight only works in folders that no other user can change: every component from `/`
 * down to `path` must be owned by root and writable by nobody else (a root-owned sticky folder such
 * as /tmp is fine: others cannot rename what root owns in it). Otherwise the user who can change it
 * owns the data anyway and should run Hindsight as themself, without root.
 */
export function requireRootSafe(path: string): void {
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    return; // a missing folder is reported by whoever needs it
  }
  let at = '/';
  for (const name of ['', ...real.split('/').filter(Boolean)]) {
    at = name ? (at === '/' ? `/${name}` : `${at}/${name}`) : '/';
    const st = lstatSync(at);
    if (!onlyRootCanChange(st)) {
      const why = st.uid !== 0 ? `is owned by uid ${st.uid}` : 'is writable by other users';
      throw new HindsightError(
        'refused',
        `${at} ${why}; as root, Hindsight does not work in folders another user can change (run it as that user: a sysroot you own needs no root)`,
      );
    }
  }
}

/**
 * A new descriptor of the folder `path` (for fsync, fchown, fchmod), opened without following a link:
 * in a scope through the folder's own checked descriptor, outside one with O_NOFOLLOW. Caller closes.
 */
export function openFolder(path: Buffer): number {
  const confined = confinedDir(path);
  if (confined !== path) return openSync(confined, constants.O_RDONLY | constants.O_DIRECTORY);
  return openSync(path, DIR_FLAGS);
}

/** fsync of a folder, so a rename in it survives a crash. */
export function fsyncFolder(dir: Buffer): void {
  let fd = -1;
  try {
    fd = openFolder(dir);
    fsyncSync(fd);
  } catch {
    // some file systems refuse fsync on folders; the rename is still atomic
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}
