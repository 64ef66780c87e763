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

/** Changelog entries between the two versions of a changed package (packages/changelog.ts). */
export interface ChangelogEntry {
  /** The version the entry is for; null when the entry names none (rpm entries may not). */
  version: string | null;
  /** ISO 8601 (UTC); null when the date could not be read. */
  date: string | null;
  /** `Name <mail>`, as the entry gives it (rpm: without the trailing version). */
  author: string;
  /** The entry's lines as written (dpkg: the change lines, indented; rpm: CHANGELOGTEXT). */
  text: string;
}

export interface PackageChangelog {
  entries: ChangelogEntry[];
  /** CVE ids the entries name, upper case, each once, in the order they first appear. */
  cves: string[];
  /** True when entries or text were cut at the caps below, or the file was only read in part. */
  truncated?: boolean;
  /** The file or database the entries came from, relative to the tree. */
  source: string;
}

export interface PackageChangelogChange extends PackageChange {
  /**
   * `upgrade`: entries between the two versions, read from the newer tree. `downgrade`: entries
   * between the versions read from the older tree's package, i.e. what going back loses.
   */
  direction: 'upgrade' | 'downgrade';
  changelog: PackageChangelog | null;
}

export interface DeltaChangelogs {
  packages: PackageChangelogChange[];
  /** CVE ids named by the upgrades' entries, each once ("fixes 3 CVEs"). */
  cvesFixed: string[];
  /** CVE ids named by the entries a downgrade loses, each once. */
  cvesLost: string[];
  /** Packages whose changelog could not be read (a corrupt database or file), with the reason. */
  problems: string[];
}

/** One path of two trees (deployments, commits, snapshots), for a diff view. */
export interface TreeFileView {
  path: string;
  pathBase64?: string;
  from: EtcFileSide;
  to: EtcFileSide;
  hunks?: DiffHunk[];
}

/** Files between two deployments or commits, each with its owning package where the database says. */
export interface FilesDiffReport {
  from: SnapshotRef;
  to: SnapshotRef;
  entries: (FileChangeEntry & { package?: string })[];
  counts: FileChangeCounts;
  /** More entries differ than were sent (the first of them, in tree order, are). */
  truncated: boolean;
}

/** What each deployment costs on disk and what removing it frees (core/ostree/disk-usage.ts). */
export interface DeploymentDiskUsage {
  stateroot: string;
  checksum: string;
  serial: number;
  index: number;
  /**
   * Bytes allocated (st_blocks × 512) to inodes of the deployment folder no other deployment folder
   * holds: its /etc (a copy, never hardlinked), its directories, and files of its image no other
   * deployment shares. What `du -s -B1 OTHER_DEPLOYMENTS… THIS` prints for THIS.
   */
  uniqueBytes: number;
  /** The same inodes by apparent size (st_size), as `du -s -b` counts. */
  apparentUniqueBytes: number;
  /** Bytes allocated to its kernel folder in /boot (`boot/ostree/OS-BOOTCSUM`); 0 when it has none yet. */
  bootBytes: number;
  /** Another deployment boots the same kernel folder (same boot checksum), so removal leaves it. */
  bootShared: boolean;
  /** The kernel folder, or null when the deployment has no boot entry (a staged one, before shutdown). */
  bootPath: string | null;
  /**
   * What `ostree admin undeploy` of this deployment alone frees, the others staying: its own inodes
   * that no ref keeps in the repository, its repository metadata no ref or other deployment reaches,
   * its .origin file, and its kernel folder unless shared. Includes freedInBoot.
   */
  freedByRemoval: number;
  /**
   * The part of freedByRemoval only /boot holds: its kernel folder and loader entry. A kernel that is
   * a hardlink of the deployment's own file (ostree links it when /boot is not a filesystem of its
   * own) counts with the deployment, since the space comes back there.
   */
  freedInBoot: number;
  /** Entries walked in the deployment folder. */
  entries: number;
}

export interface FilesystemSpace {
  path: string;
  /** Size of the filesystem in bytes. */
  total: number;
  /** Bytes an unprivileged writer can still use (df's Avail: f_bavail × f_bsize). */
  free: number;
}

export interface DiskUsageReport {
  deployments: DeploymentDiskUsage[];
  sysroot: FilesystemSpace | null;
  boot: (FilesystemSpace & { sameFilesystemAsSysroot: boolean }) | null;
  /** Folders or files that could not be read, and other reasons a number may be short; never fatal. */
  problems: string[];
  /** What the numbers leave out, in words. */
  note: string;
  elapsedMs: number;
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
