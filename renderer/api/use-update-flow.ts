import { managedUpdateReason } from '../lib/managed-origin.ts';
import { type UpdateFlow, updateFlow } from '../lib/update-flow.ts';
import { useStatus, useUpdateCheck } from './queries.ts';

/** The update flow of this system, and the check behind it (run unless another tool owns updates). */
export function useUpdateFlow(): { flow: UpdateFlow; check: ReturnType<typeof useUpdateCheck> } {
  const status = useStatus();
  const deployments = status.data?.deployments ?? [];
  const current = deployments.find((d) => d.booted) ?? deployments.find((d) => d.default);
  const check = useUpdateCheck(status.isSuccess && managedUpdateReason(current) === null);
  return { flow: updateFlow(status.data, check), check };
}
