import { createHash } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { HindsightError } from '../../../shared/errors.ts';
import type { PackageEntry } from '../../../shared/types.ts';
import type { GVariantBoxed, GVariantPlain, GVariantValue } from './gvariant.ts';
import { gvariantToPlain, parseGVariant } from './gvariant.ts';

/**
 * Commit objects read straight from the repository files: no `ostree` process per commit, so
 * listing a long history or every deployment's facts stays fast. The layout is the same in every
 * repo mode (bare, bare-user, archive): metadata objects are never compressed.
 */

export interface CommitInfo {
  checksum: string;
  /** The parent's checksum; it may be absent from the repository (partial history). */
  parent: string | null;
  subject: string;
  body: string;
  /** ISO 8601, UTC. */
  timestamp: string;
  /** The `version` metadata string, when set. */
  version: string | null;
  /** The commit metadata as plain JSON-safe data, per `gvariantToPlain` (ay → hex, unsafe 64-bit → string). */
  metadata: Record<string, GVariantPlain>;
  /** Checksum of the root dirtree object. */
  rootTree: string;
  /** Checksum of the root dirmeta object. */
  rootMeta: string;
}

const CHECKSUM = /^[0-9a-f]{64}$/;
const COMMIT_TYPE = '(a{sv}aya(say)sstayay)';
/** OSTREE_MAX_METADATA_SIZE: ostree refuses larger metadata objects, so anything bigger is not one. */
const MAX_METADATA_SIZE = 128 * 1024 * 1024;
const MAX_REF_DEPTH = 64;

const short = (checksum: string): string => checksum.slice(0, 10);

function assertChecksum(checksum: string): void {
  if (!CHECKSUM.test(checksum)) {
    const shown = checksum.length > 80 ? `${checksum.slice(0, 80)}…` : checksum;
    throw new HindsightError(
      'bad-selector',
      `"${shown.replace(/[^\x20-\x7e]/g, '?')}" is not a commit checksum`,
    );
  }
}

function objectPath(repo: string, checksum: string, suffix: string): string {
  assertChecksum(checksum);
  return join(repo, 'objects', checksum.slice(0, 2), `${checksum.slice(2)}.${suffix}`);
}

/**
 * Whether a commit's tree is only partly in the repository: pulled with --commit-metadata-only or
 * --subpath (as an update check does), libostree leaves `state/CHECKSUM.commitpartial` until the
 * whole tree is there. Its metadata and the pulled files can be read; its other files cannot.
 */
export function commitIsPartial(repo: string, checksum: string): boolean {
  try {
    statSync(join(repo, 'state', `${checksum}.commitpartial`));
    return true;
  } catch {
    return false;
  }
}

export function commitObjectPath(repo: string, checksum: string): string {
  return objectPath(repo, checksum, 'commit');
}

/** The object's bytes, or null when it is not in the repository. */
function readObjectFile(path: string, what: string): Buffer | null {
  try {
    const size = statSync(path).size;
    if (size > MAX_METADATA_SIZE)
      throw new HindsightError('unreadable', `${what} is too large (${size} bytes)`);
    return readFileSync(path);
  } catch (error) {
    if (error instanceof HindsightError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw new HindsightError('io-error', `cannot read ${what}: ${(error as Error).message}`);
  }
}

function tryReadCommit(repo: string, checksum: string): CommitInfo | null {
  const bytes = readObjectFile(commitObjectPath(repo, checksum), `commit ${short(checksum)}`);
  if (!bytes) return null;
  // The name is the SHA-256 of the content, so a mismatch is a damaged or truncated file.
  if (createHash('sha256').update(bytes).digest('hex') !== checksum) {
    throw new HindsightError(
      'unreadable',
      `commit ${short(checksum)} is corrupt (its checksum does not match)`,
    );
  }
  return parseCommit(checksum, bytes);
}

function parseCommit(checksum: string, bytes: Buffer): CommitInfo {
  let value: GVariantValue;
  try {
    value = parseGVariant(COMMIT_TYPE, bytes);
  } catch (error) {
    if (error instanceof HindsightError && error.code === 'unreadable') {
      throw new HindsightError('unreadable', `commit ${short(checksum)}: ${error.message}`, { cause: error });
    }
    throw error;
  }
  // The type string fixes this shape; the parser has already checked every element against it.
  const [metadata, parent, , subject, body, rawTimestamp, rootTree, rootMeta] = value as [
    Map<string, GVariantBoxed>,
    Buffer,
    unknown,
    string,
    string,
    bigint,
    Buffer,
    Buffer,
  ];
  if (parent.length !== 0 && parent.length !== 32) throw badField(checksum, 'parent checksum');
  if (rootTree.length !== 32) throw badField(checksum, 'root tree checksum');
  if (rootMeta.length !== 32) throw badField(checksum, 'root metadata checksum');
  const plain = gvariantToPlain(metadata) as Record<string, GVariantPlain>;
  const version = metadata.get('version');
  return {
    checksum,
    parent: parent.length === 0 ? null : parent.toString('hex'),
    subject,
    body,
    timestamp: isoTimestamp(checksum, rawTimestamp),
    version: version && typeof version.value === 'string' ? version.value : null,
    metadata: plain,
    rootTree: rootTree.toString('hex'),
    rootMeta: rootMeta.toString('hex'),
  };
}

function badField(checksum: string, field: string): HindsightError {
  return new HindsightError('unreadable', `commit ${short(checksum)} has a malformed ${field}`);
}

/** ostree stores the timestamp big-endian whatever the host (GUINT64_TO_BE), unlike the rest. */
function isoTimestamp(checksum: string, raw: bigint): string {
  const swapped = Buffer.alloc(8);
  swapped.writeBigUInt64LE(raw);
  const seconds = swapped.readBigUInt64BE();
  // Date's range ends at 8.64e15 ms; beyond it the value cannot be a real commit time.
  if (seconds > 8_640_000_000_000n) throw badField(checksum, 'timestamp');
  return new Date(Number(seconds) * 1000).toISOString();
}

/** One commit's facts. Missing → 'no-such-commit'; damaged → 'unreadable'. */
export function readCommitObject(repo: string, checksum: string): CommitInfo {
  const info = tryReadCommit(repo, checksum);
  if (!info) throw new HindsightError('no-such-commit', `no commit ${short(checksum)} in the repository`);
  return info;
}

/**
 * The commit and its ancestors, newest first, as far as the repository holds them (a pulled
 * commit often lacks its parents). When the list ends early, the last entry's `parent` is
 * non-null: older history exists but is not stored here.
 */
export function readCommitHistory(repo: string, checksum: string, limit = 1000): CommitInfo[] {
  const history: CommitInfo[] = [];
  let current: CommitInfo | null = readCommitObject(repo, checksum);
  const seen = new Set<string>();
  while (current && history.length < limit && !seen.has(current.checksum)) {
    seen.add(current.checksum);
    history.push(current);
    current = current.parent ? tryReadCommit(repo, current.parent) : null;
  }
  return history;
}

/** The detached metadata (`.commitmeta`, signatures live here) as plain data, or null when there is none. */
export function readCommitDetachedMetadata(
  repo: string,
  checksum: string,
): Record<string, GVariantPlain> | null {
  const bytes = readObjectFile(
    objectPath(repo, checksum, 'commitmeta'),
    `detached metadata of ${short(checksum)}`,
  );
  if (!bytes) return null;
  try {
    return gvariantToPlain(parseGVariant('a{sv}', bytes)) as Record<string, GVariantPlain>;
  } catch (error) {
    if (error instanceof HindsightError && error.code === 'unreadable') {
      throw new HindsightError('unreadable', `detached metadata of ${short(checksum)}: ${error.message}`);
    }
    throw error;
  }
}

/**
 * Every ref with the commit it points to: local branches by name (`debian/stable`), remote
 * ones as `remote:ref`. Alias refs (symlinks) resolve to their target's commit. Files that do
 * not hold a checksum are skipped. Collection mirrors (`refs/mirrors`) are not listed.
 */
export function readRefs(repo: string): Record<string, string> {
  const found: [string, string][] = [];
  walkRefs(join(repo, 'refs', 'heads'), '', 0, (name, checksum) => found.push([name, checksum]));
  const remotesDir = join(repo, 'refs', 'remotes');
  for (const remote of listDir(remotesDir)) {
    if (!remote.isDirectory() || remote.name.startsWith('.')) continue;
    walkRefs(join(remotesDir, remote.name), '', 0, (name, checksum) =>
      found.push([`${remote.name}:${name}`, checksum]),
    );
  }
  found.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(found);
}

function listDir(dir: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw new HindsightError('io-error', `cannot list ${dir}: ${(error as Error).message}`);
  }
}

function walkRefs(
  dir: string,
  prefix: string,
  depth: number,
  add: (name: string, checksum: string) => void,
): void {
  if (depth > MAX_REF_DEPTH) return;
  for (const entry of listDir(dir)) {
    // ostree writes refs through hidden temporary files; a ref name never starts with a dot.
    if (entry.name.startsWith('.')) continue;
    const name = `${prefix}${entry.name}`;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      walkRefs(path, `${name}/`, depth + 1, add);
      continue;
    }
    if (!entry.isFile() && !entry.isSymbolicLink()) continue;
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // A dangling alias, or a symlink to a folder, is not a ref.
      if (code === 'ENOENT' || code === 'EISDIR' || code === 'ELOOP') continue;
      throw new HindsightError('io-error', `cannot read ref ${name}: ${(error as Error).message}`);
    }
    const checksum = text.trim();
    if (CHECKSUM.test(checksum)) add(name, checksum);
  }
}

/**
 * The package list rpm-ostree stores in `rpmostree.rpmdb.pkglist` (a(stsss): name, epoch,
 * version, release, arch), with versions as `[epoch:]version-release`; null when the commit
 * has none.
 */
export function commitPackageList(info: CommitInfo): PackageEntry[] | null {
  const list = info.metadata['rpmostree.rpmdb.pkglist'];
  if (list === undefined) return null;
  const malformed = () =>
    new HindsightError(
      'unreadable',
      `commit ${short(info.checksum)} has a malformed rpmostree.rpmdb.pkglist`,
    );
  if (!Array.isArray(list)) throw malformed();
  return list.map((entry) => {
    if (!Array.isArray(entry) || entry.length !== 5) throw malformed();
    const [name, epoch, version, release, arch] = entry;
    if (
      typeof name !== 'string' ||
      typeof version !== 'string' ||
      typeof release !== 'string' ||
      typeof arch !== 'string' ||
      !(typeof epoch === 'number' || (typeof epoch === 'string' && /^\d+$/.test(epoch)))
    ) {
      throw malformed();
    }
    const epochPrefix = epoch === 0 || epoch === '0' ? '' : `${epoch}:`;
    return { name, version: `${epochPrefix}${version}-${release}`, arch };
  });
}
