import type { OstreeFeatures } from '../../../shared/types.ts';
import { requireProgram, run, runChecked, runSync } from '../exec.ts';

/** The ostree binary, or an `ostree-missing` error that says how to get it. */
export function ostreeBinary(): string {
  return requireProgram('ostree', 'ostree-missing');
}

/** Runs `ostree ARGS…` and returns stdout; failures become one-line `ostree-failed` errors. */
export async function ostree(args: readonly string[]): Promise<Buffer> {
  return runChecked(ostreeBinary(), args, { errorCode: 'ostree-failed' });
}

let cachedFeatures: OstreeFeatures | null = null;

/**
 * What this ostree can do. Debian 12's 2022.7 lacks `admin set-default` (2023.x) and
 * `admin status --json` (2025.3), so callers pick the newer verb only where it exists.
 */
export function ostreeFeatures(): OstreeFeatures {
  if (cachedFeatures) return cachedFeatures;
  const bin = ostreeBinary();
  const versionText = runSync(bin, ['--version']).stdout.toString('utf8');
  const version = /Version:\s*'?([0-9.]+)'?/.exec(versionText)?.[1] ?? 'unknown';
  const adminHelp = runSync(bin, ['admin', '--help']);
  const adminText = adminHelp.stdout.toString('utf8') + adminHelp.stderr;
  const statusHelp = runSync(bin, ['admin', 'status', '--help']).stdout.toString('utf8');
  const deployHelp = runSync(bin, ['admin', 'deploy', '--help']).stdout.toString('utf8');
  cachedFeatures = {
    version,
    setDefault: /^\s+set-default\s/m.test(adminText),
    statusJson: statusHelp.includes('--json'),
    stage: deployHelp.includes('--stage'),
  };
  return cachedFeatures;
}

let cachedStatusJson: boolean | null = null;

/** Whether `ostree admin status` takes --json, when already known (no process started). */
export function knownStatusJson(): boolean | null {
  return cachedFeatures?.statusJson ?? cachedStatusJson;
}

/**
 * Whether `ostree admin status` takes --json, probed with that one help text (the same test as
 * ostreeFeatures, without its other three probes): listing deployments needs only this answer.
 */
export async function statusJsonSupported(): Promise<boolean> {
  const known = knownStatusJson();
  if (known !== null) return known;
  const help = await run(ostreeBinary(), ['admin', 'status', '--help']);
  cachedStatusJson = help.stdout.toString('utf8').includes('--json');
  return cachedStatusJson;
}
