import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { HindsightError } from '../../../shared/errors.ts';
import type { PackageFormat } from '../../../shared/types.ts';
import { DPKG_STATUS_CANDIDATES } from './dpkg-db.ts';
import { databaseInTree } from './package-source.ts';
import { PACMAN_LOCAL_DB, parsePacmanDesc, splitPacmanEntryName } from './pacman-db.ts';
import { forEachRpmHeader, RPMDB_CANDIDATES } from './rpm-db.ts';
import { parseRpmHeaderBlob, RPMTAG, RpmTagReader } from './rpm-header.ts';

/**
 * Which package owns a path, from a root's own package database: dpkg's `info/*.list`, the file
 * lists in rpm's headers, pacman's `local/*\/files`. Built once per root into one Map, so asking
 * about every path of a tree diff costs a lookup each, not a query.
 */

export interface FileOwners {
  format: PackageFormat;
  /** The database read, relative to the root. */
  source: string;
  /** Paths recorded. */
  readonly size: number;
  /** The owning package of an absolute path (the first, when several share a directory), or null. */
  lookup(path: string): string | null;
  /** Every package that records the path (directories are often shared), in database order. */
  owners(path: string): string[];
}

/** An owner, or several (shared directories) kept as an array only when they occur. */
type Owner = string | string[];

/** Paths worth keeping while a database is read; null: all of them. */
let keeping: Set<string> | null = null;

function add(map: Map<string, Owner>, path: string, name: string): void {
  if (keeping !== null && !keeping.has(path)) return;
  const known = map.get(path);
  if (known === undefined) map.set(path, name);
  else if (typeof known === 'string') {
    if (known !== name) map.set(path, [known, name]);
  } else if (!known.includes(name)) known.push(name);
}

/** `/usr/bin/` and `/usr//bin` name `/usr/bin`; dpkg's `/.` is the root. */
function normalise(path: string): string {
  // Most recorded paths are already plain: skip the regular expression for them.
  if (path.charCodeAt(0) === 47 && path !== '/.' && !path.endsWith('/') && !path.includes('//')) return path;
  let p = path.replace(/\/{2,}/g, '/');
  if (p === '/.') return '/';
  if (p.length > 1 && p.endsWith('/')) p = p.slice(0, -1);
  return p.startsWith('/') ? p : `/${p}`;
}

/** Top-level folders that merged-/usr roots make links into /usr (what `usrmerge` does). */
const MERGED = ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32'];

/**
 * Other spellings of a path that name the same file in this root. A database records a file where
 * its package put it: Debian 12 packages still say /bin/ls while the diff of a merged-/usr tree
 * says /usr/bin/ls, Fedora's say /usr/bin/ls; OSTree trees keep /etc as /usr/etc.
 */
function aliasesOf(tree: string): (path: string) => string[] {
  const merged = new Set<string>();
  for (const dir of MERGED) {
    try {
      if (!lstatSync(join(tree, dir)).isSymbolicLink()) continue;
      const target = readlinkSync(join(tree, dir)).replace(/^\/+/, '').replace(/\/+$/, '');
      if (target === `usr/${dir}`) merged.add(dir);
    } catch {
      // absent: nothing to alias
    }
  }
  let usrEtc = false;
  try {
    usrEtc = lstatSync(join(tree, 'usr/etc')).isDirectory();
  } catch {
    usrEtc = false;
  }
  return (path) => {
    const out: string[] = [];
    const top = /^\/([^/]+)(\/.*)?$/.exec(path);
    if (!top) return out;
    const first = top[1] as string;
    const rest = top[2] ?? '';
    if (merged.has(first)) out.push(`/usr/${first}${rest}`);
    if (first === 'usr') {
      const second = /^\/([^/]+)(\/.*)?$/.exec(rest);
      if (second && merged.has(second[1] as string)) out.push(`/${second[1]}${second[2] ?? ''}`);
      if (second && second[1] === 'etc' && usrEtc) out.push(`/etc${second[2] ?? ''}`);
    }
    return out;
  };
}

function ownersFrom(
  format: PackageFormat,
  source: string,
  map: Map<string, Owner>,
  alias: (path: string) => string[],
): FileOwners {
  const find = (path: string): Owner | undefined => {
    const p = normalise(path);
    const hit = map.get(p);
    if (hit !== undefined) return hit;
    for (const other of alias(p)) {
      const found = map.get(other);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  return {
    format,
    source,
    get size() {
      return map.size;
    },
    lookup(path) {
      const hit = find(path);
      if (hit === undefined) return null;
      return typeof hit === 'string' ? hit : (hit[0] ?? null);
    },
    owners(path) {
      const hit = find(path);
      if (hit === undefined) return [];
      return typeof hit === 'string' ? [hit] : [...hit];
    },
  };
}

function ioCode(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? 'error';
}

/** A database file's text; null when it is missing or not a regular file (a link is not followed). */
function readSmall(file: string): string | null {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = ioCode(error);
    if (code === 'ENOENT' || code === 'ELOOP' || code === 'ENOTDIR') return null;
    throw new HindsightError('unreadable', `cannot read ${file}: ${code}`);
  }
  try {
    if (!fstatSync(fd).isFile()) return null;
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch (error) {
    throw new HindsightError('unreadable', `cannot read ${dir}: ${ioCode(error)}`);
  }
}

// dpkg: `info/NAME.list` or, for Multi-Arch: same packages, `info/NAME:ARCH.list`; one path a line.
function readDpkg(tree: string): { source: string; map: Map<string, Owner> } | null {
  for (const status of DPKG_STATUS_CANDIDATES) {
    if (!databaseInTree(tree, status)) continue;
    const relInfo = join(dirname(status), 'info');
    const info = databaseInTree(tree, relInfo);
    if (!info) continue;
    const map = new Map<string, Owner>();
    for (const file of listDir(info)) {
      if (!file.endsWith('.list')) continue;
      const name = file.slice(0, -'.list'.length).split(':')[0] as string;
      const text = readSmall(join(info, file));
      if (text === null) continue;
      for (const line of text.split('\n')) if (line !== '') add(map, normalise(line), name);
    }
    return { source: relInfo, map };
  }
  return null;
}

function readRpm(tree: string): { source: string; map: Map<string, Owner> } | null {
  for (const source of RPMDB_CANDIDATES) {
    const file = databaseInTree(tree, source);
    if (!file) continue;
    const map = new Map<string, Owner>();
    forEachRpmHeader(
      file,
      (blob, where) => {
        const name = parseRpmHeaderBlob(blob, where).name;
        if (name === 'gpg-pubkey') return;
        const tags = new RpmTagReader(blob, where);
        const bases = tags.rawStrings(RPMTAG.BASENAMES);
        if (bases) {
          const dirs = (tags.rawStrings(RPMTAG.DIRNAMES) ?? []).map((d) => Buffer.from(d).toString('utf8'));
          const indexes = tags.numbers(RPMTAG.DIRINDEXES) ?? [];
          if (indexes.length !== bases.length) {
            throw new HindsightError('unreadable', `${where} is corrupt: file name tags disagree in length`);
          }
          bases.forEach((base, i) => {
            const dir = dirs[indexes[i] as number];
            if (dir === undefined) {
              throw new HindsightError(
                'unreadable',
                `${where} is corrupt: file ${i} names a missing directory`,
              );
            }
            add(map, normalise(dir + Buffer.from(base).toString('utf8')), name);
          });
          return;
        }
        // Headers from before rpm 4 spell each path whole.
        for (const path of tags.strings(RPMTAG.OLDFILENAMES) ?? []) add(map, normalise(path), name);
      },
      source,
    );
    return { source, map };
  }
  return null;
}

// pacman: `local/NAME-VERSION-RELEASE/files`, `%FILES%` lists paths relative to the root, folders with a trailing slash.
function readPacman(tree: string): { source: string; map: Map<string, Owner> } | null {
  const dir = databaseInTree(tree, PACMAN_LOCAL_DB);
  if (!dir) return null;
  const map = new Map<string, Owner>();
  for (const folder of listDir(dir)) {
    const split = splitPacmanEntryName(folder);
    if (!split) continue;
    const text = readSmall(join(dir, folder, 'files'));
    if (text === null) continue;
    for (const line of parsePacmanDesc(text).get('FILES') ?? []) add(map, normalise(line), split.name);
  }
  return { source: PACMAN_LOCAL_DB, map };
}

/**
 * The file owners of a root folder (a deployment, a snapshot) by the database of `format`, or null
 * when the root has no such database. dpkg diversions and alternatives are not followed: the owner
 * is the package whose list names the path, as `dpkg -S` reports it first.
 */
export function fileOwners(
  tree: string,
  format: PackageFormat,
  options: { only?: Iterable<string> } = {},
): FileOwners | null {
  const alias = aliasesOf(tree);
  // Asked about a few paths (a files diff), only those and their other spellings are kept: a
  // database of 100,000 paths is then read without filling a map with all of them.
  if (options.only !== undefined) {
    keeping = new Set<string>();
    for (const path of options.only) {
      const p = normalise(path);
      keeping.add(p);
      for (const other of alias(p)) keeping.add(other);
    }
  }
  try {
    const read = format === 'dpkg' ? readDpkg(tree) : format === 'rpm' ? readRpm(tree) : readPacman(tree);
    return read ? ownersFrom(format, read.source, read.map, alias) : null;
  } finally {
    keeping = null;
  }
}
