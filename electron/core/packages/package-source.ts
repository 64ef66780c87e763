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
import { RPMDB_CANDIDATES, readRpmSqliteBuffer, readRpmSqliteDatabase } from './rpm-db.ts';

export interface PackageList {
  format: PackageFormat;
  packages: PackageEntry[];
  /** Where the list came from: a path inside the tree, or the commit's metadata. */
  source: string;
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
];

/** A database path inside the tree, or null; a symlink that leads out of the tree (to the host's /var, say) does not count. */
function confined(tree: string, relative: string): string | null {
  const file = join(tree, relative);
  if (!existsSync(file)) return null;
  try {
    const real = realpathSync(file);
    return real.startsWith(`${realpathSync(tree)}/`) ? real : null;
  } catch {
    return null;
  }
}

function readFromTree(tree: string): PackageList | null {
  for (const candidate of CANDIDATES) {
    const file = confined(tree, candidate.path);
    if (!file) continue;
    let bytes: Buffer;
    try {
      bytes = candidate.format === 'dpkg' ? readFileSync(file) : Buffer.alloc(0);
    } catch (error) {
      throw new HindsightError(
        'unreadable',
        `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
      );
    }
    return {
      format: candidate.format,
      packages: parseDatabase(candidate.format, bytes, file),
      source: candidate.path,
    };
  }
  return null;
}

/** Reads only the database file out of the repository (`ostree cat`), never a whole checkout. */
async function readFromCommit(repo: string, checksum: string): Promise<PackageList | null> {
  const bin = ostreeBinary();
  for (const candidate of CANDIDATES) {
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

/** The packages of a deployment or a commit: dpkg or rpm database, else rpm-ostree's commit metadata. */
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
  if (target.kind === 'deployment') list = readFromTree(deploymentPath(sysroot, target.deployment));
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
      `no dpkg or rpm database in ${checksum.slice(0, 10)} (looked in ${CANDIDATES.map((c) => `/${c.path}`).join(', ')})`,
    );
  }
  return remember(checksum, list, cache);
}
