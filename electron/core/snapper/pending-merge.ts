import { createHash } from 'node:crypto';
import { closeSync, readSync } from 'node:fs';
import { resolve } from 'node:path';
import { diffComm } from 'node-diff3';
import { HindsightError } from '../../../shared/errors.ts';
import type { PendingMergeView } from '../../../shared/snapper.ts';
import type { ConflictHunk, EtcFileSide, PackageFormat } from '../../../shared/types.ts';
import { openRegularFile } from '../confined-fs.ts';
import { lstatNode, type NodeInfo, readText } from '../etc/etc-tree.ts';
import {
  conflictBlock,
  joinLines,
  MARKER_YOURS,
  mergeLines,
  splitLines,
  type TextMerge,
} from '../etc/line-merge.ts';
import { MERGE_FILES, type PendingMerge, packageDrift, resolveInRoot } from '../etc/package-drift.ts';
import { type ConfigFileList, readConfigFiles } from '../packages/config-files.ts';
import {
  Backup,
  describePath,
  installFile,
  type LiveChange,
  liveFs,
  pathNames,
  readNodeBytes,
  removeNode,
  requireLiveRoot,
  snapshotToRead,
  undoBackup,
} from './restore-file.ts';
import type { SnapperRootReport } from './snapshots.ts';

/**
 * The merges a package manager left pending in a snapper root (`sshd_config.rpmnew` beside an
 * edited `sshd_config`), as three-way merges, and writing one's outcome into the running root.
 *
 * The base of a merge, the package's previous version of the file, is nowhere in the root any more:
 * rpm, dpkg and pacman keep only its digest, and only until the upgrade replaces it. snapper kept it,
 * though: an older snapshot whose package database recorded a digest for the path, and whose copy of
 * the file still has that digest, holds exactly what the package installed. The newest such snapshot
 * is the base (a digest equal to the new version's is the upgrade itself, not what it replaced).
 */

export type { PendingMergeView } from '../../../shared/snapper.ts';

export interface PendingMergeList {
  /** The snapshot read; 0 is the live root. */
  number: number;
  format: PackageFormat;
  merges: PendingMergeView[];
  problems: string[];
}

export interface ApplyMergeRequest {
  /** The config file (`/etc/ssh/sshd_config`) or its merge file (`…/sshd_config.rpmnew`). */
  path: string;
  take: 'merged' | 'local' | 'upstream';
  /** With `take: 'merged'`: the text a person resolved (the merged text, edited). */
  text?: string;
  /** Only 0, the live root; kept in the request so a caller cannot think it wrote a snapshot. */
  number?: number;
}

/** Everything pendingMerges knows of one merge, with the nodes an apply needs. */
interface Described {
  view: PendingMergeView;
  pending: PendingMerge;
  file: { at: Buffer | null; node: NodeInfo | null };
  mergeFile: { at: Buffer | null; node: NodeInfo | null };
}

/** The pending merges of snapshot `number` (0: the live root), each as a three-way merge. */
export async function pendingMerges(
  root: string,
  report: SnapperRootReport,
  number: number,
): Promise<PendingMergeList> {
  const { list, described } = await collect(root, report, number, null);
  return { number, format: list.format, merges: described.map((d) => d.view), problems: list.problems };
}

/** One pending merge, named by its config file or its merge file. */
export async function pendingMerge(
  root: string,
  report: SnapperRootReport,
  number: number,
  path: string,
): Promise<PendingMergeView> {
  const { described } = await collect(root, report, number, path);
  return (described[0] as Described).view;
}

function normalize(path: string): string {
  return `/${path
    .split('/')
    .filter((n) => n !== '' && n !== '.')
    .join('/')}`;
}

async function collect(
  root: string,
  report: SnapperRootReport,
  number: number,
  only: string | null,
): Promise<{ list: { format: PackageFormat; problems: string[] }; described: Described[] }> {
  const abs = resolve(root);
  if (abs !== report.root)
    throw new HindsightError('bad-request', `the report is of ${report.root}, not of ${abs}`);
  if (!Number.isSafeInteger(number) || number < 0)
    throw new HindsightError('bad-selector', `not a snapshot number: ${number}`);
  const folder = snapshotToRead(abs, report, number);
  const drift = await packageDrift(folder);
  let pending = drift.pending;
  if (only !== null) {
    const wanted = normalize(only);
    pending = pending.filter((p) => p.path === wanted || p.basePath === wanted);
    if (pending.length === 0)
      throw new HindsightError('bad-path', `no pending merge for ${wanted} in ${where(number)}`);
  }
  const finder = new BaseFinder(abs, report, number);
  const problems = [...drift.problems];
  const described = pending.map((p) => describeMerge(folder, p, finder));
  problems.push(...finder.problems);
  return { list: { format: drift.format, problems }, described };
}

const where = (number: number): string => (number === 0 ? 'the running root' : `snapshot ${number}`);

function locate(head: Buffer, path: string): { at: Buffer | null; node: NodeInfo | null } {
  const at = resolveInRoot(head, path);
  return { at, node: at ? lstatNode(at) : null };
}

function sideOf(at: Buffer | null, node: NodeInfo | null): EtcFileSide {
  if (!at || !node) return { meta: null, content: 'none' };
  const meta = {
    type: node.type,
    mode: node.mode,
    uid: node.uid,
    gid: node.gid,
    size: node.size,
    ...(node.target !== undefined ? { target: node.target } : {}),
  };
  const read = readText(at, node);
  return read.kind === 'text'
    ? { meta, content: 'text', text: read.text ?? '' }
    : { meta, content: read.kind };
}

function describeMerge(folder: string, pending: PendingMerge, finder: BaseFinder): Described {
  const head = Buffer.from(folder);
  const file = locate(head, pending.basePath);
  const mergeFile = locate(head, pending.path);
  // .rpmsave and its kin hold the local version moved aside; the file in place is the package's.
  const upstreamHeld = MERGE_FILES[pending.kind].holds === 'upstream';
  const localSide = upstreamHeld ? file : mergeFile;
  const upstreamSide = upstreamHeld ? mergeFile : file;
  const local = sideOf(localSide.at, localSide.node);
  const upstream = sideOf(upstreamSide.at, upstreamSide.node);
  const found = finder.find(pending.basePath, upstreamSide);
  const base = 'number' in found ? sideOf(found.at, found.node) : null;

  const view: PendingMergeView = {
    path: pending.basePath,
    mergePath: pending.path,
    kind: pending.kind,
    owners: pending.owners,
    baseFrom: 'number' in found ? found.number : null,
    ...('reason' in found ? { baseReason: found.reason } : {}),
    base,
    local,
    upstream,
    merge: 'not-text',
  };
  if (local.content === 'text' && upstream.content === 'text' && (!base || base.content === 'text')) {
    const result = base
      ? mergeLines(base.text ?? '', local.text ?? '', upstream.text ?? '')
      : mergeWithoutBase(local.text ?? '', upstream.text ?? '');
    view.merge = result.conflicts.length > 0 ? 'conflict' : 'clean';
    view.merged = result.merged;
    if (result.conflicts.length > 0) view.conflicts = result.conflicts;
  }
  return { view, pending, file, mergeFile };
}

/**
 * Without a base nothing says which side changed a line, so every line the two sides do not share
 * is a conflict; the lines they share are kept. (A diff3 against an empty base would call the whole
 * file one conflict, shared lines too.)
 */
function mergeWithoutBase(local: string, upstream: string): TextMerge {
  const l = splitLines(local);
  const u = splitLines(upstream);
  const out: string[] = [];
  const conflicts: ConflictHunk[] = [];
  for (const part of diffComm(l.lines, u.lines)) {
    if (part.common) out.push(...part.common);
    else {
      const a = part.buffer1 ?? [];
      const b = part.buffer2 ?? [];
      conflicts.push({ line: out.length + 1, base: [], local: a, upstream: b });
      out.push(...conflictBlock(a, [], b));
    }
  }
  return { merged: joinLines(out, out.length > 0 && (l.finalNewline || u.finalNewline)), conflicts };
}

type BaseFound = { number: number; at: Buffer; node: NodeInfo } | { reason: string };

/** Looks through older snapshots, newest first, for the package's previous version of a path. */
class BaseFinder {
  readonly problems: string[] = [];
  private readonly lists = new Map<number, ConfigFileList | null>();
  private readonly candidates: number[];

  constructor(
    private readonly root: string,
    private readonly report: SnapperRootReport,
    number: number,
  ) {
    const active = report.activeSubvolume;
    // A writable running snapshot's folder is the live root: today's files, not history.
    const runningIsLive = !active.readOnly && active.number !== null;
    const isLive = number === 0 || (runningIsLive && number === active.number);
    this.candidates = report.snapshots
      .map((s) => s.number)
      .filter((n) => n > 0 && (isLive || n < number) && !(runningIsLive && n === active.number))
      .sort((a, b) => b - a);
  }

  private configFiles(number: number): ConfigFileList | null {
    if (!this.lists.has(number)) {
      let list: ConfigFileList | null = null;
      try {
        list = readConfigFiles(snapshotToRead(this.root, this.report, number));
      } catch (error) {
        this.problems.push(`snapshot ${number}: cannot read its package database (${message(error)})`);
      }
      this.lists.set(number, list);
    }
    return this.lists.get(number) ?? null;
  }

  find(path: string, upstream: { at: Buffer | null; node: NodeInfo | null }): BaseFound {
    if (this.candidates.length === 0) return { reason: 'there is no older snapshot to look in' };
    const upstreamDigests = new Map<string, string | null>();
    const upstreamDigest = (algo: string): string | null => {
      if (!upstreamDigests.has(algo)) {
        const { at, node } = upstream;
        upstreamDigests.set(algo, at && node?.type === 'file' ? digestOf(at, algo) : null);
      }
      return upstreamDigests.get(algo) ?? null;
    };
    let recordedAnywhere = false;
    for (const number of this.candidates) {
      const list = this.configFiles(number);
      if (!list) continue;
      const recorded = list.files.filter(
        (f) => f.path === path && f.type === 'file' && f.digest && !f.ghost && f.state !== 'not-installed',
      );
      for (const file of recorded) {
        const digest = file.digest as { algo: string; hex: string };
        recordedAnywhere = true;
        // The upgrade's own version, recorded in snapshots taken after it: not what it replaced.
        if (upstreamDigest(digest.algo) === digest.hex) continue;
        const folder = snapshotToRead(this.root, this.report, number);
        let copy: { at: Buffer | null; node: NodeInfo | null };
        try {
          copy = locate(Buffer.from(folder), path);
        } catch (error) {
          this.problems.push(`snapshot ${number}: cannot look at ${path} (${message(error)})`);
          continue;
        }
        if (!copy.at || copy.node?.type !== 'file') continue;
        if (digestOf(copy.at, digest.algo) === digest.hex) return { number, at: copy.at, node: copy.node };
      }
    }
    return {
      reason: recordedAnywhere
        ? `no older snapshot holds ${path} as its package installed it (every copy there was already edited)`
        : `no older snapshot's package database records a digest for ${path}`,
    };
  }
}

function digestOf(path: Buffer, algo: string): string | null {
  let fd: number;
  try {
    fd = openRegularFile(path);
  } catch {
    return null;
  }
  try {
    const hash = createHash(algo);
    const chunk = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      hash.update(chunk.subarray(0, n));
    }
    return hash.digest('hex');
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const MARKER_LINE = new RegExp(`^${MARKER_YOURS.replace(/[|()]/g, '\\$&')}$`, 'm');

/**
 * Writes the chosen outcome of one pending merge into the live root's config file (atomically, with
 * the file's mode, owner and group) and removes the merge file, as rpmconf does; both are backed up
 * under `backupDir` first, and undoPendingMerge puts both back.
 */
export async function applyPendingMerge(
  root: string,
  report: SnapperRootReport,
  request: ApplyMergeRequest,
  backupDir: string,
): Promise<LiveChange> {
  if (request.number !== undefined && request.number !== 0)
    throw new HindsightError(
      'refused',
      `a merge is applied in the running root (snapshot 0) only; snapshot ${request.number} stays as it was taken`,
    );
  if (!['merged', 'local', 'upstream'].includes(request.take))
    throw new HindsightError(
      'bad-request',
      `take must be merged, local or upstream, not ${String(request.take)}`,
    );
  if (request.text !== undefined && request.take !== 'merged')
    throw new HindsightError('bad-request', 'text goes with take: merged only');
  const abs = requireLiveRoot(root, report);
  const { described } = await collect(abs, report, 0, request.path);
  const { view, pending, file, mergeFile } = described[0] as Described;

  const fileNames = pathNames(view.path);
  const mergeNames = pathNames(view.mergePath);
  // Reading resolves links in folders inside the root; writing takes no link at all.
  for (const names of [fileNames, mergeNames])
    if (liveFs.checkFolders(abs, names, 'the running root') < names.length - 1)
      throw new HindsightError('bad-path', `the folder of ${view.path} is gone`);
  const fileAt = liveFs.under(abs, fileNames);
  const mergeAt = liveFs.under(abs, mergeNames);
  if (mergeFile.node?.type !== 'file')
    throw new HindsightError('refused', `${view.mergePath} is not a regular file; merge it by hand`);
  if (file.node && file.node.type !== 'file')
    throw new HindsightError(
      'refused',
      `${view.path} is not a regular file (a ${file.node.type}); not replaced`,
    );
  const fileNode = liveFs.lstatAt(fileAt);
  const mergeNode = liveFs.lstatAt(mergeAt);
  if (mergeNode?.type !== 'file' || (fileNode && fileNode.type !== 'file'))
    throw new HindsightError('refused', `${view.path} changed while Hindsight read it; try again`);

  const upstreamHeld = MERGE_FILES[pending.kind].holds === 'upstream';
  // Which of the two files on disk holds the chosen side; null for merged text.
  const fromDisk =
    request.take === 'merged' ? null : (request.take === 'upstream') === upstreamHeld ? 'merge' : 'file';
  let bytes: Buffer | null = null;
  if (request.take === 'merged') {
    if (request.text !== undefined) {
      if (MARKER_LINE.test(request.text))
        throw new HindsightError(
          'refused',
          `conflicts-left: the text for ${view.path} still has conflict markers`,
        );
      bytes = Buffer.from(request.text, 'utf8');
    } else if (view.merge === 'conflict') {
      const n = view.conflicts?.length ?? 0;
      throw new HindsightError(
        'refused',
        `conflicts-left: ${view.path} has ${n} conflict${n === 1 ? '' : 's'} left; resolve them (send the text) or take a side`,
      );
    } else if (view.merge !== 'clean' || view.merged === undefined) {
      throw new HindsightError('refused', `${view.path} cannot be merged line by line; take a side`);
    } else bytes = Buffer.from(view.merged, 'utf8');
  } else if (fromDisk === 'file' && !fileNode) {
    throw new HindsightError(
      'refused',
      `${view.path} does not exist; there is no ${request.take} side to take`,
    );
  }

  const attrsFrom = fileNode ?? mergeNode;
  const backup = new Backup(backupDir, 'pending-merge', abs);
  backup.save(fileAt, Buffer.from(view.path), fileNode);
  backup.save(mergeAt, Buffer.from(view.mergePath), mergeNode);
  const name = view.mergePath.slice(view.mergePath.lastIndexOf('/') + 1);
  const what =
    request.take === 'merged'
      ? `Wrote the merged ${view.path}`
      : fromDisk === 'file'
        ? `Kept ${view.path} as it is`
        : `Put ${name} in place of ${view.path}`;
  const message = `${what} and removed ${name}; backup ${backup.id}`;
  backup.prepare(message);
  const attrs = { mode: attrsFrom.mode, uid: attrsFrom.uid, gid: attrsFrom.gid };
  if (bytes) installFile(fileAt, bytes, attrs);
  else if (fromDisk === 'merge') {
    // The package's (or the saved) bytes unchanged, and its mtime: rpm -V then sees them as installed.
    installFile(fileAt, readNodeBytes(mergeAt, mergeNode), { ...attrs, mtimeMs: mergeNode.mtimeMs });
  }
  removeNode(mergeAt);
  backup.applied(abs);
  return { message, backupId: backup.id, ...describePath(fileNames) };
}

/** Puts back both the config file and the merge file an apply changed. */
export async function undoPendingMerge(
  root: string,
  backupDir: string,
  backupId: string,
): Promise<LiveChange> {
  return undoBackup(root, backupDir, backupId, 'pending-merge');
}
