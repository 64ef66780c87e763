import { HindsightError } from '../../shared/errors.ts';
import type { Deployment, OperationResult, StatusReport } from '../../shared/types.ts';
import { requireProgram, runChecked } from '../core/exec.ts';
import { ostree } from '../core/ostree/ostree-cli.ts';
import { resolveDeployment } from '../core/ostree/selectors.ts';
import { findSame, label, type OperationContext, status } from './context.ts';
import { armStagedFinalization } from './finalize.ts';
import { readCreated, stateDirFor } from './state.ts';

/** pin, unpin, undeploy, cancel and reboot: each one ostree verb, checked before and verified after. */

export async function setPinned(
  ctx: OperationContext,
  selector: string,
  pinned: boolean,
): Promise<OperationResult> {
  const operation = pinned ? 'pin' : 'unpin';
  const before = await status(ctx);
  const target = resolveDeployment(before, selector);
  if (target.pinned === pinned) {
    return {
      operation,
      message: `${label(target)} is already ${pinned ? 'pinned' : 'not pinned'}.`,
      status: before,
    };
  }
  if (pinned && target.staged) {
    throw new HindsightError('refused', `${label(target)} is staged; ostree cannot pin a staged deployment`);
  }
  const args = ['admin', 'pin', `--sysroot=${before.sysroot}`];
  if (!pinned) args.push('--unpin');
  args.push(String(target.index));
  await ostree(args);
  const after = await status(ctx);
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
  operation: string,
): Promise<StatusReport> {
  await ostree(['admin', 'undeploy', `--sysroot=${before.sysroot}`, String(target.index)]);
  const after = await status(ctx);
  if (findSame(after, target)) {
    throw new HindsightError(
      'ostree-failed',
      `ostree admin status still shows ${label(target)} after ${operation}`,
    );
  }
  const lost = before.deployments.filter((d) => !findSame(after, d) && d !== target);
  if (lost.length) {
    throw new HindsightError('internal', `${operation} also removed ${lost.map((d) => label(d)).join(', ')}`);
  }
  return after;
}

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
      `deployment ${target.index} ${label(target)} is pinned; unpin it first (hindsight unpin ${target.index})`,
    );
  }
  if (before.deployments.length === 1) {
    throw new HindsightError(
      'refused',
      `deployment ${target.index} is the only deployment; without it nothing would boot`,
    );
  }
  const after = await removeDeployment(ctx, before, target, 'undeploy');
  const next = after.deployments[0];
  return {
    operation: 'undeploy',
    message: `Removed deployment ${label(target)}.${next ? ` ${label(next)} boots next.` : ''}`,
    status: after,
  };
}

/**
 * Drops what would boot next when it is new: the staged deployment, else the default when Hindsight
 * deployed it and it has never run (not booted). Anything else is an ordinary deployment that a user
 * may rely on; removing those is `undeploy`, named explicitly.
 */
export async function cancel(ctx: OperationContext): Promise<OperationResult> {
  const before = await status(ctx);
  let target = before.deployments.find((d) => d.staged) ?? null;
  if (!target) {
    const first = before.deployments[0];
    const created = readCreated(stateDirFor(before));
    const madeByUs =
      first &&
      created.some(
        (c) => c.stateroot === first.stateroot && c.checksum === first.checksum && c.serial === first.serial,
      );
    if (first && madeByUs && !first.booted && !first.pinned && before.deployments.length > 1) target = first;
  }
  if (!target) {
    throw new HindsightError(
      'refused',
      'nothing to cancel: no deployment is staged, and the next boot is not a new deployment made by Hindsight (use rollback to choose another, or undeploy to remove one)',
    );
  }
  const after = await removeDeployment(ctx, before, target, 'cancel');
  const next = after.deployments[0];
  return {
    operation: 'cancel',
    message: `Dropped ${target.staged ? 'staged' : 'pending'} deployment ${label(target)}.${next ? ` ${label(next)} boots next.` : ''}`,
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
