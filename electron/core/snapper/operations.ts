import { existsSync } from 'node:fs';
import { HindsightError } from '../../../shared/errors.ts';
import type { PendingRollback } from '../../../shared/snapper.ts';
import { printable } from '../ostree/selectors.ts';
import { resolveSnapshotNumber } from './backend.ts';
import type { SnapperSnapshot } from './snapper-list.ts';
import {
  btrfs,
  lastLine,
  readSnapperRoot,
  runSnapper,
  type SnapperRootReport,
  snapshotFolder,
} from './snapshots.ts';

/**
 * snapper's change operations, as the privileged helper runs them: roll back (boot another snapshot
 * next), undo that rollback before the reboot, change a snapshot's description, userdata or cleanup,
 * delete snapshots. Each re-reads the root afterwards and checks the result on disk instead of
 * trusting snapper's exit code: `snapper delete` exits 0 when it refuses ("Cannot delete snapshot 8
 * since it is the next to be mounted snapshot."), and `--root` has path bugs in other commands.
 *
 * What `snapper --no-dbus --root ROOT rollback N` does on openSUSE's layout (checked on real roots
 * with snapper 0.10.4): classic ambit (writable root) makes a read-only backup of the running system
 * ("rollback backup of #A"), a writable copy of N ("writable copy of #N"), sets the copy as the
 * btrfs default and sets cleanup `number` on the previous default when it had none; transactional
 * ambit (read-only root) only sets N's own subvolume as the default, as transactional-update does.
 * Both are right with `--root`, so Hindsight runs snapper for both, naming the ambit itself so that
 * what it checked (the running subvolume's read-only flag) is what snapper does.
 *
 * Hindsight marks what it did in snapper's userdata (info.xml in `.snapshots/N`, writable even when
 * the snapshot is not), so a pending rollback is found again from snapper's list alone, by the
 * helper or the app, without a state file of its own to lose or get out of step:
 *   - the snapshot that boots next gets `hindsight=rollback-copy` (classic) or
 *     `hindsight=rollback-target` (transactional), with `hindsight-target` (N), `hindsight-from`
 *     (the default it replaced), `hindsight-running` (the running subvolume's id) and, classic only,
 *     `hindsight-from-cleanup` (the replaced default's cleanup before snapper changed it);
 *   - the backup gets `hindsight=rollback-backup` and `hindsight-copy` (the copy it goes with).
 */

export interface OperationResult {
  /** One line for people: what boots next, what was made or removed. */
  message: string;
  /** The root read again after the change. */
  report: SnapperRootReport;
}

export interface OperationOptions {
  /** The caller's uid (tests pass one to see the non-root answer); default: this process's. */
  uid?: number;
}

export type { PendingRollback };

export interface SnapshotChanges {
  description?: string;
  /** Keys to set; '' or null removes a key (snapper's own `key=`). */
  userdata?: Record<string, string | null>;
  /** Cleanup algorithm; '' for none. */
  cleanup?: string;
}

const KEY = 'hindsight';
const KEY_TARGET = 'hindsight-target';
const KEY_FROM = 'hindsight-from';
const KEY_FROM_CLEANUP = 'hindsight-from-cleanup';
const KEY_RUNNING = 'hindsight-running';
const KEY_COPY = 'hindsight-copy';
const MARK_COPY = 'rollback-copy';
const MARK_TARGET = 'rollback-target';
const MARK_BACKUP = 'rollback-backup';
// Userdata cannot hold an empty value (`key=` removes the key), so "no cleanup" needs a word.
const NO_CLEANUP = 'none';

/** Cleanup algorithms snapper knows; `snapper modify` takes any word, and its cleanup then skips the snapshot. */
export const CLEANUP_ALGORITHMS = ['', 'number', 'timeline', 'empty-pre-post'] as const;

// As the helper's request schema takes them.
const MAX_DESCRIPTION = 1000;
const MAX_KEY = 64;
const MAX_VALUE = 256;

function checkUid(options: OperationOptions, what: string, root: string): void {
  const uid = options.uid ?? process.getuid?.() ?? 0;
  if (uid !== 0)
    throw new HindsightError(
      'not-authorized',
      `${what} on the snapper root ${root} needs root (snapper --no-dbus and btrfs change the disk directly)`,
    );
}

async function snapperRun(
  report: SnapperRootReport,
  args: readonly string[],
): Promise<{ out: string; err: string }> {
  const result = await runSnapper(report.root, report.config, args);
  if (result.code !== 0) {
    const line = lastLine(result.err) || lastLine(result.out);
    throw new HindsightError(
      'io-error',
      `snapper ${args.find((a) => !a.startsWith('-')) ?? ''} failed (exit ${result.code})${line ? `: ${line}` : ''}`,
    );
  }
  return result;
}

async function btrfsRun(args: readonly string[]): Promise<void> {
  const result = await btrfs(args);
  if (!result.ok)
    throw new HindsightError(
      'io-error',
      `btrfs ${args[0]} ${args[1]} failed${result.err ? `: ${result.err}` : ''}`,
    );
}

function find(report: SnapperRootReport, number: number): SnapperSnapshot | undefined {
  return report.snapshots.find((s) => s.number === number);
}

function existing(report: SnapperRootReport, number: number): SnapperSnapshot {
  if (!Number.isSafeInteger(number) || number < 0)
    throw new HindsightError('bad-selector', `not a snapshot number: ${printable(String(number))}`);
  const s = find(report, number);
  if (!s)
    throw new HindsightError(
      'no-such-deployment',
      `no snapshot ${number} in ${report.root} (snapper lists ${report.snapshots.map((x) => x.number).join(', ') || 'none'})`,
    );
  return s;
}

function defaultNumber(report: SnapperRootReport): number | null {
  return report.snapshots.find((s) => s.default)?.number ?? report.defaultSubvolume.number;
}

function activeNumber(report: SnapperRootReport): number | null {
  return report.snapshots.find((s) => s.active)?.number ?? report.activeSubvolume.number;
}

function positiveInt(text: string | undefined): number | null {
  if (text === undefined || !/^[1-9]\d{0,9}$/.test(text)) return null;
  return Number(text);
}

function label(s: SnapperSnapshot): string {
  return s.description ? `${s.number} (${s.description})` : String(s.number);
}

/**
 * The rollback Hindsight made that has not booted yet: the default carries Hindsight's mark and the
 * machine still runs what it ran when the rollback was made. A rollback to the running snapshot
 * (MicroOS: dropping a waiting update) stays pending across reboots, since nothing tells the boots
 * apart; undoing it then sets the dropped update as the default again, which is what undo means.
 */
export function pendingRollback(report: SnapperRootReport): PendingRollback | null {
  const mark = rollbackMark(report);
  if (!mark || mark.running !== report.activeSubvolume.id) return null;
  const { target, previousDefault, made } = mark;
  return { target, previousDefault, made };
}

interface RollbackMark extends PendingRollback {
  /** What boots next: the writable copy of `target` (classic) or `target` itself (transactional). */
  bootsNext: number;
  running: number;
  kind: 'classic' | 'transactional';
  /** The replaced default's cleanup before snapper set `number` on it; null when not recorded. */
  fromCleanup: string | null;
}

function rollbackMark(report: SnapperRootReport): RollbackMark | null {
  const n = report.defaultSubvolume.number;
  const s = n === null ? undefined : find(report, n);
  if (!s) return null;
  const kind = s.userdata[KEY];
  if (kind !== MARK_COPY && kind !== MARK_TARGET) return null;
  const target = positiveInt(s.userdata[KEY_TARGET]);
  const previousDefault = positiveInt(s.userdata[KEY_FROM]);
  const running = positiveInt(s.userdata[KEY_RUNNING]);
  if (target === null || previousDefault === null || running === null) return null;
  const made =
    kind === MARK_COPY
      ? [
          ...report.snapshots
            .filter((b) => b.userdata[KEY] === MARK_BACKUP && b.userdata[KEY_COPY] === String(s.number))
            .map((b) => b.number),
          s.number,
        ].sort((a, b) => a - b)
      : [];
  const cleanup = s.userdata[KEY_FROM_CLEANUP];
  return {
    target,
    bootsNext: s.number,
    previousDefault,
    made,
    running,
    kind: kind === MARK_COPY ? 'classic' : 'transactional',
    fromCleanup: cleanup === undefined ? null : cleanup === NO_CLEANUP ? '' : cleanup,
  };
}

function userdataArg(entries: Record<string, string>): string {
  return Object.entries(entries)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** Boots snapshot `selector` next: a writable copy of it on a writable root, the snapshot itself on a read-only one. */
export async function rollbackTo(
  root: string,
  config: string,
  selector: string,
  options: OperationOptions = {},
): Promise<OperationResult> {
  checkUid(options, 'a rollback', root);
  const before = await readSnapperRoot(root, { config });
  const n = resolveSnapshotNumber(before, selector);
  if (n === 0)
    throw new HindsightError('refused', 'snapshot 0 is the live root ("current"), not a snapshot to boot');
  const target = existing(before, n);
  const def = defaultNumber(before);
  if (n === def) throw new HindsightError('refused', `snapshot ${n} already boots next`);
  const pending = pendingRollback(before);
  if (pending && n === pending.previousDefault)
    throw new HindsightError(
      'refused',
      `snapshot ${n} is what the pending rollback to ${pending.target} replaced: undo that rollback instead`,
    );
  if (def === null || !find(before, def))
    throw new HindsightError(
      'unsupported',
      `the default subvolume ${before.defaultSubvolume.path} is not one of snapper's snapshots, so a rollback could not be undone`,
    );
  const folder = snapshotFolder(before.root, n);
  if (!existsSync(folder))
    throw new HindsightError('refused', `snapshot ${n} has no snapshot folder (${folder}): nothing to boot`);
  // A snapshot transactional-update is still writing into is no system yet.
  if (target.userdata['transactional-update-in-progress'] === 'yes')
    throw new HindsightError('refused', `snapshot ${n} is an update still in progress`);

  const transactional = before.activeSubvolume.readOnly;
  const mark: Record<string, string> = {
    [KEY]: transactional ? MARK_TARGET : MARK_COPY,
    [KEY_TARGET]: String(n),
    [KEY_FROM]: String(def),
    [KEY_RUNNING]: String(before.activeSubvolume.id),
  };
  const previous = find(before, def) as SnapperSnapshot;
  if (transactional) {
    // Marked first: a mark on a snapshot that did not become the default is inert, while a default
    // set without its mark could not be undone.
    await snapperRun(before, ['modify', '--userdata', userdataArg(mark), String(n)]);
    await snapperRun(before, ['--ambit', 'transactional', 'rollback', String(n)]);
  } else {
    mark[KEY_FROM_CLEANUP] = previous.cleanup || NO_CLEANUP;
    // snapper gives both new snapshots the same userdata; the backup is told apart right after.
    await snapperRun(before, ['--ambit', 'classic', 'rollback', '--userdata', userdataArg(mark), String(n)]);
  }

  let after = await readSnapperRoot(before.root, { config });
  const now = after.defaultSubvolume.number;
  if (transactional) {
    if (now !== n)
      throw new HindsightError(
        'io-error',
        `snapper rollback ${n} ran, but the default subvolume is ${after.defaultSubvolume.path}`,
      );
    return {
      message: `Snapshot ${label(target)} boots next; undo sets ${def} as the default again`,
      report: after,
    };
  }
  const known = new Set(before.snapshots.map((s) => s.number));
  const made = after.snapshots.filter((s) => !known.has(s.number)).map((s) => s.number);
  if (now === null || !made.includes(now))
    throw new HindsightError(
      'io-error',
      `snapper rollback ${n} ran, but the default subvolume is ${after.defaultSubvolume.path}, not a new copy of ${n}`,
    );
  const backups = made.filter((m) => m !== now);
  for (const b of backups)
    await snapperRun(after, [
      'modify',
      '--userdata',
      userdataArg({ [KEY]: MARK_BACKUP, [KEY_COPY]: String(now) }),
      String(b),
    ]);
  if (backups.length > 0) after = await readSnapperRoot(before.root, { config });
  const keeps = backups.length > 0 ? `; ${backups.join(', ')} keeps the system that was running` : '';
  return { message: `Snapshot ${now} (writable copy of ${n}) boots next${keeps}`, report: after };
}

/** Puts back the default a pending Hindsight rollback replaced, and deletes what that rollback made. */
export async function undoRollback(
  root: string,
  config: string,
  options: OperationOptions = {},
): Promise<OperationResult> {
  checkUid(options, 'undoing a rollback', root);
  const before = await readSnapperRoot(root, { config });
  const mark = rollbackMark(before);
  if (!mark)
    throw new HindsightError('refused', 'there is no rollback by Hindsight waiting for the next boot');
  if (mark.running !== before.activeSubvolume.id) {
    const running = activeNumber(before);
    throw new HindsightError(
      'refused',
      running === mark.bootsNext
        ? `the rollback to ${mark.target} has already booted (snapshot ${mark.bootsNext} is running): roll back to ${mark.previousDefault} instead`
        : `the machine has rebooted since the rollback to ${mark.target}: roll back to ${mark.previousDefault} instead`,
    );
  }
  const previous = find(before, mark.previousDefault);
  const folder = snapshotFolder(before.root, mark.previousDefault);
  if (!previous || !existsSync(folder))
    throw new HindsightError(
      'refused',
      `snapshot ${mark.previousDefault}, the default before the rollback, is gone: nothing to go back to`,
    );

  await btrfsRun(['subvolume', 'set-default', folder]);
  if (mark.kind === 'classic') {
    // snapper set cleanup `number` on the replaced default when it had none; a default is kept by
    // its role, not by cleanup, so that is put back too.
    if (mark.fromCleanup !== null && previous.cleanup !== mark.fromCleanup)
      await snapperRun(before, ['modify', '--cleanup-algorithm', mark.fromCleanup, String(previous.number)]);
    const gone = await deleteChecked(before, mark.made);
    const after = await readSnapperRoot(before.root, { config });
    checkDefault(after, mark.previousDefault);
    return {
      message: `Snapshot ${mark.previousDefault} boots next again; deleted ${joinNumbers(gone)} from the rollback to ${mark.target}`,
      report: after,
    };
  }
  const clear = [KEY, KEY_TARGET, KEY_FROM, KEY_RUNNING].map((k) => `${k}=`).join(',');
  await snapperRun(before, ['modify', '--userdata', clear, String(mark.bootsNext)]);
  const after = await readSnapperRoot(before.root, { config });
  checkDefault(after, mark.previousDefault);
  return {
    message: `Snapshot ${mark.previousDefault} boots next again; the rollback to ${mark.target} is undone`,
    report: after,
  };
}

function checkDefault(report: SnapperRootReport, number: number): void {
  if (report.defaultSubvolume.number !== number)
    throw new HindsightError(
      'io-error',
      `btrfs set-default ran, but the default subvolume is ${report.defaultSubvolume.path}, not snapshot ${number}`,
    );
}

function joinNumbers(numbers: readonly number[]): string {
  if (numbers.length <= 1) return numbers.join('');
  return `${numbers.slice(0, -1).join(', ')} and ${numbers[numbers.length - 1]}`;
}

const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

function checkText(what: string, text: unknown, max: number): string {
  if (typeof text !== 'string') throw new HindsightError('bad-request', `${what} must be text`);
  if (CONTROL.test(text))
    throw new HindsightError('bad-request', `${what} has control characters (tabs, newlines and the like)`);
  if (text.length > max) throw new HindsightError('bad-request', `${what} is longer than ${max} characters`);
  return text;
}

// snapper splits `--userdata` at commas and each item at its '=' (an item with two is refused),
// and trims spaces around keys and values.
function checkUserdataPart(what: string, text: string, max: number): void {
  checkText(what, text, max);
  if (/[,=]/.test(text)) throw new HindsightError('bad-request', `${what} cannot hold "," or "="`);
  if (text !== text.trim())
    throw new HindsightError('bad-request', `${what} cannot start or end with spaces`);
}

/** Changes a snapshot's description, userdata (merged; '' or null removes a key) or cleanup algorithm. */
export async function modifySnapshot(
  root: string,
  config: string,
  number: number,
  changes: SnapshotChanges,
  options: OperationOptions = {},
): Promise<OperationResult> {
  checkUid(options, 'changing a snapshot', root);
  const args: string[] = [];
  const { description, userdata, cleanup } = changes;
  if (description !== undefined)
    args.push('--description', checkText('the description', description, MAX_DESCRIPTION));
  const items: string[] = [];
  if (userdata !== undefined) {
    if (userdata === null || typeof userdata !== 'object' || Array.isArray(userdata))
      throw new HindsightError('bad-request', 'userdata must be a map of keys to values');
    for (const [key, value] of Object.entries(userdata)) {
      checkUserdataPart(`the userdata key "${printable(key)}"`, key, MAX_KEY);
      if (key === '') throw new HindsightError('bad-request', 'a userdata key cannot be empty');
      if (key === KEY || key.startsWith(`${KEY}-`))
        throw new HindsightError('bad-request', `the userdata key ${key} is Hindsight's own rollback record`);
      if (value !== null) checkUserdataPart(`the userdata value of ${key}`, value, MAX_VALUE);
      items.push(`${key}=${value ?? ''}`);
    }
    if (items.length > 0) args.push('--userdata', items.join(','));
  }
  if (cleanup !== undefined) {
    if (!(CLEANUP_ALGORITHMS as readonly string[]).includes(cleanup))
      throw new HindsightError(
        'bad-request',
        `"${printable(String(cleanup))}" is not a cleanup algorithm (number, timeline, empty-pre-post, or none)`,
      );
    args.push('--cleanup-algorithm', cleanup);
  }
  if (args.length === 0) throw new HindsightError('bad-request', 'nothing to change');

  const before = await readSnapperRoot(root, { config });
  const s = existing(before, number);
  if (number === 0)
    throw new HindsightError('refused', 'snapshot 0 is the live root ("current"), which has no description');
  await snapperRun(before, ['modify', ...args, String(number)]);
  const after = await readSnapperRoot(before.root, { config });
  const now = find(after, number);
  const expected = { ...s.userdata };
  for (const [k, v] of Object.entries(userdata ?? {})) {
    if (v === null || v === '') delete expected[k];
    else expected[k] = v;
  }
  if (
    !now ||
    (description !== undefined && now.description !== description) ||
    (cleanup !== undefined && now.cleanup !== cleanup) ||
    JSON.stringify(sortedEntries(now.userdata)) !== JSON.stringify(sortedEntries(expected))
  )
    throw new HindsightError(
      'io-error',
      `snapper modify ${number} ran, but the snapshot did not change as asked`,
    );
  const what = [
    description !== undefined ? 'description' : '',
    userdata !== undefined ? 'userdata' : '',
    cleanup !== undefined ? 'cleanup' : '',
  ].filter(Boolean);
  return { message: `Changed the ${what.join(', ')} of snapshot ${number}`, report: after };
}

function sortedEntries(record: Record<string, string>): [string, string][] {
  return Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Deletes the change snapshot `number` belongs to: the snapshot alone, or a pre and its post
 * together, since either half alone no longer tells what the change did.
 */
export async function deleteSnapshot(
  root: string,
  config: string,
  number: number,
  options: OperationOptions = {},
): Promise<OperationResult> {
  checkUid(options, 'deleting snapshots', root);
  const report = await readSnapperRoot(root, { config });
  const s = existing(report, number);
  const partner = partnerOf(report, s);
  return deleteFrom(report, partner ? [s.number, partner.number] : [s.number]);
}

/** Deletes exactly these snapshots; a pre or post whose other half exists must come with it. */
export async function deleteSnapshots(
  root: string,
  config: string,
  numbers: readonly number[],
  options: OperationOptions = {},
): Promise<OperationResult> {
  checkUid(options, 'deleting snapshots', root);
  if (!Array.isArray(numbers) || numbers.length === 0)
    throw new HindsightError('bad-request', 'no snapshots to delete');
  const report = await readSnapperRoot(root, { config });
  return deleteFrom(report, numbers);
}

function partnerOf(report: SnapperRootReport, s: SnapperSnapshot): SnapperSnapshot | null {
  if (s.type === 'post' && s.preNumber !== null) {
    const pre = find(report, s.preNumber);
    return pre?.type === 'pre' ? pre : null;
  }
  if (s.type === 'pre')
    return report.snapshots.find((p) => p.type === 'post' && p.preNumber === s.number) ?? null;
  return null;
}

async function deleteFrom(report: SnapperRootReport, requested: readonly number[]): Promise<OperationResult> {
  const numbers = [...new Set(requested)].sort((a, b) => a - b);
  const snapshots = numbers.map((n) => existing(report, n));
  const def = defaultNumber(report);
  const active = activeNumber(report);
  const pending = pendingRollback(report);
  for (const s of snapshots) {
    if (s.number === 0)
      throw new HindsightError(
        'refused',
        'snapshot 0 is the live root ("current"), not a snapshot to delete',
      );
    if (s.number === def)
      throw new HindsightError('refused', `snapshot ${s.number} boots next (the default)`);
    if (s.number === active) throw new HindsightError('refused', `snapshot ${s.number} is running (active)`);
    if (pending && s.number === pending.previousDefault)
      throw new HindsightError(
        'refused',
        `snapshot ${s.number} is what undoing the pending rollback to ${pending.target} boots`,
      );
    const partner = partnerOf(report, s);
    if (partner && !numbers.includes(partner.number))
      throw new HindsightError(
        'refused',
        `snapshot ${s.number} is the ${s.type} of ${partner.number}${s.description ? ` (${s.description})` : ''}: delete both`,
      );
  }
  const gone = await deleteChecked(report, numbers);
  const after = await readSnapperRoot(report.root, { config: report.config });
  const first = snapshots[0] as SnapperSnapshot;
  const about = first.description ? ` (${first.description})` : '';
  return {
    message: `Deleted snapshot${gone.length > 1 ? 's' : ''} ${joinNumbers(gone)}${about}`,
    report: after,
  };
}

/** `snapper delete`, then a fresh list: snapper exits 0 even when it refuses a number. */
async function deleteChecked(report: SnapperRootReport, numbers: readonly number[]): Promise<number[]> {
  if (numbers.length === 0) return [];
  const { err } = await snapperRun(report, ['delete', ...numbers.map(String)]);
  const after = await readSnapperRoot(report.root, { config: report.config });
  const left = numbers.filter((n) => find(after, n));
  if (left.length > 0)
    throw new HindsightError(
      'io-error',
      `snapper did not delete ${joinNumbers(left)}${lastLine(err) ? `: ${lastLine(err)}` : ''}`,
    );
  return [...numbers];
}
