import { useQuery } from '@tanstack/react-query';
import { useEffect } from 'react';
import type { HindsightError } from '../../shared/errors.ts';
import type { IpcChannel, IpcRequest, IpcResponse } from '../../shared/ipc-contract.ts';
import type { SnapperStatus } from '../../shared/snapper.ts';
import { snapperSignature } from '../lib/snapper-changes.ts';
import { useUi, watchSystemForToasts } from '../state/ui-store.ts';
import { call, queryClient } from './queries.ts';

/**
 * The snapper screens' reads, on the same client as OSTree's (queries.ts): useOperation there
 * refetches these too, and 'sysroot:changed' invalidates every query.
 */

export const snapperKeys = {
  status: ['snapper-status'] as const,
  delta: (from: string, to: string) => ['snapper-delta', from, to] as const,
  files: (from: string, to: string) => ['snapper-files', from, to] as const,
  file: (from: string, to: string, path: string) => ['snapper-file', from, to, path] as const,
  etc: (snapshot: string) => ['snapper-etc', snapshot] as const,
  changelogs: (from: string, to: string) => ['snapper-changelogs', from, to] as const,
};

function useChannel<C extends IpcChannel>(
  key: readonly unknown[],
  channel: C,
  request: IpcRequest<C>,
  enabled = true,
) {
  return useQuery<IpcResponse<C>, HindsightError>({
    queryKey: key,
    queryFn: () => call(channel, request),
    enabled,
  });
}

export const useSnapperStatus = () => useChannel(snapperKeys.status, 'snapshots:status', {});

export const useSnapperDelta = (from?: string, to?: string) =>
  useChannel(
    snapperKeys.delta(from ?? '', to ?? ''),
    'snapshots:packages',
    { from: from ?? '', to: to ?? '' },
    !!from && !!to,
  );

export const useSnapperFiles = (from?: string, to?: string) =>
  useChannel(
    snapperKeys.files(from ?? '', to ?? ''),
    'snapshots:files',
    { from: from ?? '', to: to ?? '' },
    !!from && !!to,
  );

export const useSnapperFile = (
  from: string | undefined,
  to: string | undefined,
  path: { path: string; pathBase64?: string } | undefined,
) =>
  useChannel(
    snapperKeys.file(from ?? '', to ?? '', path?.pathBase64 ?? path?.path ?? ''),
    'snapshots:file',
    { from: from ?? '', to: to ?? '', path: path ?? { path: '' } },
    !!from && !!to && !!path,
  );

export const useSnapperEtc = (snapshot?: string) =>
  useChannel(snapperKeys.etc(snapshot ?? ''), 'snapshots:etc', { snapshot: snapshot ?? '' }, !!snapshot);

/**
 * Topic toasts (an Undo offered for one state) go away once the system changes under them. On a
 * snapper root the state they describe is snapper's list, not the OSTree status queries.ts watches;
 * the backend never changes within a session, so the snapper shell takes the watch over for good.
 */
export function useSnapperToastWatch(): void {
  useEffect(() => {
    watchSystemForToasts(() => ({
      signature: snapperSignature(queryClient.getQueryData<SnapperStatus>(snapperKeys.status)),
      settling: queryClient.isFetching({ queryKey: snapperKeys.status }) > 0,
    }));
    return queryClient.getQueryCache().subscribe((event) => {
      if (
        event.type !== 'updated' ||
        event.action.type !== 'success' ||
        event.query.queryKey[0] !== snapperKeys.status[0]
      )
        return;
      const signature = snapperSignature(event.query.state.data as SnapperStatus | undefined);
      if (signature !== null) useUi.getState().systemChanged(signature);
    });
  }, []);
}

export const useSnapperChangelogs = (from?: string, to?: string) =>
  useChannel(
    snapperKeys.changelogs(from ?? '', to ?? ''),
    'snapshots:changelogs',
    { from: from ?? '', to: to ?? '' },
    !!from && !!to,
  );
