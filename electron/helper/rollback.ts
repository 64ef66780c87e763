import { HindsightError } from '../../shared/errors.ts';
import type { Deployment, OperationResult, StatusReport } from '../../shared/types.ts';
import { ostree, ostreeFeatures } from '../core/ostree/ostree-cli.ts';
import { resolveDeployment } from '../core/ostree/selectors.ts';
import { findSame, label, type OperationContext, shownSelector, status } from './context.ts';
import { changeDeploymentThroughLibostree, libostreeAvailable } from './libostree.ts';

/**
 * `rollback [--to SELECTOR]`: the chosen deployment boots next. A reorder only: nothing is deleted or
 * redeployed and every /etc stays as it is. Without a selector it goes back to what was there before:
 * on a running system, to the booted deployment when something else is pending, else to the rollback
 * one; on a sysroot that is not booted, to index 1. Either way running it twice restores the first
 * default, because the previous default becomes index 1 (or the booted one again).
 */

export function defaultRollbackTarget(report: StatusReport): Deployment {
  const booted = report.deployments.find((d) => d.booted);
  if (booted && booted.index !== report.deployments[0]?.index) return booted;
  const target = report.deployments.find((d) => d.rollback);
  if (!target) {
    throw new HindsightError(
      'no-such-deployment',
      'there is no rollback deployment (only one deployment of this stateroot)',
    );
  }
  return target;
}

export async function canReorder(): Promise<boolean> {
  return ostreeFeatures().setDefault || (await libostreeAvailable());
}

/**
 * Makes a deployment the default through libostree, found by its identity under ostree's sysroot
 * lock. Where gjs or the OSTree typelib is missing, ostree's own verb does it by index: then another
 * tool that deploys or undeploys between our read and that command's lock moves the index, and the
 * wrong deployment becomes the default (rollback's check afterwards reports it, but cannot undo it).
 */
export async function makeDefault(report: StatusReport, target: Deployment): Promise<void> {
  if (await libostreeAvailable()) {
    await changeDeploymentThroughLibostree('set-default', {
      sysroot: report.sysroot,
      stateroot: target.stateroot,
      checksum: target.checksum,
      serial: target.serial,
      booted: report.bootedSystem,
      label: label(target),
    });
    return;
  }
  if (ostreeFeatures().setDefault) {
    await ostree(['admin', 'set-default', `--sysroot=${report.sysroot}`, String(target.index)]);
    return;
  }
  throw new HindsightError(
    'unsupported',
    'this ostree has no `admin set-default` and libostree is out of reach (install gjs and gir1.2-ostree-1.0)',
  );
}

export async function rollback(ctx: OperationContext, to: string | undefined): Promise<OperationResult> {
  const before = await status(ctx);
  const target = to === undefined ? defaultRollbackTarget(before) : resolveDeployment(before, to);
  const first = before.deployments[0];
  if (first && target.index === first.index) {
    throw new HindsightError('refused', `deployment ${target.index} ${label(target)} already boots next`);
  }
  const staged = before.deployments.find((d) => d.staged);
  if (staged) {
    throw new HindsightError(
      'refused',
      `deployment ${staged.index} ${label(staged)} is staged for the next boot; reordering would discard it (run hindsight cancel first)`,
    );
  }
  ctx.emit({ operation: 'rollback', phase: 'reordering', fraction: null, message: label(target) });
  await makeDefault(before, target);
  // Verified by ostree's own view, not by what the reorder said it did.
  const after = await status(ctx);
  const now = after.deployments[0];
  if (!now || now.checksum !== target.checksum || now.serial !== target.serial) {
    throw new HindsightError(
      'ostree-failed',
      `the reorder did not take: ostree admin status shows ${now ? label(now) : 'nothing'} first`,
    );
  }
  const lost = before.deployments.filter((d) => !findSame(after, d));
  if (lost.length) {
    throw new HindsightError(
      'internal',
      `deployments disappeared during the reorder: ${lost.map((d) => label(d)).join(', ')}`,
    );
  }
  const previous = first ? findSame(after, first) : null;
  const undo = previous
    ? ` To undo: hindsight rollback${previous.rollback || previous.booted ? '' : ` --to ${shownSelector(previous)}`}.`
    : '';
  return {
    operation: 'rollback',
    message: `${label(target)} boots next (was ${first ? label(first) : 'nothing'}).${undo}`,
    status: after,
  };
}
