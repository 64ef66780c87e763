/** Plain data that crosses every boundary: engine → CLI JSON, helper → main, main → renderer. */

export interface Deployment {
  index: number;
  stateroot: string;
  checksum: string;
  serial: number;
  version: string | null;
  /** ISO 8601, from the commit. */
  timestamp: string | null;
  subject: string | null;
  /**
   * What the deployment follows: its origin refspec (`remote:ref` or `ref`; rpm-ostree's
   * `baserefspec` when it layers packages), else its container image reference; null when none.
   */
  origin: string | null;
  /**
   * Packages rpm-ostree layers on the image (`[packages] requested` in the origin, local RPMs by
   * NEVRA), in the origin's order; [] on plain OSTree.
   */
  layeredPackages: string[];
  /**
   * The container image the deployment follows (`container-image-reference` in the origin, e.g.
   * `ostree-unverified-registry:quay.io/fedora/fedora-coreos:stable`), null for an OSTree ref.
   */
  imageReference: string | null;
  /**
   * The tool that owns this deployment's upgrades when its origin is more than an OSTree ref:
   * `rpm-ostree` for layered packages or overrides, `bootc` for a container image (rpm-ostree
   * handles those too). `ostree admin upgrade/deploy` would drop the layering or cannot pull the
   * image, so Hindsight refuses them; null on plain OSTree.
   */
  managedBy: 'rpm-ostree' | 'bootc' | null;
  kernel: string | null;
  kargs: string[];
  booted: boolean;
  default: boolean;
  pending: boolean;
  rollback: boolean;
  staged: boolean;
  pinned: boolean;
}

export interface OstreeFeatures {
  version: string;
  setDefault: boolean;
  statusJson: boolean;
  stage: boolean;
}

export interface StatusReport {
  sysroot: string;
  stateroot: string;
  /** True when this sysroot is the running system's (/ with /run/ostree-booted). */
  bootedSystem: boolean;
  deployments: Deployment[];
  /**
   * The update that boots next and can still be cancelled (what `hindsight cancel` drops): the
   * staged deployment, else the default when Hindsight deployed it and it has never run. The helper
   * sets it from its record of what it made; absent where that record is not read.
   */
  stagedUpdate?: Pick<Deployment, 'stateroot' | 'checksum' | 'serial'> | null;
}

/** A snapshot named in a delta: a deployment, or a commit that is not deployed. */
export interface SnapshotRef {
  checksum: string;
  version: string | null;
  subject: string | null;
  timestamp: string | null;
  /** Deployment index when the snapshot is deployed, otherwise null. */
  index: number | null;
  serial: number | null;
}

export type PackageFormat = 'dpkg' | 'rpm' | 'pacman';

export interface PackageEntry {
  name: string;
  version: string;
  arch: string;
}

export interface PackageChange {
  name: string;
  arch: string;
  from: string;
  to: string;
}

export interface FileCounts {
  added: number;
  removed: number;
  modified: number;
  /** The counts are not known yet: a side is a commit whose tree is not downloaded (counts are 0). */
  pending?: boolean;
}

/**
 * A package delta between two entries. `Ref` names the two sides: OSTree's SnapshotRef (a commit
 * checksum, a deployment's index and serial) by default; a snapper snapshot has no checksum and no
 * serial, so its deltas name their sides with SnapperSnapshotRef instead of faking them.
 */
export interface PackageDelta<Ref = SnapshotRef> {
  from: Ref & { packages: number };
  to: Ref & { packages: number };
  format: PackageFormat;
  added: PackageEntry[];
  removed: PackageEntry[];
  upgraded: PackageChange[];
  downgraded: PackageChange[];
  files: FileCounts;
}

/** A snapper snapshot named in a delta: its number (0 is "current", the live root) and what snapper lists for it. */
export interface SnapperSnapshotRef {
  number: number;
  type: 'single' | 'pre' | 'post';
  preNumber: number | null;
  /** ISO 8601 in UTC; null for snapshot 0. */
  date: string | null;
  description: string;
}

/**
 * The package delta between two snapper snapshots. No file counts yet: counting them with `snapper
 * status A..B` writes its comparison beside snapshot B (`.snapshots/B/filelist-A.txt.gz`), and this
 * reader writes nothing; they come with the files-between-snapshots view.
 */
export type SnapperPackageDelta = Omit<PackageDelta<SnapperSnapshotRef>, 'files'>;

export type FileType = 'file' | 'directory' | 'symlink' | 'other';

export type FileChangeKind = 'content' | 'target' | 'type' | 'mode' | 'owner' | 'group';

/** One path that differs between two trees (deployments, commits, snapshots). `pathBase64` holds the exact bytes when they are not UTF-8. */
export interface FileChangeEntry {
  path: string;
  pathBase64?: string;
  status: 'added' | 'removed' | 'modified';
  /** For `modified`: what differs. */
  changes: FileChangeKind[];
  from: FileMeta | null;
  to: FileMeta | null;
}

export interface FileChangeCounts {
  added: number;
  removed: number;
  modified: number;
}

export interface FileMeta {
  type: FileType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Symlink target, for symlinks. */
  target?: string;
}

/** A path under /etc, relative to it. `pathBase64` holds the exact bytes when they are not valid UTF-8. */
export interface EtcPath {
  path: string;
  pathBase64?: string;
}

export type EtcChangeKind = 'content' | 'mode' | 'owner' | 'symlink' | 'type';
export type DriftStatus = 'added' | 'modified' | 'removed';

/** One hunk of a unified line diff (the shape of jsdiff's structuredPatch). */
export interface DiffHunk {
  oldStart: number;
  oldLines: number;
  newStart: number;
  newLines: number;
  lines: string[];
}

/** Why a file's content is not shown as a line diff. */
export type ContentKind = 'text' | 'binary' | 'large' | 'none';

export interface EtcDriftEntry extends EtcPath {
  status: DriftStatus;
  changes: EtcChangeKind[];
  base: FileMeta | null;
  local: FileMeta | null;
  content: ContentKind;
  hunks?: DiffHunk[];
}

export interface EtcDriftReport {
  deployment: Deployment;
  entries: EtcDriftEntry[];
}

export type SideStatus = 'unchanged' | 'added' | 'modified' | 'removed' | 'absent';
export type OstreeOutcome = 'kept-local' | 'took-upstream' | 'deleted' | 'unchanged' | 'refused';
export type MergeResult = 'clean' | 'conflict' | 'not-text' | 'none';
export type MergeFlag =
  | 'upstream-hidden'
  | 'deleted-but-changed-upstream'
  | 'type-conflict'
  /** An account database lacks system accounts both images ship; the entry merge restores them. */
  | 'missing-system-accounts';

export interface ConflictHunk {
  /** 1-based line in the merged text where the conflict marker block starts. */
  line: number;
  base: string[];
  local: string[];
  upstream: string[];
}

export interface EtcMergeFile extends EtcPath {
  local: SideStatus;
  upstream: SideStatus;
  ostree: OstreeOutcome;
  merge: MergeResult;
  /** How the line-level merge was done: by line (diff3) or by account entry. */
  strategy: 'lines' | 'entries' | 'none';
  flags: MergeFlag[];
  /** The merged text; with conflict markers when merge is `conflict`. */
  merged?: string;
  conflicts?: ConflictHunk[];
  /** System accounts (or `group: member`) the local file lacks and the merged text puts back. */
  restored?: string[];
}

export interface EtcMergeReport {
  source: Deployment;
  target: SnapshotRef & { deployed: boolean; staged: boolean };
  files: EtcMergeFile[];
}

export interface EtcLostEdit extends EtcPath {
  /** How the current /etc differs from the rollback target's /etc at this path. */
  change: 'content' | 'mode' | 'owner' | 'symlink' | 'type' | 'only-current' | 'only-target';
}

export interface RollbackPreview {
  current: Deployment;
  target: Deployment;
  packages: PackageDelta;
  etcLost: EtcLostEdit[];
}

/** The three sides of one /etc path, for a merge view; text is absent for binary, large or non-files. */
export interface EtcFileSide {
  meta: FileMeta | null;
  content: ContentKind;
  text?: string;
}

export interface EtcFileView extends EtcPath {
  base: EtcFileSide;
  local: EtcFileSide;
  upstream?: EtcFileSide;
  /** For drift: line diff of base → local. */
  hunks?: DiffHunk[];
  merge?: EtcMergeFile;
}

export interface UpgradeCheck {
  origin: string;
  current: SnapshotRef;
  /**
   * Null when the remote has nothing newer than what is deployed. `downloaded`: its whole tree is in
   * the repository (else only its metadata and package database).
   */
  available: (SnapshotRef & { delta: PackageDelta | null; downloaded: boolean }) | null;
  checkedAt: string;
}

export interface ProgressEvent {
  operation: string;
  phase: string;
  /** 0..1 when known. */
  fraction: number | null;
  objectsDone?: number;
  objectsTotal?: number;
  bytes?: number;
  message?: string;
}

export interface AuditRecord {
  id: string;
  time: string;
  uid: number | null;
  user: string | null;
  operation: string;
  params: Record<string, unknown>;
  result: 'ok' | 'error';
  detail: string;
}

export interface OperationResult {
  operation: string;
  message: string;
  /** Status after the operation, as ostree now sees it. */
  status: StatusReport;
}

export interface EtcApplyResult {
  target: SnapshotRef;
  written: EtcPath[];
  /** Identifies the backup that `etc undo` restores. */
  backupId: string;
}

/** How many /etc backups the helper keeps, and for how long (see electron/helper/etc-backups.ts). */
export interface EtcBackupLimits {
  maxCount: number;
  maxAgeDays: number;
}

/** One backup `etc apply` made before it changed files: what `etc undo` puts back. */
export interface EtcBackupInfo {
  id: string;
  time: string;
  /** prepared: the apply stopped part way (undo still restores); applied; undone. */
  state: 'prepared' | 'applied' | 'undone';
  undoneAt: string | null;
  /** The deployment whose /etc the apply wrote; index and version are null once it is gone. */
  target: {
    stateroot: string;
    checksum: string;
    serial: number;
    index: number | null;
    version: string | null;
  };
  /** The /etc paths it holds (each one's old content, or the note that it did not exist). */
  files: number;
  /** Bytes on disk: the copies and the manifest. */
  bytes: number;
  /** Kept whatever the limits say: the newest backup that can still undo its deployment's /etc. */
  keptForUndo: boolean;
}

export interface EtcBackupList {
  /** Where they are kept (root-only). */
  root: string;
  limits: EtcBackupLimits;
  /** False when this helper is not root and so cannot look inside the root-only folder. */
  readable: boolean;
  /** Newest first. */
  backups: EtcBackupInfo[];
}

export interface EtcBackupRemoved {
  backupId: string;
  files: number;
  bytes: number;
  message: string;
}
