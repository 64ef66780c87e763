import { HindsightError, toErrorPayload } from '../../shared/errors.ts';
import type { HelperHello, HelperMethod, HelperParams, HelperResult } from '../../shared/helper-contract.ts';
import {
  type AppInfo,
  type IpcChannel,
  type IpcEnvelope,
  type IpcEventName,
  type IpcEvents,
  type IpcRequest,
  type IpcResponse,
  ipcRequests,
  isIpcChannel,
} from '../../shared/ipc-contract.ts';
import type { ProgressEvent } from '../../shared/types.ts';
import { type AppCache, mergeHistory } from '../core/app-cache.ts';
import { rememberedPackageDelta } from '../core/packages/package-delta.ts';

/** What the handlers need from a running helper process. */
export interface HelperPort {
  readonly hello: HelperHello;
  call<M extends HelperMethod>(
    method: M,
    params: HelperParams<M>,
    onProgress?: (event: ProgressEvent) => void,
  ): Promise<HelperResult<M>>;
}

export interface HandlerContext {
  mode: AppInfo['mode'];
  sysroot: string;
  stateroot?: string;
  demo: boolean;
  cache: AppCache;
  /** The reading helper (unprivileged unless unlocked). */
  reader(): Promise<HelperPort>;
  /**
   * Runs `use` with a managing helper (root: through pkexec on a desktop, directly when already
   * root), one mutation at a time. Whether that helper is kept for the next mutation or started (and
   * so authorised) afresh for this one alone is the app context's decision (keepsManagingHelper).
   */
  manage<T>(use: (helper: HelperPort) => Promise<T>): Promise<T>;
  /** Restarts the reading helper as root. */
  unlock(): Promise<void>;
  emit<E extends IpcEventName>(event: E, payload: IpcEvents[E]): void;
}

type Handlers = { [C in IpcChannel]: (request: IpcRequest<C>) => Promise<IpcResponse<C>> };

/** The main-side handlers of every channel, shared by Electron's IPC and browser mode. */
export function createHandlers(ctx: HandlerContext): Handlers {
  const target = { sysroot: ctx.sysroot, ...(ctx.stateroot ? { os: ctx.stateroot } : {}) };
  const read = async <M extends HelperMethod>(
    method: M,
    params: Omit<HelperParams<M>, 'sysroot' | 'os'>,
  ): Promise<HelperResult<M>> =>
    (await ctx.reader()).call(method, { ...target, ...params } as HelperParams<M>);

  /**
   * Runs a mutation in the managing helper and tells every window to refetch. The helper writes the
   * audit record; the app records only what never reached it (authentication dismissed, no pkexec).
   */
  const mutate = async <M extends HelperMethod>(
    method: M,
    params: Omit<HelperParams<M>, 'sysroot' | 'os'>,
  ): Promise<HelperResult<M>> => {
    let reached = false;
    try {
      return await ctx.manage(async (helper) => {
        reached = true;
        try {
          return await helper.call(method, { ...target, ...params } as HelperParams<M>, (event) =>
            ctx.emit('operation:progress', event),
          );
        } finally {
          ctx.emit('sysroot:changed', { reason: method });
        }
      });
    } catch (error) {
      if (reached) throw error;
      const time = new Date().toISOString();
      ctx.cache.recordAction({
        id: `app-${time}-${method}-${Math.random().toString(36).slice(2, 8)}`,
        time,
        uid: process.getuid?.() ?? null,
        user: process.env.USER ?? null,
        operation: method,
        params: params as Record<string, unknown>,
        result: 'error',
        detail: toErrorPayload(error).message,
      });
      throw error;
    }
  };

  const info = async (): Promise<AppInfo> => {
    const helper = await ctx.reader();
    return {
      mode: ctx.mode,
      sysroot: ctx.sysroot,
      backend: helper.hello.backend,
      demo: ctx.demo,
      bootedSystem: ctx.sysroot === '/' && helper.hello.sysroot === '/',
      privileged: helper.hello.privileged,
      helper: helper.hello,
    };
  };

  return {
    'app:info': info,
    'sysroot:status': () => read('status', {}),
    'packages:delta': async (request) =>
      rememberedPackageDelta(await read('status', {}), request.from, request.to, ctx.cache, () =>
        read('packageDelta', request),
      ),
    'files:diff': (request) => read('filesDiff', request),
    'files:view': (request) => read('fileView', request),
    'packages:changelogs': (request) => read('packageChangelogs', request),
    'disk:usage': () => read('diskUsage', {}),
    'etc:drift': (request) => read('etcDrift', request),
    'etc:file': (request) => read('etcFile', request),
    'etc:merge': (request) => read('etcMerge', request),
    'rollback:preview': (request) => read('rollbackPreview', request),
    'updates:check': () => read('upgradeCheck', {}),
    'updates:stage': () => mutate('upgrade', {}),
    'deployments:rollback': (request) => mutate('rollback', request),
    'deployments:deploy': (request) => mutate('deploy', request),
    'deployments:pin': (request) => mutate('pin', request),
    'deployments:unpin': (request) => mutate('unpin', request),
    'deployments:undeploy': (request) => mutate('undeploy', request),
    'deployments:cancel': () => mutate('cancel', {}),
    'etc:apply': (request) => mutate('etcApply', request),
    'etc:restore': (request) => mutate('etcRestore', request),
    'etc:undo': (request) => mutate('etcUndo', request),
    'system:reboot': () => mutate('reboot', {}),
    'backups:list': () => read('etcBackups', {}),
    'backups:remove': (request) => mutate('etcRemoveBackup', request),
    'notes:list': async () => ctx.cache.listNotes(),
    'notes:set': async (request) => ctx.cache.setNote(request),
    'history:list': async (request) => {
      const limit = request.limit ?? 200;
      const helperRecords = await read('history', { limit });
      return mergeHistory(helperRecords, ctx.cache.history(limit), limit);
    },
    'helper:unlock': async () => {
      await ctx.unlock();
      ctx.emit('sysroot:changed', { reason: 'unlock' });
      return info();
    },
    'snapshots:status': () => read('snapperStatus', {}),
    'snapshots:packages': (request) => read('snapperPackageDelta', request),
    'snapshots:files': (request) => read('snapperFiles', request),
    'snapshots:file': (request) => read('snapperFile', request),
    'snapshots:changelogs': (request) => read('snapperChangelogs', request),
    'snapshots:etc': (request) => read('snapperEtc', request),
    'snapshots:rollback': (request) => mutate('snapperRollback', request),
    'snapshots:undo-rollback': () => mutate('snapperUndoRollback', {}),
    'snapshots:modify': (request) => mutate('snapperModify', request),
    'snapshots:delete': (request) => mutate('snapperDelete', request),
    'snapshots:restore': (request) => mutate('snapperRestore', request),
    'snapshots:apply-merge': (request) => mutate('snapperApplyMerge', request),
    'snapshots:undo-file': (request) => mutate('snapperUndoFile', request),
  };
}

/** Validates a request from an untrusted side and answers an envelope; nothing thrown crosses. */
export async function dispatch(
  handlers: Handlers,
  channel: unknown,
  request: unknown,
): Promise<IpcEnvelope<unknown>> {
  try {
    if (typeof channel !== 'string' || !isIpcChannel(channel)) {
      throw new HindsightError(
        'bad-request',
        `unknown channel ${JSON.stringify(String(channel)).slice(0, 80)}`,
      );
    }
    const parsed = ipcRequests[channel].safeParse(request ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new HindsightError(
        'bad-request',
        `invalid ${channel} request: ${issue?.path.join('.') || 'value'} ${issue?.message ?? ''}`.trim(),
      );
    }
    const handler = handlers[channel] as (r: unknown) => Promise<unknown>;
    return { result: await handler(parsed.data) };
  } catch (error) {
    return { error: toErrorPayload(error) };
  }
}
