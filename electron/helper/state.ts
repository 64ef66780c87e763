import {
  closeSync,
  fstatSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { HindsightError } from '../../shared/errors.ts';
import type { AuditRecord, Deployment, StatusReport } from '../../shared/types.ts';
import { writeFileAtomic } from '../core/atomic-write.ts';
import { requireRootSafe } from '../core/confined-fs.ts';
import { isBootedSystem, listStaterooots } from '../core/ostree/sysroot.ts';

/**
 * The helper's own root-owned state, kept under the stateroot's /var so it follows the sysroot
 * (`/var/lib/hindsight` on the running system, whose /sysroot may be mounted read-only):
 * the audit log, the lock, /etc backups, and which deployments Hindsight created.
 */

export function stateDirFor(report: Pick<StatusReport, 'sysroot' | 'stateroot' | 'bootedSystem'>): string {
  if (report.bootedSystem) return '/var/lib/hindsight';
  return join(report.sysroot, 'ostree', 'deploy', report.stateroot, 'var', 'lib', 'hindsight');
}

/**
 * The state folder without asking ostree for the whole status (a mutation takes the lock before it
 * reads the status it acts on): it depends only on the stateroot, which is obvious in the usual cases.
 */
export function quickStateDir(sysroot: string, stateroot: string | undefined): string | null {
  if (isBootedSystem(sysroot)) return '/var/lib/hindsight';
  const roots = listStaterooots(sysroot);
  const chosen = stateroot ?? (roots.length === 1 ? roots[0] : undefined);
  if (chosen === undefined || !roots.includes(chosen)) return null;
  return stateDirFor({ sysroot, stateroot: chosen, bootedSystem: false });
}

/**
 * Creates (or checks) a state folder: a real folder, not a symlink, owned by this process's user,
 * so nobody else can plant a file the helper would then trust or overwrite.
 */
export function ensureDir(dir: string, mode = 0o755): string {
  try {
    mkdirSync(dir, { recursive: true, mode });
  } catch (error) {
    throw new HindsightError(
      errnoCode(error) === 'EACCES' || errnoCode(error) === 'EPERM' ? 'not-authorized' : 'io-error',
      `cannot create ${dir}: ${errnoCode(error) ?? (error as Error).message}`,
    );
  }
  const st = lstatSync(dir);
  const uid = process.getuid?.() ?? 0;
  if (!st.isDirectory() || st.uid !== uid) {
    throw new HindsightError(
      'refused',
      `${dir} is not a folder owned by uid ${uid}; Hindsight will not keep its state there`,
    );
  }
  // Root keeps state (backups of /etc/shadow among it) only where no other user can swap a folder.
  if (uid === 0) requireRootSafe(dir);
  return dir;
}

export function errnoCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

// --- audit log --------------------------------------------------------------------------------------

const AUDIT_FILE = 'audit.jsonl';
/** How much of the end of the log `history` reads: far more than the 10 000 records it may return. */
const AUDIT_TAIL_BYTES = 16 * 1024 * 1024;

/**
 * Appends one record as one line with O_APPEND and fsync: concurrent writers never interleave inside
 * a line (one write(2) each), and a crash leaves at worst a torn last line, which readers skip.
 */
export function appendAudit(dir: string, record: AuditRecord): void {
  ensureDir(dir);
  const fd = openSync(join(dir, AUDIT_FILE), 'a', 0o644);
  try {
    const bytes = Buffer.from(`${JSON.stringify(record)}\n`);
    let offset = 0;
    while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The newest records first. */
export function readAudit(dir: string, limit: number): AuditRecord[] {
  let fd: number;
  try {
    fd = openSync(join(dir, AUDIT_FILE), 'r');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return [];
    throw new HindsightError('unreadable', `cannot read the audit log in ${dir}: ${errnoCode(error)}`);
  }
  let text: string;
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, AUDIT_TAIL_BYTES);
    const buf = Buffer.alloc(length);
    let got = 0;
    while (got < length) {
      const n = readSync(fd, buf, got, length - got, size - length + got);
      if (n === 0) break;
      got += n;
    }
    text = buf.subarray(0, got).toString('utf8');
    // Reading from the middle of the file: the first line is probably cut.
    if (length < size) text = text.slice(text.indexOf('\n') + 1);
  } finally {
    closeSync(fd);
  }
  const records: AuditRecord[] = [];
  const lines = text.split('\n');
  for (let i = lines.length - 1; i >= 0 && records.length < limit; i--) {
    const line = lines[i];
    if (!line) continue;
    try {
      const value = JSON.parse(line) as AuditRecord;
      if (value && typeof value.id === 'string' && typeof value.operation === 'string') records.push(value);
    } catch {
      // a torn line from a crash mid-append
    }
  }
  return records;
}

/** The user name of a uid, from the running system's passwd (the helper never trusts a sysroot's). */
export function userName(uid: number | null): string | null {
  if (uid === null) return null;
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [name, , id] = line.split(':');
      if (name && id === String(uid)) return name;
    }
  } catch {
    // no passwd: leave the name out
  }
  return null;
}

// --- deployments Hindsight created ------------------------------------------------------------------

const CREATED_FILE = 'deployments.json';

export interface CreatedDeployment {
  stateroot: string;
  checksum: string;
  serial: number;
  operation: string;
  time: string;
}

export function readCreated(dir: string): CreatedDeployment[] {
  try {
    const value = JSON.parse(readFileSync(join(dir, CREATED_FILE), 'utf8')) as unknown;
    return Array.isArray(value) ? (value as CreatedDeployment[]) : [];
  } catch {
    return [];
  }
}

/**
 * What would boot next when it is new: the staged deployment, else the default when Hindsight
 * deployed it and it has never run (not booted, not pinned, not the only one). Anything else is an
 * ordinary deployment that a user may rely on; removing those is `undeploy`, named explicitly.
 */
export function stagedUpdateOf(report: StatusReport): Deployment | null {
  const staged = report.deployments.find((d) => d.staged);
  if (staged) return staged;
  const first = report.deployments[0];
  if (!first || first.booted || first.pinned || report.deployments.length < 2) return null;
  const madeByUs = readCreated(stateDirFor(report)).some(
    (c) => c.stateroot === first.stateroot && c.checksum === first.checksum && c.serial === first.serial,
  );
  return madeByUs ? first : null;
}

/** The report with `stagedUpdate` filled in, as the helper and the CLI's `status` give it. */
export function withStagedUpdate(report: StatusReport): StatusReport {
  const update = stagedUpdateOf(report);
  return {
    ...report,
    stagedUpdate: update
      ? { stateroot: update.stateroot, checksum: update.checksum, serial: update.serial }
      : null,
  };
}

/** Remembers a deployment Hindsight made, so `cancel` only ever drops one of those. */
export function recordCreated(dir: string, entry: CreatedDeployment, existing: StatusReport): void {
  ensureDir(dir);
  const alive = new Set(existing.deployments.map((d) => `${d.stateroot}/${d.checksum}.${d.serial}`));
  const kept = readCreated(dir).filter((c) => alive.has(`${c.stateroot}/${c.checksum}.${c.serial}`));
  kept.push(entry);
  writeFileAtomic(join(dir, CREATED_FILE), `${JSON.stringify(kept, null, 2)}\n`);
}
