import { resolve } from 'node:path';
import { BACKEND_WORDS, type BackendKind } from '../../shared/backends.ts';
import { HindsightError, toErrorPayload } from '../../shared/errors.ts';
import {
  type HelperMethod,
  type HelperMode,
  type HelperParams,
  type HelperResult,
  helperParams,
  isHelperMethod,
  LOCKING_METHODS,
  MUTATING_METHODS,
} from '../../shared/helper-contract.ts';
import type { AuditRecord, ProgressEvent } from '../../shared/types.ts';
import { requireRootSafe, withConfinement } from '../core/confined-fs.ts';
import { etcDrift } from '../core/etc/etc-drift.ts';
import { etcMerge } from '../core/etc/etc-merge.ts';
import { diskUsage } from '../core/ostree/disk-usage.ts';
import { filesDiff, fileView } from '../core/ostree/files-diff.ts';
import { printable } from '../core/ostree/selectors.ts';
import { changesNeedRoot } from '../core/ostree/sysroot.ts';
import { packageChangelogs, packageDelta } from '../core/packages/package-delta.ts';
import { rollbackPreview } from '../core/rollback-preview.ts';
import { snapshotChangelogs } from '../core/snapper/backend.ts';
import { readSnapperRoot } from '../core/snapper/snapshots.ts';
import { detectBackend } from '../core/system/detect.ts';
import { type OperationContext, status } from './context.ts';
import { cancel, reboot, setPinned, undeploy } from './deployments.ts';
import { etcApply, etcRestore, etcUndo } from './etc-apply.ts';
import { listEtcBackups, removeEtcBackup } from './etc-backups.ts';
import { etcFile } from './etc-file.ts';
import { rollback } from './rollback.ts';
import {
  snapperFile,
  snapperFiles,
  snapperMutations,
  snapperPackageDelta,
  snapperStateDir,
  snapperStatus,
} from './snapper.ts';
import { appendAudit, quickStateDir, readAudit, stateDirFor, userName } from './state.ts';
import { acquireLock } from './sysroot-lock.ts';
import { deploy, upgrade, upgradeCheck } from './upgrade.ts';

/**
 * The helper's method table. Every request is validated here with the shared zod schema (whatever
 * the client checked), bound to the one sysroot the helper was started for, refused when the helper
 * was started for reading only, serialised across processes by the sysroot lock, and audited.
 */

export interface HelperConfig {
  /** The sysroot this helper serves: absolute, symlinks resolved. */
  sysroot: string;
  mode: HelperMode;
  /** Default stateroot when a request names none. */
  stateroot?: string;
  /** The user on whose behalf the helper runs: pkexec's caller, else sudo's, else the process. */
  uid: number | null;
  /** What the sysroot is; found from what it holds when not given. */
  backend?: BackendKind;
}

type Handlers = {
  [M in HelperMethod]: (ctx: OperationContext, params: HelperParams<M>) => Promise<HelperResult<M>>;
};

/** Entries one files answer carries (the app lists them virtualised; the counts cover every one). */
const MAX_FILE_ENTRIES = 50_000;

const handlers: Handlers = {
  status: (ctx) => status(ctx),
  packageDelta: async (ctx, p) => packageDelta(await status(ctx), p.from, p.to),
  etcDrift: async (ctx, p) => etcDrift(await status(ctx), p.deployment, { diffs: p.diffs }),
  etcFile: async (ctx, p) => etcFile(await status(ctx), p),
  etcMerge: async (ctx, p) => etcMerge(await status(ctx), p.source, p.target),
  rollbackPreview: async (ctx, p) => rollbackPreview(await status(ctx), p.target ?? 'rollback'),
  diskUsage: async (ctx) => diskUsage(await status(ctx)),
  filesDiff: async (ctx, p) => {
    const diff = filesDiff(
      await status(ctx),
      p.from,
      p.to,
      (p.paths ?? []).map((path) => path.path),
      // The app asks again for every pair it shows: each side's owners are kept.
      { keepOwners: true },
    );
    // One answer carries at most this many entries; the counts still cover all of them.
    const entries = diff.entries.slice(0, MAX_FILE_ENTRIES);
    return { ...diff, entries, truncated: entries.length < diff.entries.length };
  },
  fileView: async (ctx, p) => fileView(await status(ctx), p.from, p.to, p.path.path),
  packageChangelogs: async (ctx, p) => packageChangelogs(await status(ctx), p.from, p.to),
  history: async (ctx, p) =>
    readAudit(
      ctx.backend === 'snapper' ? snapperStateDir(ctx.sysroot) : stateDirFor(await status(ctx)),
      p.limit ?? 200,
    ),
  upgradeCheck: (ctx) => upgradeCheck(ctx),
  rollback: (ctx, p) => rollback(ctx, p.to),
  upgrade: (ctx, p) => upgrade(ctx, p.commit),
  deploy: (ctx, p) => deploy(ctx, p.commit),
  pin: (ctx, p) => setPinned(ctx, p.deployment, true),
  unpin: (ctx, p) => setPinned(ctx, p.deployment, false),
  undeploy: (ctx, p) => undeploy(ctx, p.deployment),
  cancel: (ctx) => cancel(ctx),
  etcApply: (ctx, p) => etcApply(ctx, p),
  etcRestore: (ctx, p) => etcRestore(ctx, p),
  etcUndo: (ctx, p) => etcUndo(ctx, p.backupId),
  reboot: (ctx) => reboot(ctx),
  etcBackups: async (ctx) => listEtcBackups(await status(ctx)),
  etcRemoveBackup: async (ctx, p) => removeEtcBackup(await status(ctx), p.backupId),
  snapperStatus: (ctx) => snapperStatus(ctx),
  snapperPackageDelta: (ctx, p) => snapperPackageDelta(ctx, p),
  snapperFiles: (ctx, p) => snapperFiles(ctx, p),
  snapperFile: (ctx, p) => snapperFile(ctx, p),
  snapperChangelogs: async (ctx, p) => snapshotChangelogs(await readSnapperRoot(ctx.sysroot), p.from, p.to),
  ...snapperMutations,
};

/** Methods that answer on both kinds of system; every other one belongs to one (its name says which). */
const EITHER_BACKEND: ReadonlySet<HelperMethod> = new Set<HelperMethod>(['history']);

function backendOfMethod(method: HelperMethod): BackendKind | null {
  if (EITHER_BACKEND.has(method)) return null;
  return method.startsWith('snapper') ? 'snapper' : 'ostree';
}

/** Validates params with the method's schema; the first issue becomes a one-line `bad-request`. */
export function validateParams<M extends HelperMethod>(method: M, raw: unknown): HelperParams<M> {
  const parsed = helperParams[method].safeParse(raw ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : 'params';
    throw new HindsightError(
      'bad-request',
      `invalid ${method} request: ${printable(where)}: ${issue?.message ?? 'invalid'}`,
    );
  }
  return parsed.data as HelperParams<M>;
}

/** The audit keeps what was asked, not secrets: edited /etc text is recorded by size only. */
function auditParams(method: HelperMethod, params: Record<string, unknown>): Record<string, unknown> {
  if (method !== 'etcApply') return params;
  const resolutions = (params.resolutions as { path: unknown; take: string; text?: string }[]).map((r) => ({
    path: r.path,
    take: r.take,
    ...(r.text !== undefined ? { textBytes: Buffer.byteLength(r.text) } : {}),
  }));
  return { ...params, resolutions };
}

let auditCounter = 0;
/** manage-once helpers that have been asked for their one change. */
const spentOnce = new WeakSet<HelperConfig>();

/**
 * As root, a request is served only on a sysroot no other user can change, and inside a confinement
 * scope: every /etc tree it touches is then walked by link-free descriptors (core/confined-fs.ts).
 */
export async function callMethod(
  config: HelperConfig,
  method: string,
  rawParams: unknown,
  emit: (event: ProgressEvent) => void,
): Promise<unknown> {
  if (process.getuid?.() !== 0) return serveMethod(config, method, rawParams, emit);
  requireRootSafe(config.sysroot);
  return withConfinement(() => serveMethod(config, method, rawParams, emit));
}

async function serveMethod(
  config: HelperConfig,
  method: string,
  rawParams: unknown,
  emit: (event: ProgressEvent) => void,
): Promise<unknown> {
  if (!isHelperMethod(method)) {
    throw new HindsightError('bad-request', `unknown method "${printable(method)}"`);
  }
  const params = validateParams(method, rawParams) as HelperParams<HelperMethod> & {
    sysroot?: string;
    os?: string;
  };
  if (params.sysroot !== undefined && resolve(params.sysroot) !== config.sysroot) {
    throw new HindsightError(
      'refused',
      `this helper serves ${config.sysroot} only (asked for ${printable(params.sysroot)}); start another helper for that sysroot`,
    );
  }
  const mutating = MUTATING_METHODS.has(method);
  if (mutating && config.mode === 'read') {
    throw new HindsightError(
      'not-authorized',
      `${method} changes the system; this helper was started for reading only`,
    );
  }
  if (mutating && config.mode === 'manage-once') {
    // Spent before the change runs, so a second request sent alongside it is refused as well.
    if (spentOnce.has(config)) {
      throw new HindsightError(
        'not-authorized',
        `${method} refused: this helper was authorised for one change and has made it; each change from a browser tab is authorised anew`,
      );
    }
    spentOnce.add(config);
  }
  // A sysroot this user owns (the demo) is changed as that user: root would add nothing but risk.
  if (mutating && process.getuid?.() !== 0 && changesNeedRoot(config.sysroot)) {
    throw new HindsightError('not-authorized', `${method} needs root (run it through pkexec or as root)`);
  }
  const backend = config.backend ?? detectBackend(config.sysroot) ?? 'ostree';
  const wanted = backendOfMethod(method);
  if (wanted !== null && wanted !== backend) {
    throw new HindsightError(
      'unsupported',
      `${method} is for ${BACKEND_WORDS[wanted].system}s; ${config.sysroot} is a ${BACKEND_WORDS[backend].system}`,
    );
  }
  const ctx: OperationContext = {
    sysroot: config.sysroot,
    stateroot: params.os ?? config.stateroot,
    backend,
    emit,
  };
  const handler = handlers[method] as (c: OperationContext, p: unknown) => Promise<unknown>;
  if (!LOCKING_METHODS.has(method)) return handler(ctx, params);

  const stateDir =
    backend === 'snapper'
      ? snapperStateDir(ctx.sysroot)
      : (quickStateDir(ctx.sysroot, ctx.stateroot) ?? stateDirFor(await status(ctx)));
  const lock = await acquireLock(stateDir, method);
  const started = new Date().toISOString();
  let outcome: { result: 'ok' | 'error'; detail: string } = { result: 'error', detail: 'interrupted' };
  try {
    const value = await handler(ctx, params);
    const message = (value as { message?: unknown }).message;
    const backupId = (value as { backupId?: unknown }).backupId;
    outcome = {
      result: 'ok',
      detail:
        typeof message === 'string'
          ? message
          : typeof backupId === 'string'
            ? `${(value as { written: unknown[] }).written.length} file(s) written, backup ${backupId}`
            : 'done',
    };
    return value;
  } catch (error) {
    outcome = { result: 'error', detail: toErrorPayload(error).message };
    throw error;
  } finally {
    if (mutating) {
      auditCounter += 1;
      const record: AuditRecord = {
        id: `${started}-${process.pid}-${auditCounter}`,
        time: started,
        uid: config.uid,
        user: userName(config.uid),
        operation: method,
        params: auditParams(method, params as Record<string, unknown>),
        result: outcome.result,
        detail: outcome.detail,
      };
      try {
        appendAudit(stateDir, record);
      } catch (error) {
        // The change is made; failing it now would misreport it. Say so where an operator looks.
        process.stderr.write(
          `hindsight-helper: cannot write the audit record: ${toErrorPayload(error).message}\n`,
        );
      }
    }
    await lock.release();
  }
}
