import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { HindsightError } from '../../shared/errors.ts';
import type { Deployment, OperationResult, StatusReport, UpgradeCheck } from '../../shared/types.ts';
import { writeFileAtomic } from '../core/atomic-write.ts';
import {
  commitIsPartial,
  readCommitHistory,
  readCommitObject,
  readRefs,
} from '../core/ostree/commit-object.ts';
import { upgradeCommand } from '../core/ostree/origin.ts';
import { ostree } from '../core/ostree/ostree-cli.ts';
import { commitRef, deploymentRef, findCommitsByPrefix, REF_PATTERN } from '../core/ostree/selectors.ts';
import { repoPath } from '../core/ostree/sysroot.ts';
import { DPKG_STATUS_CANDIDATES } from '../core/packages/dpkg-db.ts';
import { packageDeltaBetween } from '../core/packages/package-delta.ts';
import { RPMDB_CANDIDATES } from '../core/packages/rpm-db.ts';
import { currentDeployment } from '../core/rollback-preview.ts';
import { label, type OperationContext, status } from './context.ts';
import { armStagedFinalization } from './finalize.ts';
import { libostreeAvailable, type PullProgress, pullThroughLibostree } from './libostree.ts';
import { ensureDir, recordCreated, stateDirFor } from './state.ts';

/**
 * `upgrade [--check]` and `deploy COMMIT|VERSION`: ask the origin's remote for its newest commit,
 * show its version and package delta before anything is deployed (only the commit object and the
 * package database file are fetched for that), then pull it with progress and deploy it for the next
 * boot — staged on a running system, a plain deploy on a sysroot that is not booted — keeping the
 * rollback.
 */

const REMOTE_NAME = /^[\w][\w.-]*$/;

export interface Refspec {
  remote: string | null;
  ref: string;
}

export function parseRefspec(refspec: string): Refspec {
  if (!REF_PATTERN.test(refspec))
    throw new HindsightError('bad-selector', `"${refspec}" is not an ostree refspec`);
  const colon = refspec.indexOf(':');
  if (colon < 0) return { remote: null, ref: refspec };
  const remote = refspec.slice(0, colon);
  if (!REMOTE_NAME.test(remote)) throw new HindsightError('bad-selector', `"${remote}" is not a remote name`);
  return { remote, ref: refspec.slice(colon + 1) };
}

const MiB = 1024 * 1024;

/** Pulls with progress events: libostree's counters when gjs can reach it, else the CLI's end result. */
export async function pullWithProgress(
  ctx: OperationContext,
  operation: string,
  options: { repo: string; remote: string; what: string; metadataOnly: boolean; subpaths?: string[] },
): Promise<void> {
  const subpaths = options.subpaths ?? [];
  const phase = options.metadataOnly
    ? 'fetching metadata'
    : subpaths.length
      ? 'fetching package list'
      : 'pulling';
  ctx.emit({ operation, phase, fraction: 0, objectsDone: 0, message: `${options.remote}:${options.what}` });
  if (await libostreeAvailable()) {
    await pullThroughLibostree({ ...options, subpaths }, (p: PullProgress) => {
      const total = Math.max(p.requested, p.fetched);
      ctx.emit({
        operation,
        phase,
        fraction: p.done ? 1 : total > 0 ? Math.min(0.99, p.fetched / total) : null,
        objectsDone: p.fetched,
        objectsTotal: total,
        bytes: p.bytes,
        message:
          p.status ??
          `${p.fetched}/${total} objects, ${(p.bytes / MiB).toFixed(1)} MiB${p.outstandingWrites ? `, writing ${p.outstandingWrites}` : ''}`,
      });
    });
    return;
  }
  const args = ['pull', `--repo=${options.repo}`];
  if (options.metadataOnly) args.push('--commit-metadata-only');
  for (const sub of subpaths) args.push(`--subpath=${sub}`);
  args.push('--', options.remote, options.what);
  const out = await ostree(args);
  const summary = out.toString('utf8').trim().split('\n').pop() ?? '';
  const counts = /(\d+) metadata, (\d+) content objects fetched/.exec(summary);
  const fetched = counts ? Number(counts[1]) + Number(counts[2]) : undefined;
  ctx.emit({ operation, phase, fraction: 1, objectsDone: fetched, objectsTotal: fetched, message: summary });
}

interface CheckOutcome {
  check: UpgradeCheck;
  report: StatusReport;
  current: Deployment;
  origin: Refspec;
  head: string | null;
}

function originOf(current: Deployment): { refspec: string; parsed: Refspec } {
  if (!current.origin) {
    throw new HindsightError(
      'unsupported',
      `deployment ${current.index} has no origin refspec, so there is nothing to check for upgrades`,
    );
  }
  return { refspec: current.origin, parsed: parseRefspec(current.origin) };
}

/**
 * A deployment whose origin layers packages (rpm-ostree) or follows a container image (bootc,
 * rpm-ostree) belongs to that tool: `ostree admin upgrade/deploy` behind its back would write a bare
 * refspec origin and drop the layering, or cannot pull the image at all. Refused before anything is
 * pulled, naming the tool to use.
 */
export function refuseManagedOrigin(current: Deployment, operation: 'upgrade' | 'deploy'): void {
  const owner = current.managedBy;
  if (!owner) return;
  const shown = current.layeredPackages.slice(0, 6).join(', ');
  const more = current.layeredPackages.length > 6 ? ` and ${current.layeredPackages.length - 6} more` : '';
  const what =
    owner === 'rpm-ostree'
      ? `${current.layeredPackages.length ? `layers packages with rpm-ostree (${shown}${more})` : 'carries rpm-ostree changes to its base (overrides, initramfs)'}: ostree admin ${operation} would drop them`
      : `follows the container image ${current.imageReference}: ostree admin ${operation} cannot pull it`;
  const use =
    owner === 'rpm-ostree'
      ? `\`${upgradeCommand(owner)}\`${operation === 'deploy' ? ' (or `rpm-ostree deploy VERSION`)' : ''}`
      : `\`${upgradeCommand(owner)}\` (or \`rpm-ostree upgrade\` where rpm-ostree manages it)`;
  throw new HindsightError(
    'refused',
    `deployment ${current.index} ${label(current)} ${what}. ${operation === 'deploy' ? 'Use' : 'Upgrade it with'} ${use}`,
  );
}

async function check(ctx: OperationContext, operation: string): Promise<CheckOutcome> {
  const report = await status(ctx);
  const current = currentDeployment(report);
  refuseManagedOrigin(current, 'upgrade');
  const origin = originOf(current);
  const repo = repoPath(report.sysroot);
  if (origin.parsed.remote) {
    await pullWithProgress(ctx, operation, {
      repo,
      remote: origin.parsed.remote,
      what: origin.parsed.ref,
      metadataOnly: true,
    });
  }
  const head = readRefs(repo)[origin.refspec] ?? null;
  if (!head) throw new HindsightError('no-such-commit', `${origin.refspec} does not name a commit`);
  let available: UpgradeCheck['available'] = null;
  const upcoming = report.deployments[0];
  const alreadyNext = upcoming?.checksum === head && !upcoming.booted && upcoming.index !== current.index;
  if (head !== current.checksum && !alreadyNext && isNewer(repo, head, current)) {
    const ref = commitRef(repo, head);
    if (origin.parsed.remote && commitIsPartial(repo, head)) {
      // Only the package database file, not the tree: a few kilobytes to show the delta first.
      await pullWithProgress(ctx, operation, {
        repo,
        remote: origin.parsed.remote,
        what: head,
        metadataOnly: false,
        subpaths: [...DPKG_STATUS_CANDIDATES, ...RPMDB_CANDIDATES].map((p) => `/${p}`),
      });
    }
    let delta = null;
    try {
      delta = await packageDeltaBetween(
        report,
        { kind: 'deployment', deployment: current, ref: deploymentRef(current) },
        { kind: 'commit', ref },
      );
    } catch (error) {
      if (!(error instanceof HindsightError && error.code === 'no-package-database')) throw error;
    }
    available = { ...ref, delta, downloaded: !commitIsPartial(repo, head) };
  }
  return {
    report,
    current,
    origin: origin.parsed,
    head,
    check: {
      origin: origin.refspec,
      current: deploymentRef(current),
      available,
      checkedAt: new Date().toISOString(),
    },
  };
}

/** Newer: not the current commit nor one of its ancestors, and not dated before it. */
function isNewer(repo: string, head: string, current: Deployment): boolean {
  try {
    const ancestors = readCommitHistory(repo, current.checksum, 10_000).map((c) => c.checksum);
    if (ancestors.includes(head)) return false;
  } catch {
    // current commit pruned: judge by date alone
  }
  const headTime = readCommitObject(repo, head).timestamp;
  return current.timestamp === null || headTime >= current.timestamp;
}

export async function upgradeCheck(ctx: OperationContext): Promise<UpgradeCheck> {
  return (await check(ctx, 'upgradeCheck')).check;
}

export async function upgrade(ctx: OperationContext, commit: string | undefined): Promise<OperationResult> {
  const outcome = await check(ctx, 'upgrade');
  const { available } = outcome.check;
  if (!available) {
    if (commit && commit !== outcome.head) {
      throw new HindsightError(
        'refused',
        `${outcome.check.origin} no longer offers ${commit.slice(0, 10)}; check again`,
      );
    }
    return {
      operation: 'upgrade',
      message: `Already up to date: ${outcome.check.origin} offers nothing newer than ${label(outcome.current)}.`,
      status: outcome.report,
    };
  }
  if (commit && commit !== available.checksum) {
    throw new HindsightError(
      'refused',
      `${outcome.check.origin} now offers ${available.version ?? available.checksum.slice(0, 10)} (${available.checksum.slice(0, 10)}), not the commit you checked (${commit.slice(0, 10)}); check again`,
    );
  }
  const delta = available.delta;
  ctx.emit({
    operation: 'upgrade',
    phase: 'checked',
    fraction: null,
    message: `${available.version ?? available.checksum.slice(0, 10)} is available${delta ? `: ${delta.upgraded.length} upgraded, ${delta.downgraded.length} downgraded, ${delta.added.length} added, ${delta.removed.length} removed` : ''}`,
  });
  const repo = repoPath(outcome.report.sysroot);
  if (outcome.origin.remote && commitIsPartial(repo, available.checksum)) {
    await pullWithProgress(ctx, 'upgrade', {
      repo,
      remote: outcome.origin.remote,
      what: available.checksum,
      metadataOnly: false,
    });
  }
  return deployCommit(ctx, outcome.report, available.checksum, outcome.check.origin, 'upgrade');
}

/** Finds the commit a `deploy` argument names: a checksum (prefix), a version in the history, or a ref. */
export function resolveCommitSpec(
  report: StatusReport,
  spec: string,
): { checksum: string; refspec: string | null } {
  const repo = repoPath(report.sysroot);
  if (/^[0-9a-f]{4,64}$/.test(spec)) {
    const found = findCommitsByPrefix(repo, spec);
    if (found.length > 1) {
      throw new HindsightError(
        'ambiguous-selector',
        `"${spec}" matches ${found.length} commits; give more of the checksum`,
      );
    }
    if (found[0]) return { checksum: found[0], refspec: null };
  }
  const refs = readRefs(repo);
  const starts = new Set<string>([...Object.values(refs), ...report.deployments.map((d) => d.checksum)]);
  const byVersion = new Map<string, string>();
  for (const start of starts) {
    let history: ReturnType<typeof readCommitHistory>;
    try {
      history = readCommitHistory(repo, start, 10_000);
    } catch {
      continue;
    }
    for (const c of history) if (c.version === spec) byVersion.set(c.checksum, c.version);
  }
  if (byVersion.size > 1) {
    throw new HindsightError(
      'ambiguous-selector',
      `version ${spec} names ${byVersion.size} commits (${[...byVersion.keys()].map((c) => c.slice(0, 10)).join(', ')}); deploy one by checksum`,
    );
  }
  const [byVersionChecksum] = byVersion.keys();
  if (byVersionChecksum) return { checksum: byVersionChecksum, refspec: null };
  const fromRef = refs[spec];
  if (fromRef) return { checksum: fromRef, refspec: spec };
  throw new HindsightError(
    'no-such-commit',
    `no commit, version or ref "${spec}" in the repository's history (hindsight upgrade --check fetches what the remote offers)`,
  );
}

export async function deploy(ctx: OperationContext, spec: string): Promise<OperationResult> {
  const report = await status(ctx);
  const current = report.deployments.length ? currentDeployment(report) : null;
  if (current) refuseManagedOrigin(current, 'deploy');
  const { checksum, refspec } = resolveCommitSpec(report, spec);
  const origin = refspec ?? current?.origin ?? null;
  const repo = repoPath(report.sysroot);
  if (commitIsPartial(repo, checksum)) {
    const remote = origin ? parseRefspec(origin).remote : null;
    if (!remote) {
      throw new HindsightError(
        'no-such-commit',
        `only the metadata of ${checksum.slice(0, 10)} is in the repository, and no remote to pull the rest from`,
      );
    }
    await pullWithProgress(ctx, 'deploy', { repo, remote, what: checksum, metadataOnly: false });
  }
  return deployCommit(ctx, report, checksum, origin, 'deploy');
}

/**
 * `ostree admin deploy` of one exact commit, keeping the origin refspec so later upgrades follow it.
 * On a running system it is staged (its /etc merge happens at shutdown); elsewhere it is a plain deploy
 * that keeps every older deployment (`--retain-rollback`; --stage cannot be combined with it, and
 * staging keeps the booted deployment as the rollback by itself).
 */
async function deployCommit(
  ctx: OperationContext,
  before: StatusReport,
  checksum: string,
  origin: string | null,
  operation: string,
): Promise<OperationResult> {
  const info = readCommitObject(repoPath(before.sysroot), checksum);
  ctx.emit({ operation, phase: 'deploying', fraction: null, message: info.version ?? checksum.slice(0, 10) });
  const args = ['admin', 'deploy', `--sysroot=${before.sysroot}`, `--os=${before.stateroot}`];
  args.push(before.bootedSystem ? '--stage' : '--retain-rollback');
  // The origin file lives in the helper's own state folder, where a killed helper's leftover is swept.
  const scratch = ensureDir(join(stateDirFor(before), 'tmp'), 0o700);
  for (const name of readdirSync(scratch)) {
    if (name.startsWith('origin-')) rmSync(join(scratch, name), { force: true });
  }
  if (origin) {
    const file = join(scratch, `origin-${process.pid}`);
    writeFileAtomic(file, `[origin]\nrefspec=${origin}\n`, { mode: 0o600 });
    args.push(`--origin-file=${file}`);
  }
  // A validated 64-hex checksum: it cannot pose as an option (and `ostree admin` rejects `--`).
  if (!/^[0-9a-f]{64}$/.test(checksum)) throw new HindsightError('internal', 'not a checksum');
  args.push(checksum);
  try {
    await ostree(args);
  } finally {
    rmSync(join(scratch, `origin-${process.pid}`), { force: true });
  }
  const after = await status(ctx);
  const known = new Set(before.deployments.map((d) => `${d.checksum}.${d.serial}`));
  const created = after.deployments.find(
    (d) => d.checksum === checksum && !known.has(`${d.checksum}.${d.serial}`),
  );
  if (!created) {
    throw new HindsightError(
      'ostree-failed',
      `ostree admin status does not show the new deployment of ${checksum.slice(0, 10)}`,
    );
  }
  if (!before.bootedSystem && created.index !== after.deployments[0]?.index) {
    throw new HindsightError('ostree-failed', `the new deployment is at index ${created.index}, not first`);
  }
  recordCreated(
    stateDirFor(after),
    {
      stateroot: created.stateroot,
      checksum,
      serial: created.serial,
      operation,
      time: new Date().toISOString(),
    },
    after,
  );
  // Staged is not ready until systemd will finalize it at shutdown.
  if (created.staged) await armStagedFinalization(after);
  const rollbackTo = after.deployments.find((d) => d.rollback);
  // One word for both: to a person, an update that starts on the next boot and can be cancelled is staged.
  const how = created.staged
    ? 'is staged: it starts on the next boot (its /etc is merged at shutdown)'
    : 'is staged: it starts on the next boot';
  return {
    operation,
    message: `${label(created)} ${how}.${rollbackTo ? ` Rollback: ${label(rollbackTo)}.` : ''}`,
    status: after,
  };
}
