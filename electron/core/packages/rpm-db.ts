import {
  closeSync,
  copyFileSync,
  mkdtempSync,
  openSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { HindsightError } from '../../../shared/errors.ts';
import type { PackageEntry } from '../../../shared/types.ts';
import { sortPackages } from './dpkg-db.ts';
import { headerToPackage, parseRpmHeaderBlob } from './rpm-header.ts';

/**
 * Reads rpm's sqlite database (rpm ≥ 4.16, Fedora ≥ 33) without librpm: the `Packages` table holds
 * one exported header per installed package, which rpm-header.ts decodes.
 *
 * The database is never opened where it lies when it is in WAL mode, which is how rpm writes it.
 * A read-only connection to a WAL database still creates `-wal` and `-shm` files beside it when it
 * can (as root it always can: that would write into a deployment), and cannot open it at all when
 * it cannot and no `-shm` exists (a read-only /usr, or a file copied alone out of a commit). So the
 * file, and its `-wal` when that holds pages not yet checkpointed, is copied to a private directory
 * and read there.
 */

/** Where rpm databases live inside a tree, relative to its root, in preference order. */
export const RPMDB_CANDIDATES = [
  'usr/lib/sysimage/rpm/rpmdb.sqlite',
  'usr/share/rpm/rpmdb.sqlite',
  'var/lib/rpm/rpmdb.sqlite',
];

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');
const SQLITE_HEADER = 100;

export function readRpmSqliteDatabase(file: string): PackageEntry[] {
  const out: PackageEntry[] = [];
  forEachRpmHeader(file, (blob, where) => {
    const entry = headerToPackage(parseRpmHeaderBlob(blob, where));
    if (entry) out.push(entry);
  });
  return sortPackages(out);
}

/**
 * Calls `visit` with each header blob of an rpmdb.sqlite, in hnum order. A WAL database is read from
 * a private copy (with its `-wal`): opening it where it lies would write `-shm` and `-wal` files into
 * the tree. `label` names the database in errors.
 */
export function forEachRpmHeader(
  file: string,
  visit: (blob: Buffer, where: string) => void,
  label = file,
): void {
  withReadableDatabase(file, label, (path) => eachHeader(path, label, visit));
}

/**
 * Calls `visit` with the header blobs of the packages named in `names` only, found through rpm's own
 * `Name` index table, so that reading a few packages out of a full database does not decode every
 * header. A database without that table is scanned whole and filtered by the NAME tag. Several
 * headers may carry one name (multilib, installonly kernels): all are visited.
 */
export function forEachRpmHeaderNamed(
  file: string,
  names: Iterable<string>,
  visit: (blob: Buffer, where: string) => void,
  label = file,
): void {
  const wanted = new Set(names);
  if (wanted.size === 0) return;
  withReadableDatabase(file, label, (path) => eachHeader(path, label, visit, wanted));
}

/** Opens `file` where it lies, or a private copy of it (with its `-wal`) when it is in WAL mode. */
function withReadableDatabase(file: string, label: string, body: (path: string) => void): void {
  let size: number;
  try {
    const stat = statSync(file);
    if (!stat.isFile()) throw new HindsightError('unreadable', `${file} is not a regular file`);
    size = stat.size;
  } catch (error) {
    if (error instanceof HindsightError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new HindsightError('no-package-database', `no rpm database at ${label}`);
    }
    throw new HindsightError('unreadable', `cannot read ${label}: ${code ?? 'error'}`);
  }
  const header = readPrefix(file, Math.min(size, SQLITE_HEADER));
  checkMagic(header, label);
  if (!isWalMode(header)) {
    body(file);
    return;
  }
  withPrivateDir((dir) => {
    const copy = join(dir, 'rpmdb.sqlite');
    try {
      copyFileSync(file, copy);
      const wal = `${file}-wal`;
      if (fileSize(wal) > 0) copyFileSync(wal, `${copy}-wal`);
    } catch (error) {
      throw new HindsightError(
        'unreadable',
        `cannot read ${label}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
      );
    }
    body(copy);
  });
}

/**
 * Reads a database held in memory (from `ostree cat`). Only the main file is there: pages still in
 * a `-wal` when the tree was committed are not, which is the same view rpm would have of that copy.
 */
export function readRpmSqliteBuffer(bytes: Buffer, label = 'rpmdb.sqlite'): PackageEntry[] {
  checkMagic(bytes.subarray(0, SQLITE_HEADER), label);
  return withPrivateDir((dir) => {
    const copy = join(dir, 'rpmdb.sqlite');
    writeFileSync(copy, bytes, { mode: 0o600, flag: 'wx' });
    const out: PackageEntry[] = [];
    eachHeader(copy, label, (blob, where) => {
      const entry = headerToPackage(parseRpmHeaderBlob(blob, where));
      if (entry) out.push(entry);
    });
    return sortPackages(out);
  });
}

/** Loaded on first use: dpkg systems and most CLI commands never pay for the native module. */
function openDatabase(path: string): BetterSqlite3.Database {
  const load = typeof require === 'function' ? require : createRequire(import.meta.url);
  const Database = load('better-sqlite3') as typeof BetterSqlite3;
  return new Database(path, { readonly: true, fileMustExist: true });
}

/**
 * Opens one database file, visits its header blobs and closes it; `label` names it in errors. With
 * `names`, only the headers whose NAME is one of them (through the Name index when there is one).
 */
function eachHeader(
  path: string,
  label: string,
  visit: (blob: Buffer, where: string) => void,
  names?: Set<string>,
): void {
  let db: BetterSqlite3.Database;
  try {
    db = openDatabase(path);
  } catch (error) {
    throw new HindsightError('unreadable', `cannot open ${label}: ${sqliteMessage(error)}`);
  }
  try {
    const table = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'Packages'").get();
    if (!table)
      throw new HindsightError('unreadable', `${label} has no Packages table (not an rpm database)`);
    if (names) {
      eachNamedHeader(db, label, names, visit);
      return;
    }
    const rows = db.prepare('SELECT hnum, blob FROM Packages ORDER BY hnum');
    // iterate, not all: a full Fedora database holds ~100 MB of headers.
    for (const row of rows.iterate() as IterableIterator<{ hnum: unknown; blob: unknown }>) {
      const where = `${label} package #${String(row.hnum)}`;
      if (!Buffer.isBuffer(row.blob)) throw new HindsightError('unreadable', `${where} is not a header blob`);
      visit(row.blob, where);
    }
  } catch (error) {
    if (error instanceof HindsightError) throw error;
    throw new HindsightError('unreadable', `cannot read ${label}: ${sqliteMessage(error)}`);
  } finally {
    db.close();
  }
}

function eachNamedHeader(
  db: BetterSqlite3.Database,
  label: string,
  names: Set<string>,
  visit: (blob: Buffer, where: string) => void,
): void {
  const indexed = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'Name'").get();
  const query = indexed
    ? db.prepare(
        'SELECT DISTINCT p.hnum AS hnum, p.blob AS blob FROM Name n JOIN Packages p ON p.hnum = n.hnum WHERE n.key = ? ORDER BY p.hnum',
      )
    : db.prepare('SELECT hnum, blob FROM Packages ORDER BY hnum');
  const seen = new Set<number>();
  for (const name of indexed ? [...names] : [null]) {
    const rows = (name === null ? query.iterate() : query.iterate(name)) as IterableIterator<{
      hnum: unknown;
      blob: unknown;
    }>;
    for (const row of rows) {
      const where = `${label} package #${String(row.hnum)}`;
      if (!Buffer.isBuffer(row.blob)) throw new HindsightError('unreadable', `${where} is not a header blob`);
      if (seen.has(Number(row.hnum))) continue;
      seen.add(Number(row.hnum));
      // The index is rpm's own, but only the header itself is trusted to say what it is.
      if (!names.has(parseRpmHeaderBlob(row.blob, where).name)) continue;
      visit(row.blob, where);
    }
  }
}

function withPrivateDir<T>(body: (dir: string) => T): T {
  // mkdtemp makes the directory 0700, so the copy is private whatever its own mode.
  const dir = mkdtempSync(join(tmpdir(), 'hindsight-rpmdb-'));
  try {
    return body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function readPrefix(file: string, length: number): Buffer {
  const buffer = Buffer.alloc(length);
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    throw new HindsightError(
      'unreadable',
      `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
  try {
    let done = 0;
    while (done < length) {
      const n = readSync(fd, buffer, done, length - done, done);
      if (n === 0) break;
      done += n;
    }
    return buffer.subarray(0, done);
  } finally {
    closeSync(fd);
  }
}

function checkMagic(header: Buffer, label: string): void {
  if (header.length < SQLITE_HEADER || !header.subarray(0, SQLITE_MAGIC.length).equals(SQLITE_MAGIC)) {
    throw new HindsightError('unreadable', `${label} is not an SQLite database`);
  }
}

/** Bytes 18 and 19 of the header are the write and read format versions: 2 means WAL. */
function isWalMode(header: Buffer): boolean {
  return header[18] === 2 || header[19] === 2;
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
}

function sqliteMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n', 1)[0] ?? message;
}
