import { closeSync, readFileSync } from 'node:fs';
import { HindsightError } from '../../../shared/errors.ts';
import type {
  ConfigDriftItem,
  FileChangeCounts,
  FileChangeEntry,
  MergeFileKind,
  SnapperFilesReport,
  SnapperRootReport,
} from '../../../shared/snapper.ts';
import type { FileMeta, FileType, PackageFormat, SnapperSnapshotRef } from '../../../shared/types.ts';
import { openRegularFile } from '../confined-fs.ts';
import { type ConfigDriftEntry, packageDrift, resolveInRoot } from '../etc/package-drift.ts';
import { compareTrees, displayPath, type EntryMeta } from '../files/tree-compare.ts';
import { printable } from '../ostree/selectors.ts';
import { resolveSnapshotNumber, snapshotRef } from './backend.ts';
import { snapshotFolder } from './snapshots.ts';

/**
 * What the CLI reads of a snapper root's files: the files between two snapshots (as `snapper status
 * A..B` lists them) and one snapshot's config files against its package database (as `rpm -V`).
 * Both read snapshot folders only and write nothing, unlike `snapper status`, which leaves its
 * comparison beside the newer snapshot.
 */

const SLASH = 0x2f;

/**
 * A subtree argument as a path relative to the snapshot's root: `etc`, `/etc` and `/etc/` are the
 * same; `/` (or `.`) is everything. `..` is refused rather than resolved: it would name something
 * outside the subtree the user meant, or outside the snapshot.
 */
export function subtreeOf(arg: string): string {
  if (arg === '' || arg.includes('\0'))
    throw new HindsightError('bad-request', `not a path: "${printable(arg)}"`);
  const names = arg.split('/').filter((n) => n !== '' && n !== '.');
  if (names.includes('..'))
    throw new HindsightError('bad-request', `a path inside the snapshots, without "..": "${printable(arg)}"`);
  return names.join('/');
}

function within(path: Buffer, subtrees: Buffer[]): boolean {
  if (subtrees.length === 0) return true;
  return subtrees.some(
    (s) =>
      s.length === 0 ||
      path.equals(s) ||
      (path.length > s.length && path[s.length] === SLASH && path.subarray(0, s.length).equals(s)),
  );
}

function fileType(kind: EntryMeta['kind']): FileType {
  return kind === 'dir' ? 'directory' : kind;
}

function fileMeta(meta: EntryMeta | null): FileMeta | null {
  if (!meta) return null;
  return {
    type: fileType(meta.kind),
    mode: meta.mode & 0o7777,
    uid: meta.uid,
    gid: meta.gid,
    size: meta.size,
    ...(meta.target ? { target: meta.target.toString('utf8') } : {}),
  };
}

/** A path as the JSON carries it: from the root, with the exact bytes beside it when they are not UTF-8. */
export function pathFields(rel: Buffer): { path: string; pathBase64?: string } {
  const full = Buffer.concat([Buffer.from('/'), rel]);
  const text = full.toString('utf8');
  if (Buffer.from(text, 'utf8').equals(full)) return { path: text };
  return { path: displayPath(full), pathBase64: full.toString('base64') };
}

export interface SnapshotFilesResult extends SnapperFilesReport {
  /** The subtrees compared, relative to the root ('' is the whole tree); empty: everything. */
  paths: string[];
  /**
   * Nested subvolumes and mount points met (`.snapshots`, `home`, `var` on openSUSE): neither side
   * of them is compared, as snapper's own comparison does not enter them.
   */
  notEntered: number;
}

/** Every path that differs between two snapshots, within the given subtrees (none: everywhere). */
export function snapshotFiles(
  report: SnapperRootReport,
  fromSelector: string,
  toSelector: string,
  subtreeArgs: readonly string[] = [],
): SnapshotFilesResult {
  const paths = subtreeArgs.map(subtreeOf);
  const [from, to] = [fromSelector, toSelector].map((s) => resolveSnapshotNumber(report, s)) as [
    number,
    number,
  ];
  const subtrees = paths.map((p) => Buffer.from(p));
  // One walk of the whole tree, filtered: a subtree that is a link, a mount point or missing on
  // one side is then listed exactly as in the full comparison.
  const comparison = compareTrees(snapshotFolder(report.root, from), snapshotFolder(report.root, to));
  const entries: FileChangeEntry[] = [];
  const counts: FileChangeCounts = { added: 0, removed: 0, modified: 0 };
  for (const change of comparison) {
    if (!within(change.path, subtrees)) continue;
    counts[change.status]++;
    entries.push({
      ...pathFields(change.path),
      status: change.status,
      changes: change.changes,
      from: fileMeta(change.from),
      to: fileMeta(change.to),
    });
  }
  return {
    from: refOf(report, from),
    to: refOf(report, to),
    paths,
    entries,
    counts,
    notEntered: comparison.stats.boundaries,
    truncated: false,
  };
}

function refOf(report: SnapperRootReport, number: number): SnapperSnapshotRef {
  const s = report.snapshots.find((x) => x.number === number);
  if (!s) throw new HindsightError('no-such-deployment', `no snapshot ${number} in ${report.root}`);
  return snapshotRef(s);
}

/** A config file not as installed, with rpm -V's letters for what differs. */
export interface SnapshotDriftItem extends ConfigDriftItem {
  /** rpm -V's letters for the checks that failed: 5 content, L link, M mode, U user, G group. */
  letters: string;
}

/** A merge file left beside a config file, named as PendingMergeView names them. */
export interface SnapshotPendingMerge {
  /** The config file: `/etc/ssh/sshd_config`. */
  path: string;
  /** The file left beside it: `/etc/ssh/sshd_config.rpmnew`. */
  mergePath: string;
  kind: MergeFileKind;
  /** `upstream`: the package's new version, not merged yet; `previous`: a local version moved aside. */
  holds: 'upstream' | 'previous';
  owners: string[];
  type: FileType;
  /** The config file's own drift, when the database records it. */
  baseStatus: ConfigDriftEntry['status'] | null;
}

export interface SnapshotDriftResult {
  snapshot: SnapperSnapshotRef;
  format: PackageFormat;
  source: string;
  entries: SnapshotDriftItem[];
  unchangedCount: number;
  pending: SnapshotPendingMerge[];
  problems: string[];
}

/** name → id from a passwd or group file inside the root; empty when there is none. */
function accountIds(head: Buffer, file: string): Map<string, number> {
  const out = new Map<string, number>();
  try {
    const at = resolveInRoot(head, file);
    if (!at) return out;
    const fd = openRegularFile(at);
    let text: string;
    try {
      text = readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
    for (const line of text.split('\n')) {
      const [name, , id] = line.split(':');
      if (name && id !== undefined && /^\d+$/.test(id) && !out.has(name)) out.set(name, Number(id));
    }
  } catch {
    // No accounts: the owner change is then shown as both letters.
  }
  if (!out.has('root')) out.set('root', 0);
  return out;
}

/**
 * package-drift folds user and group into one `owner` change; rpm -V shows U and G apart, so they
 * are told apart here by the root's own account names, as rpm maps them.
 */
function lettersOf(entry: ConfigDriftEntry, users: Map<string, number>, groups: Map<string, number>): string {
  let out = '';
  if (entry.changes.includes('content')) out += '5';
  if (entry.changes.includes('link')) out += 'L';
  if (entry.changes.includes('mode')) out += 'M';
  if (entry.changes.includes('owner')) {
    const uid = entry.recorded.user === undefined ? undefined : users.get(entry.recorded.user);
    const gid = entry.recorded.group === undefined ? undefined : groups.get(entry.recorded.group);
    const user = uid !== undefined && uid !== entry.local?.uid;
    const group = gid !== undefined && gid !== entry.local?.gid;
    out += user || !group ? 'U' : '';
    out += group || !user ? 'G' : '';
  }
  return out;
}

/** The config files of one snapshot (0: the live root) against its own package database. */
export async function snapshotDrift(
  report: SnapperRootReport,
  selector: string,
): Promise<SnapshotDriftResult> {
  const number = resolveSnapshotNumber(report, selector);
  const folder = snapshotFolder(report.root, number);
  const drift = await packageDrift(folder);
  const head = Buffer.from(folder);
  const users = accountIds(head, '/etc/passwd');
  const groups = accountIds(head, '/etc/group');
  return {
    snapshot: refOf(report, number),
    format: drift.format,
    source: drift.source,
    entries: drift.entries.map((e) => ({
      path: e.path,
      package: e.package,
      status: e.status as ConfigDriftItem['status'],
      changes: e.changes,
      letters: lettersOf(e, users, groups),
      ...(e.reason ? { reason: e.reason } : {}),
    })),
    unchangedCount: drift.unchangedCount,
    pending: drift.pending.map((p) => ({
      path: p.basePath,
      mergePath: p.path,
      kind: p.kind,
      holds: p.holds,
      owners: p.owners,
      type: p.type,
      baseStatus: p.baseStatus,
    })),
    problems: drift.problems,
  };
}
