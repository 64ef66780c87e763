import { z } from 'zod';
import type { BackendKind } from './backends.ts';
import {
  checksumSchema,
  etcPathSchema,
  refspecSchema,
  resolutionSchema,
  selectorSchema,
  snapperMergeTakeSchema,
  snapperUserdataSchema,
  treePathSchema,
} from './schemas.ts';
import type {
  SnapperEtcReport,
  SnapperFilesReport,
  SnapperFileView,
  SnapperOperationResult,
  SnapperStatus,
} from './snapper.ts';
import type {
  AuditRecord,
  DeltaChangelogs,
  DiskUsageReport,
  EtcApplyResult,
  EtcBackupList,
  EtcBackupRemoved,
  EtcDriftReport,
  EtcFileView,
  EtcMergeReport,
  FilesDiffReport,
  OperationResult,
  OstreeFeatures,
  PackageDelta,
  ProgressEvent,
  RollbackPreview,
  SnapperPackageDelta,
  StatusReport,
  TreeFileView,
  UpgradeCheck,
} from './types.ts';

/**
 * The helper's protocol: newline-delimited JSON over stdin/stdout.
 *   helper → app, first line: {"hello": HelperHello}
 *   app → helper: {"id": n, "method": M, "params": {...}}
 *   helper → app: {"id": n, "result": ...} | {"id": n, "error": {"code", "message"}}
 *                 {"event": "progress", "id": n, "data": ProgressEvent}   (during long operations)
 * Methods are an allowlist; every params object is validated here, on both sides.
 */
export const HELPER_PROTOCOL_VERSION = 1;

/** A request line longer than this is refused (and skipped) without being buffered. */
export const MAX_REQUEST_BYTES = 32 * 1024 * 1024;

/**
 * What a helper was started for: `read` (root-only files; polkit action org.hindsight.read) never
 * changes the system; `manage` (org.hindsight.manage) may; `manage-once` (org.hindsight.manage-once,
 * whose authorisation polkit never keeps) makes one change and refuses any after it: browser mode
 * starts one per change, so no tab rides on an authorisation another obtained. pkexec tells them
 * apart by argv[1].
 */
export const HELPER_MODES = ['read', 'manage', 'manage-once'] as const;
export type HelperMode = (typeof HELPER_MODES)[number];

export interface HelperHello {
  protocol: number;
  version: string;
  privileged: boolean;
  uid: number;
  sysroot: string;
  /** What the sysroot is: an OSTree sysroot or a snapper root (the folder holding `.snapshots`). */
  backend: BackendKind;
  ostree: OstreeFeatures | null;
  /** Whether `rollback` can reorder deployments here (set-default, or libostree through gjs). */
  canReorder: boolean;
  mode: HelperMode;
  /** libostree is reachable through gjs: pulls report objects and bytes while they run. */
  libostree: boolean;
  maxRequestBytes: number;
}

const target = z.object({
  sysroot: z.string().min(1).max(4096).optional(),
  os: z
    .string()
    .max(255)
    .regex(/^[\w.-]+$/)
    .optional(),
});
const p = <T extends z.ZodRawShape>(shape: T) => target.extend(shape).strict();

/**
 * The params of the snapper methods that take any, as plain shapes: the helper binds them to its
 * sysroot (`p`), and the IPC contract uses them as they are (main adds the sysroot). Selectors are
 * snapshot numbers or default, active, booted, current.
 */
export const snapperRequests = {
  snapperPackageDelta: { from: selectorSchema, to: selectorSchema },
  /** Files between two snapshots; `paths` restricts them to those subtrees (`etc`). */
  snapperFiles: {
    from: selectorSchema,
    to: selectorSchema,
    paths: z.array(treePathSchema).max(64).optional(),
  },
  snapperFile: { from: selectorSchema, to: selectorSchema, path: treePathSchema },
  /** Changelog entries of every package that changed between two snapshots. */
  snapperChangelogs: { from: selectorSchema, to: selectorSchema },
  /** /etc of one snapshot against its packages, with the merges they left pending. */
  snapperEtc: { snapshot: selectorSchema },
  /** Boots the snapshot next: `snapper rollback` on a read-write root, the default subvolume on a read-only one. */
  snapperRollback: { to: selectorSchema },
  snapperModify: {
    snapshot: z.number().int().min(1).max(4_294_967_295),
    description: z.string().max(1000).optional(),
    userdata: snapperUserdataSchema.optional(),
    cleanup: z.enum(['', 'number', 'timeline', 'empty-pre-post']).optional(),
  },
  snapperDelete: { snapshots: z.array(z.number().int().min(1).max(4_294_967_295)).min(1).max(2) },
  /** Copies one path from a snapshot into the live root, with a backup. */
  snapperRestore: { from: selectorSchema, path: treePathSchema },
  /** Resolves a pending `.rpmnew`/`.dpkg-dist`/`.pacnew` merge of the live root, with a backup. */
  snapperApplyMerge: {
    path: treePathSchema,
    take: snapperMergeTakeSchema,
    text: z
      .string()
      .max(16 * 1024 * 1024)
      .optional(),
  },
  /** Puts back what a restore or a merge apply replaced. */
  snapperUndoFile: { backupId: z.string().regex(/^[\w.-]{1,100}$/) },
} as const;

export const helperParams = {
  status: p({}),
  packageDelta: p({ from: selectorSchema, to: selectorSchema }),
  etcDrift: p({ deployment: selectorSchema, diffs: z.boolean().optional() }),
  etcFile: p({ deployment: selectorSchema, path: etcPathSchema, target: selectorSchema.optional() }),
  etcMerge: p({ source: selectorSchema, target: selectorSchema }),
  rollbackPreview: p({ target: selectorSchema.optional() }),
  /** What each deployment holds on disk and frees when removed, with the space of the sysroot and /boot. */
  diskUsage: p({}),
  /** Files between two deployments or commits, as ostree diff lists them, with their owning packages. */
  filesDiff: p({
    from: selectorSchema,
    to: selectorSchema,
    paths: z.array(treePathSchema).max(64).optional(),
  }),
  /** One path of two deployments or commits, for a diff view. */
  fileView: p({ from: selectorSchema, to: selectorSchema, path: treePathSchema }),
  /** Changelog entries of every changed package between two deployments or commits. */
  packageChangelogs: p({ from: selectorSchema, to: selectorSchema }),
  history: p({ limit: z.number().int().min(1).max(10_000).optional() }),
  upgradeCheck: p({}),
  rollback: p({ to: selectorSchema.optional() }),
  /** `commit`: the checksum `upgradeCheck` offered; refused when the remote has moved on since. */
  upgrade: p({ commit: checksumSchema.optional() }),
  deploy: p({ commit: z.union([selectorSchema, refspecSchema]) }),
  pin: p({ deployment: selectorSchema }),
  unpin: p({ deployment: selectorSchema }),
  undeploy: p({ deployment: selectorSchema }),
  cancel: p({}),
  etcApply: p({
    source: selectorSchema,
    target: selectorSchema,
    resolutions: z.array(resolutionSchema).min(1).max(10_000),
    allowBooted: z.boolean().optional(),
  }),
  /** One /etc path back to the image's default (no `from`) or copied from deployment `from`'s /etc. */
  etcRestore: p({
    deployment: selectorSchema,
    path: etcPathSchema,
    from: selectorSchema.optional(),
    allowBooted: z.boolean().optional(),
  }),
  etcUndo: p({
    backupId: z
      .string()
      .regex(/^[\w.-]{1,100}$/)
      .optional(),
  }),
  reboot: p({}),
  /** The /etc backups `etc apply` made, with the limits that prune them. */
  etcBackups: p({}),
  /** Deletes one /etc backup for good (it can no longer be undone). */
  etcRemoveBackup: p({ backupId: z.string().regex(/^[\w.-]{1,100}$/) }),

  snapperStatus: p({}),
  snapperPackageDelta: p(snapperRequests.snapperPackageDelta),
  snapperFiles: p(snapperRequests.snapperFiles),
  snapperFile: p(snapperRequests.snapperFile),
  snapperChangelogs: p(snapperRequests.snapperChangelogs),
  snapperEtc: p(snapperRequests.snapperEtc),
  snapperRollback: p(snapperRequests.snapperRollback),
  /** Puts the previous default back before the reboot and removes what the rollback made. */
  snapperUndoRollback: p({}),
  snapperModify: p(snapperRequests.snapperModify),
  snapperDelete: p(snapperRequests.snapperDelete),
  snapperRestore: p(snapperRequests.snapperRestore),
  snapperApplyMerge: p(snapperRequests.snapperApplyMerge),
  snapperUndoFile: p(snapperRequests.snapperUndoFile),
} as const;

/** What each method answers (type-only: results are trusted data from the engine). */
export interface HelperResults {
  status: StatusReport;
  packageDelta: PackageDelta;
  etcDrift: EtcDriftReport;
  etcFile: EtcFileView;
  etcMerge: EtcMergeReport;
  rollbackPreview: RollbackPreview;
  diskUsage: DiskUsageReport;
  filesDiff: FilesDiffReport;
  fileView: TreeFileView;
  packageChangelogs: DeltaChangelogs;
  history: AuditRecord[];
  upgradeCheck: UpgradeCheck;
  rollback: OperationResult;
  upgrade: OperationResult;
  deploy: OperationResult;
  pin: OperationResult;
  unpin: OperationResult;
  undeploy: OperationResult;
  cancel: OperationResult;
  etcApply: EtcApplyResult;
  etcRestore: EtcApplyResult;
  etcUndo: EtcApplyResult;
  reboot: { message: string };
  etcBackups: EtcBackupList;
  etcRemoveBackup: EtcBackupRemoved;
  snapperStatus: SnapperStatus;
  snapperPackageDelta: SnapperPackageDelta;
  snapperFiles: SnapperFilesReport;
  snapperFile: SnapperFileView;
  snapperChangelogs: DeltaChangelogs;
  snapperEtc: SnapperEtcReport;
  snapperRollback: SnapperOperationResult;
  snapperUndoRollback: SnapperOperationResult;
  snapperModify: SnapperOperationResult;
  snapperDelete: SnapperOperationResult;
  snapperRestore: SnapperOperationResult;
  snapperApplyMerge: SnapperOperationResult;
  snapperUndoFile: SnapperOperationResult;
}

export type HelperMethod = keyof typeof helperParams;
export type HelperParams<M extends HelperMethod> = z.infer<(typeof helperParams)[M]>;
export type HelperResult<M extends HelperMethod> = HelperResults[M];

/** Methods that change the system: they take the sysroot lock and leave an audit record. */
export const MUTATING_METHODS: ReadonlySet<HelperMethod> = new Set<HelperMethod>([
  'rollback',
  'upgrade',
  'deploy',
  'pin',
  'unpin',
  'undeploy',
  'cancel',
  'etcApply',
  'etcRestore',
  'etcUndo',
  'reboot',
  'etcRemoveBackup',
  'snapperRollback',
  'snapperUndoRollback',
  'snapperModify',
  'snapperDelete',
  'snapperRestore',
  'snapperApplyMerge',
  'snapperUndoFile',
]);

/** Methods that take the cross-process sysroot lock: every mutation, and the check (it writes the repo). */
export const LOCKING_METHODS: ReadonlySet<HelperMethod> = new Set<HelperMethod>([
  ...MUTATING_METHODS,
  'upgradeCheck',
]);

/** The lines on the wire. */
export interface HelperRequest {
  id: number;
  method: string;
  params?: unknown;
}
export type HelperResponse =
  | { id: number; result: unknown }
  | { id: number | null; error: { code: string; message: string } };
export interface HelperProgressMessage {
  event: 'progress';
  id: number;
  data: ProgressEvent;
}
export type HelperOutput = { hello: HelperHello } | HelperResponse | HelperProgressMessage;

export const helperRequestSchema = z
  .object({
    id: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    method: z.string().max(64),
    params: z.unknown().optional(),
  })
  .strict();

export function isHelperMethod(name: string): name is HelperMethod {
  return Object.hasOwn(helperParams, name);
}
