import type { Deployment, StatusReport, UpgradeCheck } from '../../shared/types.ts';
import { versionName } from './format.ts';
import { managedUpdateReason } from './managed-origin.ts';

/**
 * Where the system stands between "an update exists" and "it runs": one state, so every screen says
 * the same thing in the same words. "Staged" is the one word for an update that starts on the next
 * boot and can still be cancelled, whether ostree stages it (a running system) or deploys it (a
 * folder); "running" is what booted.
 */
export type UpdateFlow =
  | { kind: 'managed'; by: string; reason: string }
  | { kind: 'not-checked' }
  | { kind: 'checking' }
  | { kind: 'check-failed' }
  | { kind: 'up-to-date'; check: UpgradeCheck }
  | { kind: 'available'; check: UpgradeCheck; update: NonNullable<UpgradeCheck['available']> }
  | { kind: 'staged'; update: Deployment; from: Deployment | null }
  | { kind: 'deployed-elsewhere'; check: UpgradeCheck; deployment: Deployment };

/** The deployment `cancel` would drop, as the helper reports it. */
export function stagedUpdateIn(report: StatusReport | undefined): Deployment | null {
  const ref = report?.stagedUpdate;
  if (!ref) return null;
  return (
    report.deployments.find(
      (d) => d.stateroot === ref.stateroot && d.checksum === ref.checksum && d.serial === ref.serial,
    ) ?? null
  );
}

/**
 * What the staged update replaces: the running deployment, else (a folder nothing runs from) the
 * one that would boot if the update were cancelled.
 */
function replacedBy(report: StatusReport, update: Deployment): Deployment | null {
  return (
    report.deployments.find((d) => d.booted) ??
    report.deployments.find((d) => d !== update && !d.staged) ??
    null
  );
}

/**
 * A check answers relative to the deployment that was current when it ran. "Nothing newer than X"
 * still says X is the origin's newest after the current deployment changed (on a folder: an update
 * staged, then cancelled), so X is offered when it is newer than what is current now; it was deployed,
 * so its objects are in the repository. Asking the origin again would hold the sysroot's lock while
 * the person may be clicking something else.
 */
function newestSinceCheck(check: UpgradeCheck, current: Deployment | undefined): UpgradeCheck['available'] {
  const newest = check.current;
  if (!current || newest.checksum === current.checksum) return null;
  const newer = (Date.parse(newest.timestamp ?? '') || 0) > (Date.parse(current.timestamp ?? '') || 0);
  return newer ? { ...newest, delta: null, downloaded: true } : null;
}

export function updateFlow(
  report: StatusReport | undefined,
  check: { data?: UpgradeCheck; isError: boolean; isFetching: boolean },
): UpdateFlow {
  const deployments = report?.deployments ?? [];
  const current = deployments.find((d) => d.booted) ?? deployments.find((d) => d.default);
  const managed = managedUpdateReason(current);
  if (managed && current?.managedBy) return { kind: 'managed', by: current.managedBy, reason: managed };
  // A staged update is a fact of the system, known without asking the origin.
  const staged = stagedUpdateIn(report);
  if (report && staged) return { kind: 'staged', update: staged, from: replacedBy(report, staged) };
  if (check.isFetching && !check.data) return { kind: 'checking' };
  if (check.isError) return { kind: 'check-failed' };
  if (!check.data) return { kind: 'not-checked' };
  const available = check.data.available ?? newestSinceCheck(check.data, current);
  if (!available) return { kind: 'up-to-date', check: check.data };
  const there = deployments.find((d) => d.checksum === available.checksum);
  if (there?.booted) return { kind: 'up-to-date', check: check.data };
  if (there) return { kind: 'deployed-elsewhere', check: check.data, deployment: there };
  return { kind: 'available', check: check.data, update: available };
}

/** The one sentence each state gets, on every screen. */
export function updateSentence(flow: UpdateFlow, booted: boolean): string {
  switch (flow.kind) {
    case 'managed':
      return `Updates come from ${flow.by}`;
    case 'not-checked':
      return 'Updates have not been checked yet';
    case 'checking':
      return 'Checking for updates…';
    case 'check-failed':
      return 'Could not check for updates';
    case 'up-to-date':
      return 'Up to date';
    case 'available':
      return `Version ${versionName(flow.update)} is available`;
    case 'staged':
      return booted
        ? `${versionName(flow.update)} is staged: it starts when you restart`
        : `${versionName(flow.update)} is staged: it starts on the next boot`;
    case 'deployed-elsewhere':
      return `${versionName(flow.deployment)} is downloaded but will not start on the next boot`;
  }
}
