import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { HindsightError } from '../../../shared/errors.ts';
import type { Deployment, SnapshotRef, StatusReport } from '../../../shared/types.ts';
import { readCommitObject, readRefs } from './commit-object.ts';
import { repoPath } from './sysroot.ts';

/** The words a selector may be, besides an index, a checksum prefix or a ref. */
export const SELECTOR_KEYWORDS = ['booted', 'default', 'pending', 'rollback', 'staged'] as const;

/** The grammar of a number; whether it is an index depends on the sysroot (see indexOf). */
const INDEX = /^\d{1,4}$/;
/** An index as `ostree admin status` numbers deployments: no leading zeros. */
const CANONICAL_INDEX = /^(?:0|[1-9]\d{0,3})$/;
const CHECKSUM_PREFIX = /^[0-9a-f]{4,64}(?:\.\d{1,6})?$/;
/** ostree's ref grammar (with an optional `remote:`), never starting with `-` so it cannot pose as an option. */
export const REF_PATTERN = /^(?:[\w][\w.-]*:)?[\w][\w.-]*(?:\/[\w][\w.-]*)*$/;

export function isValidSelector(selector: string): boolean {
  return (
    INDEX.test(selector) ||
    (SELECTOR_KEYWORDS as readonly string[]).includes(selector) ||
    CHECKSUM_PREFIX.test(selector) ||
    REF_PATTERN.test(selector)
  );
}

function checkGrammar(selector: string): void {
  if (!isValidSelector(selector)) {
    throw new HindsightError(
      'bad-selector',
      `"${printable(selector)}" is not a deployment selector (use an index, booted, default, pending, rollback, staged or a commit checksum)`,
    );
  }
}

/**
 * The deployment index a selector names, or null. Digits are an index only when they are one here
 * (written without leading zeros, less than the number of deployments): otherwise `0342` is the
 * start of a checksum such as `0342bae0…`, never deployment 342.
 */
function indexOf(deployments: readonly Deployment[], selector: string): number | null {
  if (!CANONICAL_INDEX.test(selector)) return null;
  const index = Number(selector);
  return index < deployments.length ? index : null;
}

function noSuchIndex(deployments: readonly Deployment[], selector: string): HindsightError {
  const there =
    deployments.length === 1 ? 'there is 1 deployment' : `there are ${deployments.length} deployments`;
  if (CHECKSUM_PREFIX.test(selector)) {
    return new HindsightError(
      'no-such-deployment',
      `no deployment ${selector}: it is not an index (${there}) and no deployment's checksum starts with it`,
    );
  }
  if (!CANONICAL_INDEX.test(selector)) {
    return new HindsightError(
      'no-such-deployment',
      `no deployment ${selector} (an index has no leading zeros; ${there})`,
    );
  }
  return new HindsightError('no-such-deployment', `no deployment ${selector} (${there})`);
}

/** Finds one deployment by index, state keyword or checksum prefix. */
export function resolveDeployment(report: StatusReport, selector: string): Deployment {
  checkGrammar(selector);
  const { deployments } = report;
  let found: Deployment[] = [];
  const index = indexOf(deployments, selector);
  if (index !== null) {
    found = deployments.filter((d) => d.index === index);
  } else if ((SELECTOR_KEYWORDS as readonly string[]).includes(selector)) {
    const key = selector as (typeof SELECTOR_KEYWORDS)[number];
    found = deployments.filter((d) => d[key]);
    if (!found.length) throw new HindsightError('no-such-deployment', `there is no ${selector} deployment`);
    // Several pending deployments can exist; the first is the one that boots next.
    found = found.slice(0, 1);
  } else if (CHECKSUM_PREFIX.test(selector)) {
    const [prefix, serial] = selector.split('.');
    found = deployments.filter(
      (d) => d.checksum.startsWith(prefix as string) && (serial === undefined || d.serial === Number(serial)),
    );
  }
  if (found.length > 1) {
    throw new HindsightError(
      'ambiguous-selector',
      `"${selector}" matches ${found.length} deployments (${found.map((d) => d.index).join(', ')}); use an index`,
    );
  }
  const hit = found[0];
  if (!hit && INDEX.test(selector)) throw noSuchIndex(deployments, selector);
  if (!hit) throw new HindsightError('no-such-deployment', `no deployment matches "${printable(selector)}"`);
  return hit;
}

/** Finds commits in the repository whose checksum starts with a prefix (reads the object folders only). */
export function findCommitsByPrefix(repo: string, prefix: string): string[] {
  if (!/^[0-9a-f]{2,64}$/.test(prefix)) return [];
  const dir = join(repo, 'objects', prefix.slice(0, 2));
  const rest = prefix.slice(2);
  try {
    return readdirSync(dir)
      .filter((n) => n.endsWith('.commit') && n.startsWith(rest))
      .map((n) => prefix.slice(0, 2) + n.slice(0, -'.commit'.length));
  } catch {
    return [];
  }
}

export type SnapshotTarget =
  | { kind: 'deployment'; deployment: Deployment; ref: SnapshotRef }
  | { kind: 'commit'; ref: SnapshotRef };

export function deploymentRef(d: Deployment): SnapshotRef {
  return {
    checksum: d.checksum,
    version: d.version,
    subject: d.subject,
    timestamp: d.timestamp,
    index: d.index,
    serial: d.serial,
  };
}

/**
 * Finds a snapshot: a deployment first (index, keyword, checksum prefix), otherwise a commit in the
 * repository (checksum prefix or ref).
 */
export function resolveSnapshot(report: StatusReport, selector: string): SnapshotTarget {
  checkGrammar(selector);
  const isDeployment =
    indexOf(report.deployments, selector) !== null ||
    (SELECTOR_KEYWORDS as readonly string[]).includes(selector) ||
    // Too short for a checksum prefix: only an index can be meant, and resolveDeployment says why not.
    (INDEX.test(selector) && !CHECKSUM_PREFIX.test(selector));
  if (isDeployment) {
    const deployment = resolveDeployment(report, selector);
    return { kind: 'deployment', deployment, ref: deploymentRef(deployment) };
  }
  if (CHECKSUM_PREFIX.test(selector)) {
    const [prefix] = selector.split('.');
    const deployed = report.deployments.filter((d) => d.checksum.startsWith(prefix as string));
    if (deployed.length) {
      const deployment = resolveDeployment(report, selector);
      return { kind: 'deployment', deployment, ref: deploymentRef(deployment) };
    }
    const repo = repoPath(report.sysroot);
    const commits = findCommitsByPrefix(repo, prefix as string);
    if (commits.length > 1) {
      throw new HindsightError(
        'ambiguous-selector',
        `"${selector}" matches ${commits.length} commits; give more of the checksum`,
      );
    }
    if (commits[0]) return { kind: 'commit', ref: commitRef(repo, commits[0]) };
  }
  if (REF_PATTERN.test(selector)) {
    const repo = repoPath(report.sysroot);
    const refs = readRefs(repo);
    const checksum = refs[selector];
    if (checksum) {
      const deployed = report.deployments.find((d) => d.checksum === checksum);
      if (deployed) return { kind: 'deployment', deployment: deployed, ref: deploymentRef(deployed) };
      return { kind: 'commit', ref: commitRef(repo, checksum) };
    }
  }
  throw new HindsightError('no-such-commit', `no deployment, commit or ref matches "${printable(selector)}"`);
}

export function commitRef(repo: string, checksum: string): SnapshotRef {
  const info = readCommitObject(repo, checksum);
  return {
    checksum,
    version: info.version,
    subject: info.subject,
    timestamp: info.timestamp,
    index: null,
    serial: null,
  };
}

/** Keeps user input printable in one-line messages. */
export function printable(text: string): string {
  const clean = text.replace(/[\u0000-\u001f\u007f]/g, '?');
  return clean.length > 80 ? `${clean.slice(0, 77)}...` : clean;
}
