import { join } from 'node:path';
import { HindsightError } from '../../shared/errors.ts';
import type { HelperParams, HelperResult } from '../../shared/helper-contract.ts';
import type {
  SnapperEtcReport,
  SnapperFileView,
  SnapperOperationResult,
  SnapperStatus,
} from '../../shared/snapper.ts';
import type { EtcFileSide, EtcPath } from '../../shared/types.ts';
import { lineHunks } from '../core/etc/etc-drift.ts';
import { encodeEtcPath, printablePath } from '../core/etc/etc-tree.ts';
import { resolveSnapshotNumber, snapperBackend } from '../core/snapper/backend.ts';
import { snapshotDrift, snapshotFiles } from '../core/snapper/files.ts';
import {
  deleteSnapshots,
  modifySnapshot,
  pendingRollback,
  rollbackTo,
  undoRollback,
} from '../core/snapper/operations.ts';
import { applyPendingMerge, pendingMerges } from '../core/snapper/pending-merge.ts';
import { type LiveChange, restoreFile, undoBackup } from '../core/snapper/restore-file.ts';
import { readSnapperRoot, type SnapperRootReport, snapshotFolder } from '../core/snapper/snapshots.ts';
import { DEFAULT_SNAPPER_CONFIG } from '../core/system/detect.ts';
import type { OperationContext } from './context.ts';
import { fileSide } from './etc-file.ts';
import { requestPathBytes } from './etc-paths.ts';
import { ensureDir } from './state.ts';

/**
 * The helper's side of a snapper root: the same reading, confinement, locking and audit as for an
 * OSTree sysroot (methods.ts), with snapper's engine (core/snapper/) behind each method.
 */

/**
 * Where Hindsight keeps its audit, lock and file backups on a snapper root: its /var, which
 * openSUSE keeps in a subvolume of its own, so a rollback does not take Hindsight's record back with it.
 */
export function snapperStateDir(root: string): string {
  return join(root, 'var', 'lib', 'hindsight');
}

export async function snapperStatus(ctx: OperationContext): Promise<SnapperStatus> {
  return statusOf(await readSnapperRoot(ctx.sysroot));
}

function statusOf(report: SnapperRootReport): SnapperStatus {
  return {
    ...report,
    backend: 'snapper',
    readOnlyRoot: report.activeSubvolume.readOnly,
    pendingRollback: pendingRollback(report),
  };
}

/** A path inside a snapshot, from the request: relative (a leading `/` is dropped), confined as /etc paths are. */
export function treePathBytes(p: EtcPath): Buffer {
  const path = p.path.replace(/^\/+/, '');
  if (p.pathBase64 === undefined) return requestPathBytes({ path });
  const bytes = Buffer.from(p.pathBase64, 'base64');
  let start = 0;
  while (bytes[start] === 0x2f) start += 1;
  return requestPathBytes({ path, pathBase64: bytes.subarray(start).toString('base64') });
}

export async function snapperPackageDelta(
  ctx: OperationContext,
  p: HelperParams<'snapperPackageDelta'>,
): Promise<HelperResult<'snapperPackageDelta'>> {
  const backend = snapperBackend({ root: ctx.sysroot });
  return backend.packageDelta(await backend.read(), p.from, p.to);
}

export async function snapperFile(
  ctx: OperationContext,
  p: HelperParams<'snapperFile'>,
): Promise<SnapperFileView> {
  const report = await readSnapperRoot(ctx.sysroot);
  const rel = treePathBytes(p.path);
  const [from, to] = [p.from, p.to].map((s) => resolveSnapshotNumber(report, s)) as [number, number];
  const fromSide = fileSide(snapshotFolder(report.root, from), rel);
  const toSide = fileSide(snapshotFolder(report.root, to), rel);
  if (!fromSide.meta && !toSide.meta)
    throw new HindsightError('bad-path', `"${printablePath(rel)}" is in neither snapshot ${from} nor ${to}`);
  const view: SnapperFileView = { ...encodeEtcPath(rel), from: fromSide, to: toSide };
  const asText = (s: EtcFileSide): string | null =>
    s.meta === null ? '' : s.content === 'text' ? (s.text ?? '') : null;
  const before = asText(fromSide);
  const after = asText(toSide);
  if (before !== null && after !== null && before !== after) view.hunks = lineHunks(before, after);
  return view;
}

/** How many entries one answer carries; the counts still cover every change. */
const MAX_FILE_ENTRIES = 50_000;

export async function snapperFiles(
  ctx: OperationContext,
  p: HelperParams<'snapperFiles'>,
): Promise<HelperResult<'snapperFiles'>> {
  const report = await readSnapperRoot(ctx.sysroot);
  const { from, to, entries, counts } = snapshotFiles(
    report,
    p.from,
    p.to,
    (p.paths ?? []).map((path) => path.path),
  );
  return {
    from,
    to,
    entries: entries.slice(0, MAX_FILE_ENTRIES),
    counts,
    truncated: entries.length > MAX_FILE_ENTRIES,
  };
}

function answer(
  operation: string,
  done: { message: string; report: SnapperRootReport },
): SnapperOperationResult {
  return { operation, message: done.message, status: statusOf(done.report) };
}

/** Where restores and merge applies keep what they replaced (root-only, like OSTree's /etc backups). */
function backupDir(ctx: OperationContext): string {
  return ensureDir(join(ensureDir(snapperStateDir(ctx.sysroot)), 'file-backups'), 0o700);
}

/** A change to the live root: its message and backup, and the root's state after it. */
async function liveAnswer(
  ctx: OperationContext,
  operation: string,
  done: Omit<LiveChange, 'backupId'> & { backupId?: string },
): Promise<SnapperOperationResult> {
  return {
    operation,
    message: done.message,
    status: statusOf(await readSnapperRoot(ctx.sysroot)),
    ...(done.backupId !== undefined ? { backupId: done.backupId } : {}),
  };
}

/** The snapper methods beyond plain reading: /etc with its merges, and every change. */
export const snapperMutations = {
  snapperEtc: async (ctx: OperationContext, p: HelperParams<'snapperEtc'>): Promise<SnapperEtcReport> => {
    const report = await readSnapperRoot(ctx.sysroot);
    const drift = await snapshotDrift(report, p.snapshot);
    const merges = await pendingMerges(report.root, report, drift.snapshot.number);
    return { ...drift, pending: merges.merges, problems: [...drift.problems, ...merges.problems] };
  },
  snapperRollback: async (ctx: OperationContext, p: HelperParams<'snapperRollback'>) =>
    answer('rollback', await rollbackTo(ctx.sysroot, DEFAULT_SNAPPER_CONFIG, p.to)),
  snapperUndoRollback: async (ctx: OperationContext) =>
    answer('undo rollback', await undoRollback(ctx.sysroot, DEFAULT_SNAPPER_CONFIG)),
  snapperModify: async (ctx: OperationContext, p: HelperParams<'snapperModify'>) =>
    answer(
      'modify',
      await modifySnapshot(ctx.sysroot, DEFAULT_SNAPPER_CONFIG, p.snapshot, {
        ...(p.description !== undefined ? { description: p.description } : {}),
        ...(p.userdata !== undefined ? { userdata: p.userdata } : {}),
        ...(p.cleanup !== undefined ? { cleanup: p.cleanup } : {}),
      }),
    ),
  snapperDelete: async (ctx: OperationContext, p: HelperParams<'snapperDelete'>) =>
    answer('delete', await deleteSnapshots(ctx.sysroot, DEFAULT_SNAPPER_CONFIG, p.snapshots)),
  snapperRestore: async (ctx: OperationContext, p: HelperParams<'snapperRestore'>) => {
    const report = await readSnapperRoot(ctx.sysroot);
    const from = resolveSnapshotNumber(report, p.from);
    return liveAnswer(
      ctx,
      'restore',
      await restoreFile(report.root, report, { from, path: treePathBytes(p.path) }, backupDir(ctx)),
    );
  },
  snapperApplyMerge: async (ctx: OperationContext, p: HelperParams<'snapperApplyMerge'>) => {
    const report = await readSnapperRoot(ctx.sysroot);
    // Edited text is a merged result a person wrote: applied as merged, with its conflicts checked.
    const take = p.take === 'edited' ? 'merged' : p.take;
    const path = `/${treePathBytes(p.path).toString('utf8')}`;
    return liveAnswer(
      ctx,
      'resolve merge',
      await applyPendingMerge(
        report.root,
        report,
        { path, take, ...(p.text !== undefined ? { text: p.text } : {}) },
        backupDir(ctx),
      ),
    );
  },
  snapperUndoFile: async (ctx: OperationContext, p: HelperParams<'snapperUndoFile'>) => {
    // Nothing to undo an undo with: the answer carries no backup id.
    const { backupId: _, ...done } = undoBackup(ctx.sysroot, backupDir(ctx), p.backupId);
    return liveAnswer(ctx, 'undo', done);
  },
};
