import {
  closeSync,
  constants,
  type Dirent,
  fchmodSync,
  fstatSync,
  lstatSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { join } from 'node:path';
import { HindsightError } from '../../shared/errors.ts';
import type {
  EtcBackupInfo,
  EtcBackupLimits,
  EtcBackupList,
  EtcBackupRemoved,
  StatusReport,
} from '../../shared/types.ts';
import { fsyncDir } from '../core/atomic-write.ts';
import { printable } from '../core/ostree/selectors.ts';
import { findSame } from './context.ts';
import { ensureDir, errnoCode, stateDirFor } from './state.ts';

/**
 * The backups `etc apply` writes before it changes a file (`<state dir>/etc-backups/<id>/`: a
 * manifest.json and the old files under files/). They hold copies of files such as /etc/shadow, so
 * every folder is root-only (0700) and the manifest 0600; a folder found looser is tightened the next
 * time Hindsight writes there. The copies themselves keep the mode, owner and xattrs of the file they
 * were taken from, because that is what `etc undo` puts back: the 0700 folders above them are what
 * keeps them private.
 *
 * Retention, applied after each successful apply: at most ETC_BACKUP_LIMITS.maxCount backups, none
 * older than maxAgeDays, newest first. Whatever those limits say, the newest backup of each deployment
 * still present whose change has not been undone stays: it is the one `etc undo` needs to put that
 * /etc back, and dropping it would turn the last apply into one that cannot be taken back. Those kept
 * backups count towards maxCount, so with many deployments there can be a few more than maxCount.
 * Backups of a deployment that is gone cannot be undone any more and get no such protection.
 */

export const ETC_BACKUP_LIMITS: EtcBackupLimits = { maxCount: 20, maxAgeDays: 90 };

const DAY_MS = 24 * 60 * 60 * 1000;
const BACKUP_ID = /^[\w.-]{1,100}$/;
const MANIFEST = 'manifest.json';

export function isBackupId(id: string): boolean {
  return BACKUP_ID.test(id) && id !== '.' && id !== '..';
}

export function etcBackupRoot(report: Pick<StatusReport, 'sysroot' | 'stateroot' | 'bootedSystem'>): string {
  return join(stateDirFor(report), 'etc-backups');
}

/** What this file reads of a manifest (etc-apply.ts writes it); anything else in it is ignored. */
interface ManifestSummary {
  id: string;
  time: string;
  state: EtcBackupInfo['state'];
  target: { stateroot: string; checksum: string; serial: number };
  entries: unknown[];
  undoneAt?: string;
}

interface StoredBackup {
  id: string;
  dir: string;
  manifest: ManifestSummary;
  /** NaN when the manifest's time cannot be read: then it counts as too old. */
  timeMs: number;
}

const ownUid = (): number => process.getuid?.() ?? 0;

/**
 * Sets a folder's or file's mode to `mode` when group or others have any access to it. Opened
 * without following a link (and without blocking on a fifo), so the chmod lands on the entry that
 * was checked and nowhere else.
 */
function tighten(path: string, mode: number, folder: boolean): void {
  let fd: number;
  try {
    fd = openSync(
      path,
      constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | (folder ? constants.O_DIRECTORY : 0),
    );
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return;
    throw new HindsightError(
      'refused',
      `${path} is not a ${folder ? 'folder' : 'file'} Hindsight can keep private (${errnoCode(error) ?? (error as Error).message})`,
    );
  }
  try {
    const st = fstatSync(fd);
    if (st.uid !== ownUid()) {
      throw new HindsightError('refused', `${path} is not owned by uid ${ownUid()}; not using it`);
    }
    if (st.mode & 0o077) fchmodSync(fd, mode);
  } finally {
    closeSync(fd);
  }
}

/** A root-only folder owned by this process's user, created or tightened. */
function ensurePrivateDir(dir: string): string {
  ensureDir(dir, 0o700);
  tighten(dir, 0o700, true);
  return dir;
}

/** The etc-backups folder, root-only; its parent (the state folder) stays readable as before. */
export function ensureEtcBackupRoot(root: string): string {
  ensureDir(join(root, '..'));
  return ensurePrivateDir(root);
}

/** A new backup folder with its files/ folder, both root-only, under a root-only etc-backups. */
export function createBackupFolder(root: string, id: string): string {
  if (!isBackupId(id)) throw new HindsightError('internal', `not a backup id: ${printable(id)}`);
  ensureEtcBackupRoot(root);
  const dir = ensurePrivateDir(join(root, id));
  ensurePrivateDir(join(dir, 'files'));
  return dir;
}

function isDeploymentId(value: unknown): value is ManifestSummary['target'] {
  const t = value as ManifestSummary['target'] | null;
  return (
    !!t && typeof t.stateroot === 'string' && typeof t.checksum === 'string' && Number.isInteger(t.serial)
  );
}

function readSummary(dir: string, id: string): ManifestSummary | null {
  const path = join(dir, MANIFEST);
  try {
    if (!lstatSync(path).isFile()) return null;
    const value = JSON.parse(readFileSync(path, 'utf8')) as Partial<ManifestSummary> | null;
    if (
      !value ||
      value.id !== id ||
      typeof value.time !== 'string' ||
      !['prepared', 'applied', 'undone'].includes(value.state as string) ||
      !isDeploymentId(value.target) ||
      !Array.isArray(value.entries)
    ) {
      return null;
    }
    return value as ManifestSummary;
  } catch {
    return null;
  }
}

/**
 * The backups in `root`, and the folders that look like one but have no manifest: an apply killed
 * before it wrote its manifest (which comes before the first /etc change, so they hold nothing that
 * an undo needs). Links and entries owned by someone else are neither.
 */
function readBackups(root: string): { backups: StoredBackup[]; leftovers: string[] } {
  const backups: StoredBackup[] = [];
  const leftovers: string[] = [];
  for (const name of readdirSync(root)) {
    if (!isBackupId(name)) continue;
    const dir = join(root, name);
    let st: ReturnType<typeof lstatSync>;
    try {
      st = lstatSync(dir);
    } catch {
      continue;
    }
    if (!st.isDirectory() || st.uid !== ownUid()) continue;
    const manifest = readSummary(dir, name);
    if (manifest) backups.push({ id: name, dir, manifest, timeMs: Date.parse(manifest.time) });
    else leftovers.push(name);
  }
  backups.sort((a, b) => (b.timeMs || 0) - (a.timeMs || 0) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  return { backups, leftovers };
}

/** For each deployment still present, its newest backup not undone: what `etc undo` needs. */
function keptForUndo(backups: StoredBackup[], report: StatusReport): Set<string> {
  const kept = new Set<string>();
  const seen = new Set<string>();
  for (const b of backups) {
    if (b.manifest.state === 'undone' || !findSame(report, b.manifest.target)) continue;
    const key = `${b.manifest.target.stateroot}/${b.manifest.target.checksum}.${b.manifest.target.serial}`;
    if (seen.has(key)) continue;
    seen.add(key);
    kept.add(b.id);
  }
  return kept;
}

/** The ids retention keeps, given backups newest first (see the comment at the top). */
function retained(
  backups: StoredBackup[],
  report: StatusReport,
  now: number,
  limits: EtcBackupLimits,
): { kept: Set<string>; forUndo: Set<string> } {
  const forUndo = keptForUndo(backups, report);
  const kept = new Set(forUndo);
  for (const b of backups) {
    if (kept.has(b.id)) continue;
    const young = now - b.timeMs <= limits.maxAgeDays * DAY_MS;
    if (young && kept.size < limits.maxCount) kept.add(b.id);
  }
  return { kept, forUndo };
}

/** Bytes of the regular files under a folder, links not followed. */
function folderBytes(dir: string): number {
  let total = 0;
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += folderBytes(path);
    else if (entry.isFile()) {
      try {
        total += lstatSync(path).size;
      } catch {
        // gone meanwhile
      }
    }
  }
  return total;
}

function info(b: StoredBackup, report: StatusReport, forUndo: Set<string>): EtcBackupInfo {
  const deployment = findSame(report, b.manifest.target);
  return {
    id: b.id,
    time: b.manifest.time,
    state: b.manifest.state,
    undoneAt: b.manifest.undoneAt ?? null,
    target: {
      stateroot: b.manifest.target.stateroot,
      checksum: b.manifest.target.checksum,
      serial: b.manifest.target.serial,
      index: deployment?.index ?? null,
      version: deployment?.version ?? null,
    },
    files: b.manifest.entries.length,
    bytes: folderBytes(b.dir),
    keptForUndo: forUndo.has(b.id),
  };
}

export function listEtcBackups(report: StatusReport, now = Date.now()): EtcBackupList {
  const root = etcBackupRoot(report);
  const list: EtcBackupList = { root, limits: { ...ETC_BACKUP_LIMITS }, readable: true, backups: [] };
  let backups: StoredBackup[];
  try {
    const st = lstatSync(root);
    if (!st.isDirectory()) {
      throw new HindsightError('refused', `${root} is not a folder; Hindsight keeps no backups there`);
    }
    backups = readBackups(root).backups;
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT') return list;
    // Root-only by design: a helper that is not root is told so instead of failing the screen.
    if (code === 'EACCES' || code === 'EPERM') return { ...list, readable: false };
    throw error;
  }
  const { forUndo } = retained(backups, report, now, ETC_BACKUP_LIMITS);
  list.backups = backups.map((b) => info(b, report, forUndo));
  return list;
}

/**
 * Deletes backups that retention no longer keeps and manifest-less leftovers, and tightens the modes
 * of the ones it keeps. Runs after a successful apply, under the sysroot lock, so no other apply is
 * building a folder here meanwhile. Never throws: the apply it follows has succeeded, and a failure to
 * tidy up must not report it as failed; the reason goes to stderr, where an operator looks.
 */
export function pruneEtcBackups(report: StatusReport, now = Date.now()): string[] {
  const removed: string[] = [];
  try {
    const root = ensureEtcBackupRoot(etcBackupRoot(report));
    const { backups, leftovers } = readBackups(root);
    const { kept } = retained(backups, report, now, ETC_BACKUP_LIMITS);
    for (const b of backups) {
      if (kept.has(b.id)) {
        tighten(b.dir, 0o700, true);
        tighten(join(b.dir, 'files'), 0o700, true);
        tighten(join(b.dir, MANIFEST), 0o600, false);
        continue;
      }
      rmSync(b.dir, { recursive: true });
      removed.push(b.id);
    }
    for (const name of leftovers) {
      rmSync(join(root, name), { recursive: true });
      removed.push(name);
    }
    if (removed.length) fsyncDir(root);
  } catch (error) {
    process.stderr.write(
      `hindsight-helper: cannot prune the /etc backups: ${(error as Error).message.split('\n')[0]}\n`,
    );
  }
  return removed;
}

/**
 * Removes one backup for good. The id is a name in the etc-backups folder, never a path; the entry
 * must be a real folder (lstat: a link named like a backup is refused, not followed) holding a
 * manifest with that id. rmSync then deletes links inside as links.
 */
export function removeEtcBackup(report: StatusReport, backupId: string): EtcBackupRemoved {
  if (!isBackupId(backupId)) throw new HindsightError('bad-request', 'not a backup id');
  const root = etcBackupRoot(report);
  const dir = join(root, backupId);
  const missing = new HindsightError('refused', `there is no /etc backup "${printable(backupId)}"`);
  let rootStat: ReturnType<typeof lstatSync>;
  let st: ReturnType<typeof lstatSync>;
  try {
    rootStat = lstatSync(root);
    st = lstatSync(dir);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') throw missing;
    throw new HindsightError(
      'io-error',
      `cannot read ${dir}: ${errnoCode(error) ?? (error as Error).message}`,
    );
  }
  if (!rootStat.isDirectory() || rootStat.uid !== ownUid()) throw missing;
  if (!st.isDirectory() || st.uid !== ownUid()) {
    throw new HindsightError('refused', `"${printable(backupId)}" is not an /etc backup`);
  }
  const manifest = readSummary(dir, backupId);
  if (!manifest) throw new HindsightError('refused', `"${printable(backupId)}" is not an /etc backup`);
  const files = manifest.entries.length;
  const bytes = folderBytes(dir);
  try {
    rmSync(dir, { recursive: true });
  } catch (error) {
    throw new HindsightError(
      'io-error',
      `cannot remove ${dir}: ${errnoCode(error) ?? (error as Error).message}`,
    );
  }
  fsyncDir(root);
  return {
    backupId,
    files,
    bytes,
    message: `removed /etc backup ${backupId} (${files} file${files === 1 ? '' : 's'}); it can no longer be undone`,
  };
}
