import {
  onlineManager,
  QueryClient,
  type QueryKey,
  useMutation,
  useQuery,
  useQueryClient,
} from '@tanstack/react-query';
import { useEffect } from 'react';
import type { HindsightError } from '../../shared/errors.ts';
import type { IpcChannel, IpcRequest, IpcResponse } from '../../shared/ipc-contract.ts';
import { useUi, watchSystemForToasts } from '../state/ui-store.ts';
import { getApi, isUnreachable } from './client.ts';
import { useConnection } from './connection.ts';

export const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // Deployments change only through operations, which announce themselves with 'sysroot:changed'.
      staleTime: 60_000,
      refetchOnWindowFocus: false,
      retry: (count, error) => {
        // Out of reach: asked again, which waits (paused, data kept) until the connection is back, so a
        // screen never trades what it shows for "not reachable".
        if (isUnreachable(error)) return true;
        const code = (error as Partial<HindsightError>).code;
        // A helper that is busy with another request answers again a moment later.
        if (code === 'busy') return count < 8;
        return code === 'io-error' && count < 1;
      },
      retryDelay: (count) => Math.min(250 * 2 ** count, 3000),
    },
    mutations: {
      // A change asked for while Hindsight is out of reach fails at once; queued, it would run later
      // against a system that may have changed under it (rebooted into another deployment).
      networkMode: 'always',
    },
  },
});

/**
 * While Hindsight cannot be reached, queries wait (react-query's offline mode) instead of failing one
 * by one. When it answers again every query refetches, the update check too, so the screens show what
 * is true now: after a reboot, the new booted deployment.
 */
useConnection.subscribe((now, before) => {
  if (now.connection === before.connection) return;
  onlineManager.setOnline(now.connection === 'connected');
  if (now.connection === 'connected') void queryClient.invalidateQueries();
});

/** What topic toasts compare: the deployments and the states a one-click action changes. */
function systemSignature(status: IpcResponse<'sysroot:status'> | undefined): string | null {
  if (!status) return null;
  return status.deployments
    .map((d) => `${d.checksum}.${d.serial}:${+d.default}${+d.pinned}${+d.staged}`)
    .join(' ');
}

watchSystemForToasts(() => ({
  signature: systemSignature(queryClient.getQueryData(keys.status)),
  settling: queryClient.isFetching({ queryKey: keys.status }) > 0,
}));

queryClient.getQueryCache().subscribe((event) => {
  if (event.type !== 'updated' || event.action.type !== 'success' || event.query.queryKey[0] !== 'status') {
    return;
  }
  const signature = systemSignature(event.query.state.data as IpcResponse<'sysroot:status'> | undefined);
  if (signature !== null) useUi.getState().systemChanged(signature);
});

export function call<C extends IpcChannel>(channel: C, request: IpcRequest<C>): Promise<IpcResponse<C>> {
  return getApi().invoke(channel, request);
}

export const keys = {
  info: ['app-info'] as const,
  status: ['status'] as const,
  notes: ['notes'] as const,
  delta: (from: string, to: string) => ['delta', from, to] as const,
  drift: (deployment: string) => ['drift', deployment] as const,
  etcFile: (deployment: string, path: string, target?: string) =>
    ['etc-file', deployment, path, target ?? ''] as const,
  merge: (source: string, target: string) => ['merge', source, target] as const,
  rollback: (target: string) => ['rollback-preview', target] as const,
  updates: ['updates-check'] as const,
  history: ['history'] as const,
  backups: ['etc-backups'] as const,
  filesDiff: (from: string, to: string) => ['files-diff', from, to] as const,
  fileView: (from: string, to: string, path: string) => ['file-view', from, to, path] as const,
  changelogs: (from: string, to: string) => ['changelogs', from, to] as const,
  disk: ['disk-usage'] as const,
};

function useChannel<C extends IpcChannel>(
  key: QueryKey,
  channel: C,
  request: IpcRequest<C>,
  options: { enabled?: boolean; staleTime?: number } = {},
) {
  return useQuery<IpcResponse<C>, HindsightError>({
    queryKey: key,
    queryFn: () => call(channel, request),
    ...options,
  });
}

export const useAppInfo = () => useChannel(keys.info, 'app:info', {});
export const useStatus = () => useChannel(keys.status, 'sysroot:status', {});
export const useNotes = () => useChannel(keys.notes, 'notes:list', {});
export const useDelta = (from?: string, to?: string) =>
  useChannel(
    keys.delta(from ?? '', to ?? ''),
    'packages:delta',
    { from: from ?? '', to: to ?? '' },
    { enabled: !!from && !!to },
  );
export const useDrift = (deployment?: string) =>
  useChannel(
    keys.drift(deployment ?? ''),
    'etc:drift',
    { deployment: deployment ?? '' },
    { enabled: !!deployment },
  );
export const useEtcFile = (deployment?: string, path?: string, target?: string) =>
  useChannel(
    keys.etcFile(deployment ?? '', path ?? '', target),
    'etc:file',
    { deployment: deployment ?? '', path: { path: path ?? '' }, ...(target ? { target } : {}) },
    { enabled: !!deployment && !!path },
  );
export const useMerge = (source?: string, target?: string) =>
  useChannel(
    keys.merge(source ?? '', target ?? ''),
    'etc:merge',
    { source: source ?? '', target: target ?? '' },
    {
      enabled: !!source && !!target,
    },
  );
export const useRollbackPreview = (target?: string) =>
  useChannel(keys.rollback(target ?? ''), 'rollback:preview', target ? { target } : {});
export const useFilesDiff = (from?: string, to?: string) =>
  useChannel(
    keys.filesDiff(from ?? '', to ?? ''),
    'files:diff',
    { from: from ?? '', to: to ?? '' },
    { enabled: !!from && !!to },
  );
export const useFileView = (
  from: string | undefined,
  to: string | undefined,
  path: { path: string; pathBase64?: string } | undefined,
) =>
  useChannel(
    keys.fileView(from ?? '', to ?? '', path?.pathBase64 ?? path?.path ?? ''),
    'files:view',
    { from: from ?? '', to: to ?? '', path: path ?? { path: '' } },
    { enabled: !!from && !!to && !!path },
  );
/** One query per pair: every delta view of the same two snapshots shares it. */
export const useChangelogs = (from?: string, to?: string) =>
  useChannel(
    keys.changelogs(from ?? '', to ?? ''),
    'packages:changelogs',
    { from: from ?? '', to: to ?? '' },
    { enabled: !!from && !!to },
  );
export const useDiskUsage = (enabled = true) => useChannel(keys.disk, 'disk:usage', {}, { enabled });
export const useHistory = () => useChannel(keys.history, 'history:list', { limit: 1000 });
export const useEtcBackups = () => useChannel(keys.backups, 'backups:list', {});

/** The update check runs once per session on its own; a failure stays a failure, never "up to date". */
export const useUpdateCheck = (enabled = true) =>
  useQuery<IpcResponse<'updates:check'>, HindsightError>({
    queryKey: keys.updates,
    queryFn: () => call('updates:check', {}),
    enabled,
    staleTime: Number.POSITIVE_INFINITY,
    // Only a busy helper is asked again, or one out of reach (once back); a real failure is shown as
    // one, at once.
    retry: (count, error) =>
      isUnreachable(error) || ((error as Partial<HindsightError>).code === 'busy' && count < 8),
  });

/** A mutation on one channel; every query refetches afterwards, whatever the outcome. */
export function useOperation<C extends IpcChannel>(channel: C) {
  const client = useQueryClient();
  return useMutation<IpcResponse<C>, HindsightError, IpcRequest<C>>({
    mutationFn: (request) => call(channel, request),
    onSettled: () => invalidateSystem(client),
  });
}

function invalidateSystem(client: QueryClient): Promise<void> {
  // The update check is a network round trip; it is refreshed on purpose, not on every change.
  return client.invalidateQueries({ predicate: (q) => q.queryKey[0] !== 'updates-check' });
}

/** Main's events: refetch when the system changed, and show progress of long operations. */
export function useSystemEvents(): void {
  const client = useQueryClient();
  useEffect(() => {
    const api = getApi();
    const offChanged = api.on('sysroot:changed', () => {
      void invalidateSystem(client);
    });
    const offProgress = api.on('operation:progress', (event) => useUi.getState().setProgress(event));
    return () => {
      offChanged();
      offProgress();
    };
  }, [client]);
}
