import { createHash } from 'node:crypto';
import { closeSync, type Dirent, lstatSync, read, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { promisify } from 'node:util';
import { HindsightError } from '../../../shared/errors.ts';
import type { MergeFileKind } from '../../../shared/snapper.ts';
import type { FileType, PackageFormat } from '../../../shared/types.ts';
import { confinedDir, confinedEntry, confineTree, openRegularFile } from '../confined-fs.ts';
import { fileTypeOf } from '../file-type.ts';
import { type ConfigFile, readConfigFiles } from '../packages/config-files.ts';

/**
 * Drift of a root's configuration files from what its packages installed: each config file the
 * package database records (packages/config-files.ts) held against the file on disk, as `rpm -V`,
 * `dpkg --verify` and `pacman -Qii` do, plus the merges a package manager left pending beside them
 * (`.rpmnew`, `.dpkg-dist`, `.pacnew`, …). Backend-neutral: a function of one root folder (a
 * snapper snapshot, a plain root, a deployment).
 *
 * Nothing outside the root is ever read: a link in a path's folders is resolved inside the root (as
 * rpm and dpkg resolve it when chrooted into it), the file itself is never followed (lstat, then
 * open with O_NOFOLLOW and a check that a regular file was opened), and in the root helper the
 * root is confined (confined-fs.ts) so the folders cannot be swapped for links between the two.
 */

export type ConfigDriftStatus =
  /** As installed. */
  | 'unchanged'
  /** Same type, but content, link target, permissions or owner differ (`changes`). */
  | 'modified'
  | 'missing'
  /** Something of another type in its place (a directory, a link where a file was). */
  | 'replaced'
  /** There, but it could not be read (permissions, I/O): `reason` says why. */
  | 'unreadable'
  /** Nothing to hold it to: a %ghost, a file rpm did not install, a dpkg `newconffile`. */
  | 'unchecked';

export type ConfigChange = 'content' | 'link' | 'mode' | 'owner';

export interface LocalConfigNode {
  type: FileType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** A symlink's target. */
  target?: string;
  /** The digest of a regular file, in the recorded algorithm. */
  digest?: string;
}

export interface ConfigDriftEntry {
  path: string;
  package: string;
  status: ConfigDriftStatus;
  changes: ConfigChange[];
  /** What the database recorded. */
  recorded: ConfigFile;
  /** What is on disk; null when missing. */
  local: LocalConfigNode | null;
  /** Why a file is unreadable or unchecked. */
  reason?: string;
}

export type { MergeFileKind };

/** Which package manager leaves each kind, and what the file beside the base is. */
export const MERGE_FILES: Record<MergeFileKind, { tool: PackageFormat; holds: 'upstream' | 'previous' }> = {
  // The package's new version, the local edit kept in place (%config(noreplace), dpkg "keep yours", pacman backup).
  rpmnew: { tool: 'rpm', holds: 'upstream' },
  'dpkg-dist': { tool: 'dpkg', holds: 'upstream' },
  'dpkg-new': { tool: 'dpkg', holds: 'upstream' },
  pacnew: { tool: 'pacman', holds: 'upstream' },
  // The local edit moved aside, the package's version put in place (or the package removed).
  rpmsave: { tool: 'rpm', holds: 'previous' },
  rpmorig: { tool: 'rpm', holds: 'previous' },
  'dpkg-old': { tool: 'dpkg', holds: 'previous' },
  pacsave: { tool: 'pacman', holds: 'previous' },
  pacorig: { tool: 'pacman', holds: 'previous' },
};

const MERGE_KINDS = Object.keys(MERGE_FILES) as MergeFileKind[];

export interface PendingMerge {
  /** The merge file: `/etc/x.conf.rpmnew`. */
  path: string;
  /** The file it belongs beside: `/etc/x.conf`. */
  basePath: string;
  kind: MergeFileKind;
  /** Whether it holds the package's new version (`upstream`) or a local version moved aside (`previous`). */
  holds: 'upstream' | 'previous';
  /** Packages whose database records the base path as a config file; empty when none does (now). */
  owners: string[];
  /** The merge file's own type (a stray directory named `x.rpmnew` is listed, not merged). */
  type: FileType;
  /** The base path's drift, when it is a recorded config file. */
  baseStatus: ConfigDriftStatus | null;
}

export interface PackageDriftReport {
  format: PackageFormat;
  /** The database read, relative to the root. */
  source: string;
  /** Every recorded config file, or only those not unchanged (see `unchanged`). */
  entries: ConfigDriftEntry[];
  pending: PendingMerge[];
  /** How many recorded config files were as installed (listed only with `unchanged: true`). */
  unchangedCount: number;
  problems: string[];
}

export interface PackageDriftOptions {
  /** List unchanged files too (default: only counted). */
  unchanged?: boolean;
}

const CHUNK = 1 << 20;
const PARALLEL = 8;
/** As the kernel's own limit on links followed in one lookup (MAXSYMLINKS). */
const MAX_LINKS = 40;
const readAsync = promisify(read);

/** The drift of the config files of the root folder `root`. */
export async function packageDrift(
  root: string,
  options: PackageDriftOptions = {},
): Promise<PackageDriftReport> {
  const list = readConfigFiles(root);
  if (!list) {
    throw new HindsightError('no-package-database', `no dpkg, rpm or pacman database in ${root}`);
  }
  confineTree(root);
  const head = Buffer.from(root);
  const accounts = readAccounts(head);
  const problems = [...list.problems];
  const digests = new Map<string, Promise<LocalRead>>();
  const entries: ConfigDriftEntry[] = new Array(list.files.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < list.files.length) {
      const i = next++;
      entries[i] = await checkConfigFile(head, list.files[i] as ConfigFile, accounts, digests);
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));

  const pending = findPendingMerges(head, list.files, entries, problems);
  const unchangedCount = entries.filter((e) => e.status === 'unchanged').length;
  return {
    format: list.format,
    source: list.source,
    entries: options.unchanged ? entries : entries.filter((e) => e.status !== 'unchanged'),
    pending,
    unchangedCount,
    problems,
  };
}

interface LocalRead {
  node: LocalConfigNode | null;
  /** Set when the node (or its content) could not be read. */
  error?: string;
}

async function checkConfigFile(
  head: Buffer,
  file: ConfigFile,
  accounts: Accounts,
  digests: Map<string, Promise<LocalRead>>,
): Promise<ConfigDriftEntry> {
  const entry = (
    status: ConfigDriftStatus,
    local: LocalConfigNode | null,
    changes: ConfigChange[] = [],
    reason?: string,
  ): ConfigDriftEntry => ({
    path: file.path,
    package: file.package,
    status,
    changes,
    recorded: file,
    local,
    ...(reason ? { reason } : {}),
  });
  if (file.ghost)
    return entry('unchecked', null, [], 'a %ghost file: the package owns it but never installed it');
  if (file.state === 'not-installed')
    return entry('unchecked', null, [], 'the package manager did not install it');
  if (file.newConffile) {
    return entry('unchecked', null, [], 'dpkg has not configured it (newconffile): no digest recorded');
  }

  // Files of several packages may share a path (multilib rpm): read and hash it once.
  const algo = file.type === 'file' && file.digest ? file.digest.algo : null;
  const key = `${algo ?? ''}\0${file.path}`;
  let pending = digests.get(key);
  if (!pending) {
    pending = readLocal(head, file.path, algo);
    digests.set(key, pending);
  }
  const { node, error } = await pending;
  if (error && !node) return entry('unreadable', null, [], error);
  if (!node) return entry('missing', null);
  if (file.state === 'replaced') return entry('unchanged', node);
  if (node.type !== file.type) return entry('replaced', node);
  if (error) return entry('unreadable', node, [], error);

  const changes: ConfigChange[] = [];
  if (node.type === 'file') {
    if (!file.digest) return entry('unchecked', node, [], 'no digest recorded');
    if (node.digest !== file.digest.hex) changes.push('content');
  } else if (node.type === 'symlink' && file.linkTarget !== undefined && node.target !== file.linkTarget) {
    changes.push('link');
  }
  if (file.mode !== undefined && node.type !== 'symlink' && node.mode !== file.mode) changes.push('mode');
  if (file.user !== undefined || file.group !== undefined) {
    const uid = file.user === undefined ? undefined : accounts.users.get(file.user);
    const gid = file.group === undefined ? undefined : accounts.groups.get(file.group);
    // A name the root's passwd or group does not know cannot be compared (rpm -V says the same).
    if ((uid !== undefined && uid !== node.uid) || (gid !== undefined && gid !== node.gid))
      changes.push('owner');
  }
  return entry(changes.length > 0 ? 'modified' : 'unchanged', node, changes);
}

/** The node at `path` inside the root, with a regular file's digest; a missing path is `node: null`. */
async function readLocal(head: Buffer, path: string, algo: string | null): Promise<LocalRead> {
  let at: Buffer | null;
  try {
    at = resolveInRoot(head, path);
  } catch (error) {
    return { node: null, error: explain(error) };
  }
  if (!at) return { node: null };
  let st: ReturnType<typeof lstatSync>;
  try {
    st = lstatSync(confinedEntry(at), { throwIfNoEntry: false });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { node: null };
    return { node: null, error: explain(error) };
  }
  if (!st) return { node: null };
  const node: LocalConfigNode = {
    type: fileTypeOf(st.mode),
    mode: st.mode & 0o7777,
    uid: st.uid,
    gid: st.gid,
    size: st.size,
  };
  try {
    if (node.type === 'symlink') node.target = readlinkSync(confinedEntry(at), 'utf8');
    else if (node.type === 'file' && algo) node.digest = await hashFile(at, algo);
  } catch (error) {
    return { node, error: explain(error) };
  }
  return { node };
}

/** Hashes a regular file in chunks: a config file may be a large database, read without holding it. */
async function hashFile(path: Buffer, algo: string): Promise<string> {
  const fd = openRegularFile(path);
  try {
    const hash = createHash(algo);
    const buffer = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const { bytesRead } = await readAsync(fd, buffer, 0, CHUNK, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
    }
    return hash.digest('hex');
  } finally {
    closeSync(fd);
  }
}

const SLASH = Buffer.from('/');

/**
 * Where `path` (absolute inside the root) lies, with every link among its folders resolved inside
 * the root: an absolute target starts again at the root, `..` stops at it. The last name is not
 * followed. Null when a folder on the way is missing or is not a folder.
 */
export function resolveInRoot(head: Buffer, path: string): Buffer | null {
  const names = path.split('/').filter((n) => n !== '' && n !== '.');
  const last = names.pop();
  if (last === undefined || last === '..') return null;
  const done: string[] = [];
  let links = 0;
  while (names.length > 0) {
    const name = names.shift() as string;
    if (name === '..') {
      done.pop();
      continue;
    }
    const here = Buffer.concat([head, SLASH, Buffer.from([...done, name].join('/'))]);
    const st = lstatSync(confinedEntry(here), { throwIfNoEntry: false });
    if (!st) return null;
    if (st.isSymbolicLink()) {
      if (++links > MAX_LINKS)
        throw new HindsightError('unreadable', `${path}: too many links in its folders`);
      const target = readlinkSync(confinedEntry(here), 'utf8');
      if (target.startsWith('/')) done.length = 0;
      names.unshift(...target.split('/').filter((n) => n !== '' && n !== '.'));
      continue;
    }
    if (!st.isDirectory()) return null;
    done.push(name);
  }
  return Buffer.concat([head, SLASH, Buffer.from([...done, last].join('/'))]);
}

interface Accounts {
  users: Map<string, number>;
  groups: Map<string, number>;
}

/** The root's own user and group names (rpm records names, and rpm -V maps them in the root). */
function readAccounts(head: Buffer): Accounts {
  const table = (file: string): Map<string, number> => {
    const out = new Map<string, number>();
    let text = '';
    try {
      const at = resolveInRoot(head, file);
      if (!at) return out;
      const fd = openRegularFile(at);
      try {
        text = readFileSync(fd, 'utf8');
      } finally {
        closeSync(fd);
      }
    } catch {
      return out;
    }
    for (const line of text.split('\n')) {
      const [name, , id] = line.split(':');
      if (name && id !== undefined && /^\d+$/.test(id) && !out.has(name)) out.set(name, Number(id));
    }
    return out;
  };
  const users = table('/etc/passwd');
  const groups = table('/etc/group');
  // rpm knows root without any passwd (rpmug.c), and a bare test root may have none.
  if (!users.has('root')) users.set('root', 0);
  if (!groups.has('root')) groups.set('root', 0);
  return { users, groups };
}

/** Names a merge file ends with, longest first so `.dpkg-dist` is not read as something shorter. */
const SUFFIXES = MERGE_KINDS.map((kind) => ({ kind, suffix: `.${kind}` })).sort(
  (a, b) => b.suffix.length - a.suffix.length,
);

function mergeKindOf(name: string): { kind: MergeFileKind; base: string } | null {
  for (const { kind, suffix } of SUFFIXES) {
    if (name.length > suffix.length && name.endsWith(suffix))
      return { kind, base: name.slice(0, -suffix.length) };
  }
  return null;
}

/** Folders of /etc deeper than this are not searched for merge files (a loop of bind mounts, say). */
const MAX_DEPTH = 32;

/**
 * Merge files: every one under /etc (where they almost all are, including `.rpmsave`s of packages
 * since removed), and beside each recorded config file elsewhere. Links are never descended.
 */
function findPendingMerges(
  head: Buffer,
  files: ConfigFile[],
  entries: ConfigDriftEntry[],
  problems: string[],
): PendingMerge[] {
  const found = new Map<string, { kind: MergeFileKind; base: string; type: FileType }>();
  const consider = (path: string, type: FileType): void => {
    const name = path.slice(path.lastIndexOf('/') + 1);
    const merge = mergeKindOf(name);
    if (merge)
      found.set(path, {
        kind: merge.kind,
        base: path.slice(0, path.length - name.length) + merge.base,
        type,
      });
  };
  const walk = (rel: string, depth: number): void => {
    if (depth > MAX_DEPTH) return;
    const dirents = listFolder(Buffer.concat([head, Buffer.from(rel)]), rel, problems);
    for (const dirent of dirents) {
      const name = dirent.name.toString('utf8');
      const path = `${rel}/${name}`;
      if (dirent.isDirectory()) walk(path, depth + 1);
      const type: FileType = dirent.isFile()
        ? 'file'
        : dirent.isDirectory()
          ? 'directory'
          : dirent.isSymbolicLink()
            ? 'symlink'
            : 'other';
      consider(path, type);
    }
  };
  // A root whose /etc is a link is not walked through it: that link could lead anywhere.
  const etc = lstatSync(confinedEntry(Buffer.concat([head, Buffer.from('/etc')])), { throwIfNoEntry: false });
  if (etc?.isDirectory()) walk('/etc', 0);
  else if (etc) problems.push('/etc is not a folder; no merge files were looked for in it');

  for (const file of files) {
    if (file.path.startsWith('/etc/')) continue;
    for (const kind of MERGE_KINDS) {
      const path = `${file.path}.${kind}`;
      try {
        const at = resolveInRoot(head, path);
        const st = at ? lstatSync(confinedEntry(at), { throwIfNoEntry: false }) : undefined;
        if (st) consider(path, fileTypeOf(st.mode));
      } catch (error) {
        problems.push(`cannot look at ${path}: ${explain(error)}`);
      }
    }
  }

  const owners = new Map<string, string[]>();
  const status = new Map<string, ConfigDriftStatus>();
  files.forEach((file, i) => {
    owners.set(file.path, [...(owners.get(file.path) ?? []), file.package]);
    const drift = entries[i];
    if (drift && !status.has(file.path)) status.set(file.path, drift.status);
  });
  const out: PendingMerge[] = [];
  for (const [path, { kind, base, type }] of found) {
    out.push({
      path,
      basePath: base,
      kind,
      holds: MERGE_FILES[kind].holds,
      owners: owners.get(base) ?? [],
      type,
      baseStatus: status.get(base) ?? null,
    });
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function listFolder(path: Buffer, rel: string, problems: string[]): Dirent<Buffer>[] {
  try {
    return readdirSync(confinedDir(path), { withFileTypes: true, encoding: 'buffer' });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') problems.push(`cannot list ${rel}: ${explain(error)}`);
    return [];
  }
}

function explain(error: unknown): string {
  if (error instanceof HindsightError) return error.message;
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'ELOOP') return 'a symbolic link, not followed';
  if (code === 'EINVAL') return 'not a regular file';
  return code ?? (error instanceof Error ? error.message : String(error));
}
