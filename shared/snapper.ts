import type {
  ConflictHunk,
  EtcFileSide,
  FileChangeCounts,
  FileChangeEntry,
  MergeResult,
  PackageFormat,
  SnapperSnapshotRef,
  TreeFileView,
} from './types.ts';

export type { FileChangeCounts, FileChangeEntry, FileChangeKind } from './types.ts';

/**
 * A snapper root as every side sees it: the engine reads it, the helper answers with it, the CLI
 * prints it and the renderer draws it. Here in shared/ because the renderer may import only shared/.
 */

export type SnapshotType = 'single' | 'pre' | 'post';

export interface SnapperSnapshot {
  /** 0 is "current": the live root itself, not a snapshot on disk. */
  number: number;
  type: SnapshotType;
  preNumber: number | null;
  /** ISO 8601 in UTC; null for snapshot 0, which has no date. */
  date: string | null;
  user: string;
  /** Cleanup algorithm (`number`, `timeline`, `empty-pre-post`), '' for none. */
  cleanup: string;
  description: string;
  userdata: Record<string, string>;
  /** snapper's own flags: the default subvolume (boots next) and the one mounted as the root. */
  default: boolean;
  active: boolean;
}

/**
 * One change: a lone snapshot, or a pre snapshot and its post. Either half of a pair may be
 * missing: a pre without a post is a run still going (or one that died), a post without its pre is
 * what is left once the pre was deleted.
 */
export type SnapperChange =
  | { kind: 'single'; number: number; description: string; snapshot: SnapperSnapshot }
  | {
      kind: 'pre-post';
      /** The lower number of the pair: where the change sorts. */
      number: number;
      description: string;
      userdata: Record<string, string>;
      pre: SnapperSnapshot | null;
      post: SnapperSnapshot | null;
    };

export interface SubvolumeRef {
  id: number;
  /** Path from the filesystem's top level, as btrfs prints it (`@/.snapshots/1/snapshot`). */
  path: string;
  /** The snapshot number when the subvolume is one of snapper's snapshots. */
  number: number | null;
}

export interface SnapperRootReport {
  root: string;
  config: string;
  /** Every snapshot snapper lists, 0 ("current") first, in number order. */
  snapshots: SnapperSnapshot[];
  changes: SnapperChange[];
  /** What boots next, from `btrfs subvolume get-default`. */
  defaultSubvolume: SubvolumeRef;
  /** What is mounted at the root: the running system on a booted machine. */
  activeSubvolume: SubvolumeRef & { readOnly: boolean };
}

/** A rollback made for the next boot that can still be undone: the new default has never run. */
export interface PendingRollback {
  /** The snapshot the rollback went back to. */
  target: number;
  /** What was the default before, and is again after undo. */
  previousDefault: number;
  /** Snapshots the rollback made (a backup and a writable copy), removed by undo. */
  made: number[];
}

/** What the helper answers for a snapper root. */
export interface SnapperStatus extends SnapperRootReport {
  backend: 'snapper';
  /** The live root is read-only (MicroOS, transactional-update): a rollback sets the default, no copy. */
  readOnlyRoot: boolean;
  pendingRollback: PendingRollback | null;
}

/** The files between two snapshots, as snapper's `status A..B` sees them. */
export interface SnapperFilesReport {
  from: SnapperSnapshotRef;
  to: SnapperSnapshotRef;
  entries: FileChangeEntry[];
  counts: FileChangeCounts;
  /** More entries differ than were sent (`entries` holds the first of them, in path order). */
  truncated: boolean;
}

/** One path of two snapshots, for a diff view. */
export type SnapperFileView = TreeFileView;

/** A config file that is not as its package installed it (`rpm -V`, `dpkg --verify`). */
export interface ConfigDriftItem {
  path: string;
  package: string;
  status: 'modified' | 'missing' | 'replaced' | 'unreadable' | 'unchecked';
  changes: ('content' | 'link' | 'mode' | 'owner')[];
  reason?: string;
}

export type MergeFileKind =
  | 'rpmnew'
  | 'rpmsave'
  | 'rpmorig'
  | 'dpkg-dist'
  | 'dpkg-old'
  | 'dpkg-new'
  | 'pacnew'
  | 'pacsave'
  | 'pacorig';

/** A merge a package manager left beside a config file (`sshd_config.rpmnew`), as three sides. */
export interface PendingMergeView {
  /** The config file, from the root: `/etc/ssh/sshd_config`. */
  path: string;
  /** The file left beside it: `/etc/ssh/sshd_config.rpmnew`. */
  mergePath: string;
  kind: MergeFileKind;
  owners: string[];
  /** The older snapshot the package's previous version of the file was found in; null when none holds it. */
  baseFrom: number | null;
  /** Why there is no base, when there is none. */
  baseReason?: string;
  base: EtcFileSide | null;
  local: EtcFileSide;
  upstream: EtcFileSide;
  merge: MergeResult;
  merged?: string;
  conflicts?: ConflictHunk[];
}

/** /etc of one snapshot against what its packages installed, and the merges they left pending. */
export interface SnapperEtcReport {
  snapshot: SnapperSnapshotRef;
  format: PackageFormat;
  /** The package database read, relative to the root. */
  source: string;
  entries: ConfigDriftItem[];
  unchangedCount: number;
  pending: PendingMergeView[];
  problems: string[];
}

export interface SnapperOperationResult {
  operation: string;
  message: string;
  status: SnapperStatus;
  /** For restore and merge apply: what `snapperUndoFile` takes to put the old file back. */
  backupId?: string;
}
