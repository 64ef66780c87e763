import { useEffect } from 'react';
import { managedUpdateReason } from '../lib/managed-origin.ts';
import { type UpdateFlow, updateFlow } from '../lib/update-flow.ts';
import { useStatus, useUpdateCheck } from './queries.ts';

/**
 * The update flow of this system, and the check behind it. A check answers for the deployment that
 * was current when it ran; once another one is (a folder's next boot changed: staged, cancelled,
 * rolled back), its answer no longer holds, so it runs again rather than say "up to date" wrongly.
 */
export function useUpdateFlow(): { flow: UpdateFlow; check: ReturnType<typeof useUpdateCheck> } {
  const status = useStatus();
  const deployments = status.data?.deployments ?? [];
  const current = deployments.find((d) => d.booted) ?? deployments.find((d) => d.default);
  const managed = managedUpdateReason(current) !== null;
  const check = useUpdateCheck(status.isSuccess && !managed);
  const outdated = !!check.data && !!current && check.data.current.checksum !== current.checksum;
  const { isFetching, refetch } = check;
  useEffect(() => {
    if (outdated && !isFetching) void refetch();
  }, [outdated, isFetching, refetch]);
  const flow = updateFlow(status.data, {
    data: outdated ? undefined : check.data,
    isError: check.isError,
    isFetching: check.isFetching || outdated,
  });
  return { flow, check };
}
