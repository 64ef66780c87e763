import { HindsightError } from '../../shared/errors.ts';
import type { Deployment, OperationResult, StatusReport } from '../../shared/types.ts';
import { requireProgram, runChecked } from '../core/exec.ts';
import { ostree } from '../core/ostree/ostree-cli.ts';
import { resolveDeployment } from '../core/ostree/selectors.ts';
import { findSame, label, type OperationContext, shownSelector, status } from './context.ts';
import { armStagedFinalization } from './finalize.ts';
import {
  changeDeploymentThroughLibostree,
  changeRefused,
  type DeploymentChanged,
  deploymentGone,
  libostreeAvailable,
} from './libostree.ts';
import { stagedUpdateOf } from './state.ts';

/**
 * pin, unpin, undeploy, cancel and reboot. The selector is resolved once, first, to the deployment's
 * identity (stateroot, checksum, serial); the change is then made to that identity under ostree's own
 * sysroot lock (libostree.ts), so a list that another tool changed meanwhile makes it act on the same
 * deployment or refuse, never on whichever now has the index. Verified by ostree's view afterwards.
 */

/**
 * Makes the change through libostree, by identity under ostree's lock. Without gjs or the OSTree
 * typelib, ostree's own verb does it by index: the index is looked up again just before, with the same
 * refusals, which narrows the window but cannot close it: a deploy or undeploy by another tool between
 * that read and the command taking its lock moves the index, and the wrong deployment is pinned or
 * removed (the checks afterwards say so, but cannot undo it).
 */
async function changeDeployment(
  ctx: OperationContext,
  before: StatusReport,
  operation: 'pin' | 'unpin' | 'undeploy',
  target: Deployment,
  position: 'first' | 'not-first' | 'any' = 'any',
): Promise<DeploymentChanged> {
  if (await libostreeAvailable()) {
    return changeDeploymentThroughLibostree(operation, {
      sysroot: before.sysroot,
      stateroot: target.stateroot,
      checksum: target.checksum,
      serial: target.serial,
      booted: before.bootedSystem,
      position,
      label: label(target),
    });
  }
  const report = await status(ctx);
  const now = findSame(report, target);
  const named = { ...target, label: label(target) };
  if (!now) throw deploymentGone(named);
  if (operation === 'undeploy') {
    if (now.pinned) throw changeRefused(operation, 'pinned', now.index, named);
    if (position !== 'any' && (position === 'first') !== now.default) {
      throw changeRefused(operation, 'moved', now.index, named);
    }
  }
  const args =
    operation === 'undeploy'
      ? ['admin', 'undeploy', `--sysroot=${report.sysroot}`]
      : ['admin', 'pin', `--sysroot=${report.sysroot}`, ...(operation === 'unpin' ? ['--unpin'] : [])];
  await ostree([...args, String(now.index)]);
  return { outcome: 'done', index: now.index, cleanupError: null };
}

export async function setPinned(
  ctx: OperationContext,
  selector: string,
  pinned: boolean,
): Promise<OperationResult> {
  const operation = pinned ? 'pin' : 'unpin';
  const before = await status(ctx);
  const target = resolveDeployment(before, selector);
  const already = (report: StatusReport): OperationResult => ({
    operation,
    message: `${label(target)} is already ${pinned ? 'pinned' : 'not pinned'}.`,
    status: report,
  });
  if (target.pinned === pinned) return already(before);
  if (pinned && target.staged) {
    throw new HindsightError('refused', `${label(target)} is staged; ostree cannot pin a staged deployment`);
  }
  ctx.emit({ operation, phase: pinned ? 'pinning' : 'unpinning', fraction: null, message: label(target) });
  const changed = await changeDeployment(ctx, before, operation, target);
  const after = await status(ctx);
  if (changed.outcome === 'unchanged') return already(after);
  const now = findSame(after, target);
  if (!now || now.pinned !== pinned) {
    throw new HindsightError(
      'ostree-failed',
      `ostree admin status does not show ${label(target)} ${operation}ned`,
    );
  }
  return {
    operation,
    message: pinned
      ? `${label(now)} is pinned: later deploys will not remove it.`
      : `${label(now)} is no longer pinned.`,
    status: after,
  };
}

async function removeDeployment(
  ctx: OperationContext,
  before: StatusReport,
  target: Deployment,
  operation: 'undeploy' | 'cancel',
  position: 'first' | 'not-first' | 'any',
): Promise<{ after: StatusReport; cleanupError: string | null }> {
  ctx.emit({ operation, phase: 'removing', fraction: null, message: label(target) });
  const changed = await changeDeployment(ctx, before, 'undeploy', target, position);
  const after = await status(ctx);
  if (findSame(after, target)) {
    throw new HindsightError(
      'ostree-failed',
      `ostree admin status still shows ${label(target)} after ${operation}`,
    );
  }
  // libostree wrote the list without exactly this one; ostree's verb went by index, so check it.
  if (!(await libostreeAvailable())) {
    const lost = before.deployments.filter((d) => !findSame(after, d) && d !== target);
    if (lost.length) {
      throw new HindsightError(
        'internal',
        `${operation} also removed ${lost.map((d) => label(d)).join(', ')}`,
      );
    }
  }
  return { after, cleanupError: changed.cleanupError };
}

const cleanupNote = (error: string | null): string =>
  error ? ` ostree's cleanup afterwards failed (${error}); run ostree admin cleanup.` : '';

export async function undeploy(ctx: OperationContext, selector: string): Promise<OperationResult> {
  const before = await status(ctx);
  const target = resolveDeployment(before, selector);
  if (target.booted) {
    throw new HindsightError(
      'refused',
      `deployment ${target.index} ${label(target)} is the one running now; boot another deployment before removing it`,
    );
  }
  if (target.pinned) {
    throw new HindsightError(
      'refused',
      `deployment ${target.index} ${label(target)} is pinned; unpin it first (hindsight unpin ${shownSelector(target)})`,
    );
  }
  if (before.deployments.length === 1) {
    throw new HindsightError(
      'refused',
      `deployment ${target.index} is the only deployment; without it nothing would boot`,
    );
  }
  // Removing one that does not boot next must not come to change what boots next.
  const { after, cleanupError } = await removeDeployment(
    ctx,
    before,
    target,
    'undeploy',
    target.default ? 'any' : 'not-first',
  );
  const next = after.deployments[0];
  return {
    operation: 'undeploy',
    message: `Removed deployment ${label(target)}.${next ? ` ${label(next)} boots next.` : ''}${cleanupNote(cleanupError)}`,
    status: after,
  };
}

/** Drops the staged update (see stagedUpdateOf): what `cancel` may drop is exactly what status offers. */
export async function cancel(ctx: OperationContext): Promise<OperationResult> {
  const before = await status(ctx);
  const target = stagedUpdateOf(before);
  if (!target) {
    throw new HindsightError(
      'refused',
      'nothing to cancel: no deployment is staged, and the next boot is not a new deployment made by Hindsight (use rollback to choose another, or undeploy to remove one)',
    );
  }
  const { after, cleanupError } = await removeDeployment(ctx, before, target, 'cancel', 'first');
  const next = after.deployments[0];
  return {
    operation: 'cancel',
    message: `Cancelled the staged update ${label(target)}.${next ? ` ${label(next)} boots next.` : ''}${cleanupNote(cleanupError)}`,
    status: after,
  };
}

export async function reboot(ctx: OperationContext): Promise<{ message: string }> {
  const report = await status(ctx);
  if (!report.bootedSystem) {
    throw new HindsightError(
      'refused',
      `${report.sysroot} is not the running system's sysroot; there is nothing to reboot (its next boot is ${report.deployments[0] ? label(report.deployments[0]) : 'empty'})`,
    );
  }
  const next = report.deployments[0];
  // A staged deployment that systemd will not finalize is dropped at shutdown: arm it or refuse.
  await armStagedFinalization(report);
  await runChecked(requireProgram('systemctl'), ['reboot'], { errorCode: 'io-error' });
  return { message: `Rebooting into ${next ? label(next) : 'the default deployment'}.` };
}
