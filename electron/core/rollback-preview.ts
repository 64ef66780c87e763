import { HindsightError } from '../../shared/errors.ts';
import type { Deployment, EtcLostEdit, RollbackPreview, StatusReport } from '../../shared/types.ts';
import { etcRoots, nodeChanges, scanDrift } from './etc/etc-drift.ts';
import { absolute, encodeEtcPath, lstatNode, requireEtcRoot } from './etc/etc-tree.ts';
import { deploymentRef, resolveDeployment } from './ostree/selectors.ts';
import { type DeltaOptions, packageDeltaBetween } from './packages/package-delta.ts';

/** The deployment running now, or the one that boots next on a sysroot that is not booted. */
export function currentDeployment(report: StatusReport): Deployment {
  const current = report.deployments.find((d) => d.booted) ?? report.deployments.find((d) => d.default);
  if (!current) throw new HindsightError('no-such-deployment', 'there are no deployments');
  return current;
}

/**
 * A rollback does not merge /etc: the older deployment keeps the /etc it had. These are the edits
 * present in the current /etc that the target's /etc does not have, so they vanish on rollback.
 */
export function lostEtcEdits(report: StatusReport, current: Deployment, target: Deployment): EtcLostEdit[] {
  const now = etcRoots(report.sysroot, current);
  const then = etcRoots(report.sysroot, target);
  // Without its /etc folder the target would seem to lack every file: an error, not a list of losses.
  requireEtcRoot(then.local);
  const lost: EtcLostEdit[] = [];
  for (const raw of scanDrift(now.base, now.local)) {
    const currentPath = absolute(now.local, raw.rel);
    const targetPath = absolute(then.local, raw.rel);
    const mine = raw.local;
    const theirs = lstatNode(targetPath);
    if (!mine && !theirs) continue;
    if (mine && !theirs) {
      lost.push({ ...encodeEtcPath(raw.rel), change: 'only-current' });
      continue;
    }
    if (!mine && theirs) {
      // Removed now, still there after rolling back: the removal is lost.
      lost.push({ ...encodeEtcPath(raw.rel), change: 'only-target' });
      continue;
    }
    if (mine && theirs) {
      const changes = nodeChanges(targetPath, theirs, currentPath, mine);
      // A directory whose children differ is reported through them; its own metadata is enough here.
      const first = changes[0];
      if (first) lost.push({ ...encodeEtcPath(raw.rel), change: first });
    }
  }
  return lost;
}

export async function rollbackPreview(
  report: StatusReport,
  targetSelector = 'rollback',
  options: DeltaOptions = {},
): Promise<RollbackPreview> {
  const current = currentDeployment(report);
  const target = resolveDeployment(report, targetSelector);
  if (target.index === current.index) {
    throw new HindsightError(
      'refused',
      `deployment ${target.index} is already the one ${current.booted ? 'running' : 'booting next'}`,
    );
  }
  const packages = await packageDeltaBetween(
    report,
    { kind: 'deployment', deployment: current, ref: deploymentRef(current) },
    { kind: 'deployment', deployment: target, ref: deploymentRef(target) },
    options,
  );
  return { current, target, packages, etcLost: lostEtcEdits(report, current, target) };
}
