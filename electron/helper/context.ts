import type { BackendKind } from '../../shared/backends.ts';
import type { Deployment, OperationResult, ProgressEvent, StatusReport } from '../../shared/types.ts';
import { readStatus } from '../core/ostree/sysroot.ts';
import { withStagedUpdate } from './state.ts';

/** What every operation gets from the helper: its sysroot, fresh status, and a progress channel. */
export interface OperationContext {
  /** The sysroot this helper serves (absolute, symlinks resolved). */
  sysroot: string;
  stateroot: string | undefined;
  /** What the sysroot is (methods.ts refuses a method meant for the other kind). */
  backend?: BackendKind;
  emit(event: ProgressEvent): void;
}

export async function status(ctx: OperationContext): Promise<StatusReport> {
  return withStagedUpdate(await readStatus({ sysroot: ctx.sysroot, stateroot: ctx.stateroot }));
}

export function label(d: Pick<Deployment, 'index' | 'version' | 'checksum' | 'serial'>): string {
  return `${d.version ?? d.checksum.slice(0, 10)} (${d.checksum.slice(0, 10)}.${d.serial})`;
}

/**
 * How a person names a deployment to Hindsight: the COMMIT column of `hindsight status`. Unlike an
 * index it still names the same deployment after another one is deployed or removed.
 */
export const shownSelector = (d: Pick<Deployment, 'checksum' | 'serial'>): string =>
  `${d.checksum.slice(0, 10)}.${d.serial}`;

export const sameDeployment = (
  a: Pick<Deployment, 'stateroot' | 'checksum' | 'serial'>,
  b: Pick<Deployment, 'stateroot' | 'checksum' | 'serial'>,
): boolean => a.stateroot === b.stateroot && a.checksum === b.checksum && a.serial === b.serial;

export function findSame(report: StatusReport, d: Pick<Deployment, 'stateroot' | 'checksum' | 'serial'>) {
  return report.deployments.find((x) => sameDeployment(x, d)) ?? null;
}

export async function result(
  ctx: OperationContext,
  operation: string,
  message: string,
  report?: StatusReport,
): Promise<OperationResult> {
  return { operation, message, status: report ?? (await status(ctx)) };
}
