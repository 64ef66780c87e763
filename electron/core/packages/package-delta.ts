import { HindsightError } from '../../../shared/errors.ts';
import type {
  DeltaChangelogs,
  FileCounts,
  PackageChange,
  PackageDelta,
  PackageEntry,
  PackageFormat,
  StatusReport,
} from '../../../shared/types.ts';
import { commitIsPartial } from '../ostree/commit-object.ts';
import { commitReader } from '../ostree/commit-reader.ts';
import { ostree } from '../ostree/ostree-cli.ts';
import { resolveSnapshot, type SnapshotTarget } from '../ostree/selectors.ts';
import { deploymentPath, repoPath } from '../ostree/sysroot.ts';
import { commitTreeCounts } from '../ostree/tree-diff.ts';
import { deltaChangelogs, folderReader, type TreeReader } from './changelog.ts';
import { compareDpkgVersions } from './dpkg-version.ts';
import { type PackageCache, type PackageList, readPackages, readTreePackages } from './package-source.ts';
import { comparePacmanVersions } from './pacman-version.ts';
import { compareRpmEvr } from './rpm-version.ts';

export function versionComparer(format: PackageFormat): (a: string, b: string) => number {
  if (format === 'pacman') return comparePacmanVersions;
  return format === 'dpkg' ? compareDpkgVersions : compareRpmEvr;
}

/**
 * Pairs packages by name, or by name and architecture where a name has several (multiarch), so that
 * a package that moves from `all` to `amd64` reads as one change, not a removal and an addition.
 */
function keyed(list: PackageEntry[]): Map<string, PackageEntry> {
  const counts = new Map<string, number>();
  for (const p of list) counts.set(p.name, (counts.get(p.name) ?? 0) + 1);
  const map = new Map<string, PackageEntry>();
  for (const p of list) map.set((counts.get(p.name) ?? 0) > 1 ? `${p.name}:${p.arch}` : p.name, p);
  return map;
}

/**
 * A name that is single on one side and multiarch on the other is keyed differently; such entries
 * move to name:arch (to the end of the map, in their order). Only keys missing from `other` can
 * move, so they are found first and moved after, without copying the whole map.
 */
function fallBackToArch(map: Map<string, PackageEntry>, other: Map<string, PackageEntry>): void {
  const moves: [string, PackageEntry][] = [];
  for (const [key, p] of map) {
    if (!other.has(key) && other.has(`${p.name}:${p.arch}`)) moves.push([key, p]);
  }
  for (const [key, p] of moves) {
    map.delete(key);
    map.set(`${p.name}:${p.arch}`, p);
  }
}

export function diffPackageLists(
  from: PackageEntry[],
  to: PackageEntry[],
  format: PackageFormat,
): Pick<PackageDelta, 'added' | 'removed' | 'upgraded' | 'downgraded'> {
  const compare = versionComparer(format);
  const before = keyed(from);
  const after = keyed(to);
  fallBackToArch(before, after);
  fallBackToArch(after, before);
  const added: PackageEntry[] = [];
  const removed: PackageEntry[] = [];
  const upgraded: PackageChange[] = [];
  const downgraded: PackageChange[] = [];
  for (const [key, old] of before) {
    const now = after.get(key);
    if (!now) {
      removed.push(old);
      continue;
    }
    const order = compare(old.version, now.version);
    if (order === 0 && old.version === now.version) continue;
    const change = { name: now.name, arch: now.arch, from: old.version, to: now.version };
    if (order < 0) upgraded.push(change);
    else if (order > 0) downgraded.push(change);
    // Equal order but different spelling (1.0 vs 1.00) is no version change.
  }
  for (const [key, now] of after) if (!before.has(key)) added.push(now);
  return { added, removed, upgraded, downgraded };
}

/** The lists of two root folders (snapshots of one system) and what changed between them. */
export interface TreePackageDiff
  extends Pick<PackageDelta, 'format' | 'added' | 'removed' | 'upgraded' | 'downgraded'> {
  from: PackageList;
  to: PackageList;
}

/** The package delta between two root folders, read from the database inside each. */
export function treePackageDiff(fromTree: string, toTree: string): TreePackageDiff {
  const [a, b] = [fromTree, toTree].map((tree) => {
    const list = readTreePackages(tree);
    if (!list) throw new HindsightError('no-package-database', `no dpkg, rpm or pacman database in ${tree}`);
    return list;
  }) as [PackageList, PackageList];
  if (a.format !== b.format) {
    throw new HindsightError('unsupported', `cannot compare a ${a.format} tree with a ${b.format} tree`);
  }
  return { format: a.format, from: a, to: b, ...diffPackageLists(a.packages, b.packages, a.format) };
}

/** File counts by repository and commit pair: commits never change, so neither do their counts. */
const countsMemo = new Map<string, FileCounts>();
const COUNTS_LIMIT = 256;

/** Counts of files added, removed and modified between two commits' whole trees, as `ostree diff` counts them. */
export async function treeFileCounts(repo: string, from: string, to: string): Promise<FileCounts> {
  if (from === to) return { added: 0, removed: 0, modified: 0 };
  const key = `${repo}\0${from}\0${to}`;
  const known = countsMemo.get(key);
  if (known) return { ...known };
  const counts = await countTreeChanges(repo, from, to);
  if (countsMemo.size >= COUNTS_LIMIT) countsMemo.delete(countsMemo.keys().next().value as string);
  countsMemo.set(key, counts);
  return { ...counts };
}

async function countTreeChanges(repo: string, from: string, to: string): Promise<FileCounts> {
  try {
    // The same count from the repository's own tree objects, without starting a process.
    return commitTreeCounts(repo, from, to);
  } catch {
    // A missing or odd object: let ostree itself count (or say what is wrong).
  }
  const counts: FileCounts = { added: 0, removed: 0, modified: 0 };
  const out = await ostree(['diff', `--repo=${repo}`, from, to]);
  for (const line of out.toString('latin1').split('\n')) {
    const m = /^([AMD]) {4}\//.exec(line);
    if (m?.[1] === 'A') counts.added++;
    else if (m?.[1] === 'D') counts.removed++;
    else if (m?.[1] === 'M') counts.modified++;
  }
  return counts;
}

export interface DeltaOptions {
  cache?: PackageCache;
}

export async function packageDeltaBetween(
  report: StatusReport,
  from: SnapshotTarget,
  to: SnapshotTarget,
  options: DeltaOptions = {},
): Promise<PackageDelta> {
  // The file counts start first, so that an `ostree diff` they fall back to runs while the package
  // databases are read; their answer is awaited (and a failure reported) only once the lists are
  // known to be comparable, as before.
  const repo = repoPath(report.sysroot);
  // A commit that is not downloaded yet (an update check pulled its package database only) has no
  // tree to count: its file counts are pending, not zero, and never a raw "file object" error.
  const pending = [from, to].some((t) => t.kind === 'commit' && commitIsPartial(repo, t.ref.checksum));
  const counting = pending ? null : treeFileCounts(repo, from.ref.checksum, to.ref.checksum);
  counting?.catch(() => {
    // reported below, unless reading the packages failed first
  });
  const [a, b] = await Promise.all([
    readPackages(report.sysroot, from, options.cache),
    readPackages(report.sysroot, to, options.cache),
  ]);
  if (a.format !== b.format) {
    throw new HindsightError('unsupported', `cannot compare a ${a.format} tree with a ${b.format} tree`);
  }
  const files: FileCounts = counting
    ? await counting
    : { added: 0, removed: 0, modified: 0, ...(pending ? { pending: true } : {}) };
  return {
    from: { ...from.ref, packages: a.packages.length },
    to: { ...to.ref, packages: b.packages.length },
    format: a.format,
    ...diffPackageLists(a.packages, b.packages, a.format),
    files,
  };
}

/** The package delta between two selectors (deployments or commits). */
export async function packageDelta(
  report: StatusReport,
  fromSelector: string,
  toSelector: string,
  options: DeltaOptions = {},
): Promise<PackageDelta> {
  return packageDeltaBetween(
    report,
    resolveSnapshot(report, fromSelector),
    resolveSnapshot(report, toSelector),
    options,
  );
}

/** Keeps package deltas by their two commit checksums (the app cache). */
export interface PackageDeltaStore {
  getDelta(from: string, to: string): PackageDelta | undefined;
  putDelta(delta: PackageDelta): void;
}

/**
 * A delta from the store when it has one: commits never change, so a delta between two checksums
 * holds for good, and only the deployment facts (index, serial) are taken afresh from the report.
 * Otherwise `compute` (this process's engine, or the helper) and the answer is stored.
 */
export async function rememberedPackageDelta(
  report: StatusReport,
  fromSelector: string,
  toSelector: string,
  store: PackageDeltaStore | null,
  compute: () => Promise<PackageDelta>,
): Promise<PackageDelta> {
  const from = resolveSnapshot(report, fromSelector).ref;
  const to = resolveSnapshot(report, toSelector).ref;
  let cached: PackageDelta | undefined;
  try {
    cached = store?.getDelta(from.checksum, to.checksum);
  } catch {
    // an unreadable cache costs one computation, never the answer
  }
  if (cached) return { ...cached, from: { ...cached.from, ...from }, to: { ...cached.to, ...to } };
  const delta = await compute();
  try {
    store?.putDelta(delta);
  } catch {
    // read-only or full cache: computed again next time
  }
  return delta;
}

/** A snapshot's files for the changelog reader: a deployment's checkout, or a commit read from the repository. */
function snapshotReader(report: StatusReport, target: SnapshotTarget): TreeReader {
  return target.kind === 'deployment'
    ? folderReader(deploymentPath(report.sysroot, target.deployment))
    : commitReader(repoPath(report.sysroot), target.ref.checksum);
}

/**
 * The changelog entries of every upgraded and downgraded package between two selectors (deployments
 * or commits), with the CVEs they name. Asked for apart from the delta: the delta is cached by its
 * two checksums and shown at once, the entries are read only when someone looks at them.
 */
export async function packageChangelogs(
  report: StatusReport,
  fromSelector: string,
  toSelector: string,
  options: DeltaOptions = {},
): Promise<DeltaChangelogs> {
  const from = resolveSnapshot(report, fromSelector);
  const to = resolveSnapshot(report, toSelector);
  const delta = await packageDeltaBetween(report, from, to, options);
  return deltaChangelogs(snapshotReader(report, from), snapshotReader(report, to), delta);
}
