import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { HindsightError } from '../../shared/errors.ts';
import type { DeploymentNoteRecord, HistoryEntry } from '../../shared/ipc-contract.ts';
import type { DeploymentNote } from '../../shared/schemas.ts';
import type { AuditRecord, PackageDelta } from '../../shared/types.ts';

/**
 * The local cache in the user's data folder, shared by the app and the CLI: package deltas keyed by
 * the two commit checksums (commits never change, so entries never go stale), the user's notes on
 * deployments, the history of actions taken from the app, and what lets a fresh process skip work
 * (deployment listings, /etc byte comparisons), each valid only under the state it was taken in.
 * Schema changes are numbered migrations.
 */

/** The user's Hindsight data folder (XDG): the demo sysroot and the cache live under it. */
export function hindsightDataDir(): string {
  const base = process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  return join(base, 'hindsight');
}

export const defaultCacheFile = (): string => join(hindsightDataDir(), 'cache', 'cache.sqlite');

const MIGRATIONS: string[] = [
  `CREATE TABLE package_deltas (
     from_checksum TEXT NOT NULL,
     to_checksum TEXT NOT NULL,
     delta TEXT NOT NULL,
     created_at TEXT NOT NULL,
     PRIMARY KEY (from_checksum, to_checksum)
   );
   CREATE TABLE notes (
     checksum TEXT NOT NULL,
     serial INTEGER NOT NULL,
     note TEXT NOT NULL,
     label TEXT,
     updated_at TEXT NOT NULL,
     PRIMARY KEY (checksum, serial)
   );
   CREATE TABLE history (
     id TEXT PRIMARY KEY,
     time TEXT NOT NULL,
     operation TEXT NOT NULL,
     params TEXT NOT NULL,
     result TEXT NOT NULL,
     detail TEXT NOT NULL,
     uid INTEGER,
     user TEXT
   );
   CREATE INDEX history_time ON history (time);`,
  // Remembered listings and comparisons that let a fresh CLI process skip work (see their users).
  `CREATE TABLE deployment_lists (
     sysroot TEXT PRIMARY KEY,
     signature TEXT NOT NULL,
     listing TEXT NOT NULL
   );
   CREATE TABLE etc_comparisons (
     trees TEXT PRIMARY KEY,
     states BLOB NOT NULL,
     updated_at TEXT NOT NULL
   );`,
  `CREATE TABLE base_trees (
     base TEXT PRIMARY KEY,
     state TEXT NOT NULL,
     tree TEXT NOT NULL
   );`,
];

/**
 * Creates one of Hindsight's own data folders (the cache, browser mode's secret). A folder that
 * cannot be made (a read-only or foreign home) is an expected failure with a clear line, not a stack.
 */
export function makeDataFolder(dir: string, mode = 0o755): void {
  try {
    mkdirSync(dir, { recursive: true, mode });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'EACCES' || code === 'EPERM'
        ? 'permission denied'
        : code === 'EROFS'
          ? 'read-only file system'
          : (code ?? 'error');
    throw new HindsightError(
      code === 'EACCES' || code === 'EPERM' ? 'not-authorized' : 'io-error',
      `cannot create Hindsight's data folder ${dir}: ${why} (set XDG_DATA_HOME to a folder you can write)`,
    );
  }
}

export class AppCache {
  private readonly db: BetterSqlite3.Database;

  constructor(file: string) {
    if (file !== ':memory:') makeDataFolder(dirname(file));
    // Loaded lazily so CLI commands that never touch the cache do not pay for the native module.
    const load = typeof require === 'function' ? require : createRequire(import.meta.url);
    const Database = load('better-sqlite3') as typeof BetterSqlite3;
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.migrate();
  }

  get schemaVersion(): number {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  private migrate(): void {
    const current = this.schemaVersion;
    for (let version = current; version < MIGRATIONS.length; version++) {
      const step = this.db.transaction(() => {
        this.db.exec(MIGRATIONS[version] as string);
        this.db.pragma(`user_version = ${version + 1}`);
      });
      step();
    }
  }

  getDelta(from: string, to: string): PackageDelta | undefined {
    const row = this.db
      .prepare('SELECT delta FROM package_deltas WHERE from_checksum = ? AND to_checksum = ?')
      .get(from, to) as { delta: string } | undefined;
    return row ? (JSON.parse(row.delta) as PackageDelta) : undefined;
  }

  putDelta(delta: PackageDelta): void {
    this.db
      .prepare(
        'INSERT OR REPLACE INTO package_deltas (from_checksum, to_checksum, delta, created_at) VALUES (?, ?, ?, ?)',
      )
      .run(delta.from.checksum, delta.to.checksum, JSON.stringify(delta), new Date().toISOString());
  }

  getDeploymentList(sysroot: string): { signature: string; listing: string } | undefined {
    return this.db
      .prepare('SELECT signature, listing FROM deployment_lists WHERE sysroot = ?')
      .get(sysroot) as { signature: string; listing: string } | undefined;
  }

  putDeploymentList(sysroot: string, signature: string, listing: string): void {
    this.db
      .prepare('INSERT OR REPLACE INTO deployment_lists (sysroot, signature, listing) VALUES (?, ?, ?)')
      .run(sysroot, signature, listing);
  }

  getEtcComparisons(trees: string): Buffer | undefined {
    const row = this.db.prepare('SELECT states FROM etc_comparisons WHERE trees = ?').get(trees) as
      | { states: Buffer }
      | undefined;
    return row?.states;
  }

  putEtcComparisons(trees: string, states: Buffer): void {
    this.db
      .prepare('INSERT OR REPLACE INTO etc_comparisons (trees, states, updated_at) VALUES (?, ?, ?)')
      .run(trees, states, new Date().toISOString());
  }

  getBaseTree(base: string): { state: string; tree: string } | undefined {
    return this.db.prepare('SELECT state, tree FROM base_trees WHERE base = ?').get(base) as
      | { state: string; tree: string }
      | undefined;
  }

  putBaseTree(base: string, state: string, tree: string): void {
    this.db
      .prepare('INSERT OR REPLACE INTO base_trees (base, state, tree) VALUES (?, ?, ?)')
      .run(base, state, tree);
  }

  listNotes(): DeploymentNoteRecord[] {
    const rows = this.db
      .prepare('SELECT checksum, serial, note, label, updated_at FROM notes ORDER BY updated_at DESC')
      .all() as {
      checksum: string;
      serial: number;
      note: string;
      label: string | null;
      updated_at: string;
    }[];
    return rows.map((r) => ({
      checksum: r.checksum,
      serial: r.serial,
      note: r.note,
      label: r.label,
      updatedAt: r.updated_at,
    }));
  }

  setNote(note: DeploymentNote): DeploymentNoteRecord {
    const updatedAt = new Date().toISOString();
    if (!note.note && !note.label) {
      this.db.prepare('DELETE FROM notes WHERE checksum = ? AND serial = ?').run(note.checksum, note.serial);
    } else {
      this.db
        .prepare(
          'INSERT OR REPLACE INTO notes (checksum, serial, note, label, updated_at) VALUES (?, ?, ?, ?, ?)',
        )
        .run(note.checksum, note.serial, note.note, note.label ?? null, updatedAt);
    }
    return {
      checksum: note.checksum,
      serial: note.serial,
      note: note.note,
      label: note.label ?? null,
      updatedAt,
    };
  }

  recordAction(record: AuditRecord): void {
    this.db
      .prepare(
        'INSERT OR REPLACE INTO history (id, time, operation, params, result, detail, uid, user) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(
        record.id,
        record.time,
        record.operation,
        JSON.stringify(record.params),
        record.result,
        record.detail,
        record.uid,
        record.user,
      );
  }

  history(limit: number): HistoryEntry[] {
    const rows = this.db.prepare('SELECT * FROM history ORDER BY time DESC LIMIT ?').all(limit) as {
      id: string;
      time: string;
      operation: string;
      params: string;
      result: 'ok' | 'error';
      detail: string;
      uid: number | null;
      user: string | null;
    }[];
    return rows.map((r) => ({
      ...r,
      params: JSON.parse(r.params) as Record<string, unknown>,
      source: 'app' as const,
    }));
  }

  close(): void {
    this.db.close();
  }
}

/** Merges the helper's audit records with the app's own, newest first, one entry per id. */
export function mergeHistory(helper: AuditRecord[], app: HistoryEntry[], limit: number): HistoryEntry[] {
  const byId = new Map<string, HistoryEntry>();
  for (const record of app) byId.set(record.id, record);
  // The helper's root-owned record is the authority where both exist.
  for (const record of helper) byId.set(record.id, { ...record, source: 'helper' });
  return [...byId.values()].sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : 0)).slice(0, limit);
}
