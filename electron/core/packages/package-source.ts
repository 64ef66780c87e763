import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { HindsightError } from '../../../shared/errors.ts';
import type { PackageEntry, PackageFormat } from '../../../shared/types.ts';
import { run } from '../exec.ts';
import { commitPackageList, readCommitObject } from '../ostree/commit-object.ts';
import { ostreeBinary } from '../ostree/ostree-cli.ts';
import type { SnapshotTarget } from '../ostree/selectors.ts';
import { deploymentPath, repoPath } from '../ostree/sysroot.ts';
import { DPKG_STATUS_CANDIDATES, parseDpkgStatus } from './dpkg-db.ts';
import { PACMAN_LOCAL_DB, readPacmanLocalDb } from './pacman-db.ts';
import { RPMDB_CANDIDATES, readRpmSqliteBuffer, readRpmSqliteDatabase } from './rpm-db.ts';

export interface PackageList {
  format: PackageFormat;
  packages: PackageEntry[];
  /** Where the list came from: a path inside the tree, or the commit's metadata. */
  source: string;
  /** Entries the reader skipped or could not fully describe, one sentence each (pacman only, so far). */
  problems?: string[];
}

/** A store of package lists by commit checksum; commits never change, so entries never expire. */
export interface PackageCache {
  get(checksum: string): PackageList | undefined;
  set(checksum: string, list: PackageList): void;
}

/** The in-process cache every reader shares; the app adds its persistent one on top. */
const memory = new Map<string, PackageList>();
const MEMORY_LIMIT = 64;

function remember(checksum: string, list: PackageList, cache?: PackageCache): PackageList {
  memory.set(checksum, list);
  if (memory.size > MEMORY_LIMIT) memory.delete(memory.keys().next().value as string);
  cache?.set(checksum, list);
  return list;
}

function parseDatabase(format: PackageFormat, bytes: Buffer, file: string | null): PackageEntry[] {
  if (format === 'dpkg') return parseDpkgStatus(bytes.toString('utf8'));
  return file ? readRpmSqliteDatabase(file) : readRpmSqliteBuffer(bytes);
}

const CANDIDATES: { format: PackageFormat; path: string }[] = [
  ...DPKG_STATUS_CANDIDATES.map((path) => ({ format: 'dpkg' as const, path })),
  ...RPMDB_CANDIDATES.map((path) => ({ format: 'rpm' as const, path })),
  // A folder of folders, not one file: read from a tree only (see readFromCommit).
  { format: 'pacman', path: PACMAN_LOCAL_DB },
];

/** A database path inside the tree, or null; a symlink that leads out of the tree (to the host's /var, say) does not count. */
export function databaseInTree(tree: string, relative: string): string | null {
  const file = join(tree, relative);
  if (!existsSync(file)) return null;
  try {
    const real = realpathSync(file);
    // `/` as the tree (a snapper root that is the running system) must not become the prefix `//`.
    const base = realpathSync(tree);
    return real.startsWith(base === '/' ? '/' : `${base}/`) ? real : null;
  } catch {
    return null;
  }
}

/**
 * The package list of a root folder (a deployment, a snapshot), or null when it has no database.
 * A database with no installed package gives way to a later one that has some: an Arch root with
 * dpkg installed from the AUR carries an empty dpkg status beside pacman's real database.
 */
export function readTreePackages(tree: string): PackageList | null {
  let empty: PackageList | null = null;
  for (const candidate of CANDIDATES) {
    const file = databaseInTree(tree, candidate.path);
    if (!file) continue;
    const list = readCandidate(candidate.format, candidate.path, file);
    if (list.packages.length > 0) return list;
    empty ??= list;
  }
  return empty;
}

function readCandidate(format: PackageFormat, source: string, file: string): PackageList {
  if (format === 'pacman') {
    const { packages, problems } = readPacmanLocalDb(file);
    return { format, packages, source, ...(problems.length > 0 ? { problems } : {}) };
  }
  let bytes: Buffer;
  try {
    bytes = format === 'dpkg' ? readFileSync(file) : Buffer.alloc(0);
  } catch (error) {
    throw new HindsightError(
      'unreadable',
      `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
  return { format, packages: parseDatabase(format, bytes, file), source };
}

/** Reads only the database file out of the repository (`ostree cat`), never a whole checkout. */
async function readFromCommit(repo: string, checksum: string): Promise<PackageList | null> {
  const bin = ostreeBinary();
  // pacman's database is a folder per package, which `ostree cat` cannot read in one go.
  for (const candidate of CANDIDATES.filter((c) => c.format !== 'pacman')) {
    const result = await run(bin, ['cat', `--repo=${repo}`, checksum, `/${candidate.path}`]);
    if (result.code !== 0) continue;
    return {
      format: candidate.format,
      packages: parseDatabase(candidate.format, result.stdout, null),
      source: candidate.path,
    };
  }
  return null;
}

/** The packages of a deployment or a commit: dpkg, rpm or pacman database, else rpm-ostree's commit metadata. */
export async function readPackages(
  sysroot: string,
  target: SnapshotTarget,
  cache?: PackageCache,
): Promise<PackageList> {
  const { checksum } = target.ref;
  const hit = memory.get(checksum) ?? cache?.get(checksum);
  if (hit) {
    memory.set(checksum, hit);
    return hit;
  }
  const repo = repoPath(sysroot);
  let list: PackageList | null = null;
  if (target.kind === 'deployment') list = readTreePackages(deploymentPath(sysroot, target.deployment));
  if (!list) {
    try {
      const fromMetadata = commitPackageList(readCommitObject(repo, checksum));
      if (fromMetadata)
        list = { format: 'rpm', packages: fromMetadata, source: 'commit metadata (rpmostree.rpmdb.pkglist)' };
    } catch {
      // no commit object (pruned): fall through to the tree
    }
  }
  if (!list && target.kind === 'commit') list = await readFromCommit(repo, checksum);
  if (!list) {
    throw new HindsightError(
      'no-package-database',
      `no dpkg, rpm or pacman database in ${checksum.slice(0, 10)} (looked in ${CANDIDATES.map((c) => `/${c.path}`).join(', ')})`,
    );
  }
  return remember(checksum, list, cache);
}
