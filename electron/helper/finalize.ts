import { HindsightError } from '../../shared/errors.ts';
import type { StatusReport } from '../../shared/types.ts';
import { requireProgram, run } from '../core/exec.ts';

/**
 * A staged deployment is finished (its /etc merged, its boot entry written) at shutdown by
 * ostree-finalize-staged.service's stop action, so the service has to be active before the machine
 * goes down. ostree up to 2025.1 leaves starting it to ostree-finalize-staged.path, which notices
 * /run/ostree/staged-deployment a moment after `ostree admin deploy --stage` returns: a reboot in
 * that window drops the staged deployment without a word. Newer ostree starts the service itself as
 * part of staging (ostree#3389); Hindsight does the same on every version, and checks it took.
 */

export const FINALIZE_UNIT = 'ostree-finalize-staged.service';
const ARM_TIMEOUT_MS = 15_000;

async function isActive(systemctl: string): Promise<boolean> {
  return (await run(systemctl, ['is-active', '--quiet', FINALIZE_UNIT])).code === 0;
}

/**
 * Makes sure the staged deployment (if any) is finalized at shutdown: starts the finalize unit
 * when the path unit has not yet, and waits until systemd reports it active. Throws `not-ready`,
 * naming the unit, when it does not become active: rebooting then would boot the old deployment.
 */
export async function armStagedFinalization(report: StatusReport): Promise<void> {
  if (!report.bootedSystem || !report.deployments.some((d) => d.staged)) return;
  const systemctl = requireProgram('systemctl');
  if (await isActive(systemctl)) return;
  const started = await run(systemctl, ['start', '--no-block', FINALIZE_UNIT]);
  const deadline = Date.now() + ARM_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (await isActive(systemctl)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  const why = started.code === 0 ? 'did not become active' : started.stderr.trim().split('\n').pop();
  throw new HindsightError(
    'not-ready',
    `the staged deployment is not ready: ${FINALIZE_UNIT} ${why}, so a reboot now would boot the current deployment again (see journalctl -u ${FINALIZE_UNIT})`,
  );
}
