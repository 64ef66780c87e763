import { AsyncLocalStorage } from 'node:async_hooks';
import { closeSync, constants, fstatSync, lstatSync, openSync, realpathSync } from 'node:fs';
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
 * Confinement is scoped (AsyncLocalStorage): the root helper runs each request in a scope, the trees
 * it touches register their roots in it (`confineTree`), and every descriptor is closed when the
 * request ends, so a folder moved after one request never steers the next. Outside a scope (the
 * unprivileged app and CLI) paths are used as given: a user cannot gain anything by racing themself.
 */

interface Tree {
  root: Buffer;
  rootFd: number;
  /** Open folders below the root, by their relative path (latin1 of the bytes). */
  dirs: Map<string, number>;
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
      for (const fd of tree.dirs.values()) closeSync(fd);
      closeSync(tree.rootFd);
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
  scope.trees.push({ root: bytes, rootFd: fd, dirs: new Map() });
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

function fdPath(fd: number, name?: Buffer): Buffer {
  const head = Buffer.from(`/proc/self/fd/${fd}`);
  return name ? Buffer.concat([head, Buffer.from('/'), name]) : head;
}

function fsError(code: string, path: Buffer): NodeJS.ErrnoException {
  const error = new Error(`${code}: ${path.toString('utf8')}`) as NodeJS.ErrnoException;
  error.code = code;
  return error;
}

/** The descriptor of folder `rel` (components) in `tree`, opened link-free from the root down. */
function dirFd(tree: Tree, names: Buffer[], path: Buffer): number {
  let fd = tree.rootFd;
  let key = '';
  for (const name of names) {
    key = key ? `${key}/${name.toString('latin1')}` : name.toString('latin1');
    const known = tree.dirs.get(key);
    if (known !== undefined) {
      fd = known;
      continue;
    }
    try {
      fd = openSync(fdPath(fd, name), DIR_FLAGS);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // A symlink (ELOOP) or a file where a folder should be: the path does not lead through folders.
      throw fsError(
        code === 'ENOENT' ? 'ENOENT' : code === 'ELOOP' || code === 'ENOTDIR' ? 'ENOTDIR' : (code ?? 'EIO'),
        path,
      );
    }
    tree.dirs.set(key, fd);
  }
  return fd;
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
  const names = split(found.rel);
  const last = names.pop() as Buffer;
  return fdPath(dirFd(found.tree, names, path), last);
}

/** The path to use for a folder's own contents (readdir, fsync): the folder's descriptor. */
export function confinedDir(path: Buffer): Buffer {
  const scope = scopes.getStore();
  if (!scope) return path;
  const found = treeOf(scope, path);
  if (!found) return path;
  if (found.rel.length === 0) return fdPath(found.tree.rootFd);
  return fdPath(dirFd(found.tree, split(found.rel), path));
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
    const sticky = (st.mode & 0o1000) !== 0;
    const othersWrite = (st.mode & 0o002) !== 0 && !(st.isDirectory() && sticky);
    const groupWrite = (st.mode & 0o020) !== 0 && st.gid !== 0 && !(st.isDirectory() && sticky);
    if (st.uid !== 0 || othersWrite || groupWrite) {
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
