import { z } from 'zod';
import { etcPathSchema, refspecSchema, resolutionSchema, selectorSchema } from './schemas.ts';
import type {
  AuditRecord,
  EtcApplyResult,
  EtcDriftReport,
  EtcFileView,
  EtcMergeReport,
  OperationResult,
  OstreeFeatures,
  PackageDelta,
  RollbackPreview,
  StatusReport,
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

export interface HelperHello {
  protocol: number;
  version: string;
  privileged: boolean;
  uid: number;
  sysroot: string;
  ostree: OstreeFeatures | null;
  /** Whether `rollback` can reorder deployments here (set-default, or libostree through gjs). */
  canReorder: boolean;
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

export const helperParams = {
  status: p({}),
  packageDelta: p({ from: selectorSchema, to: selectorSchema }),
  etcDrift: p({ deployment: selectorSchema, diffs: z.boolean().optional() }),
  etcFile: p({ deployment: selectorSchema, path: etcPathSchema, target: selectorSchema.optional() }),
  etcMerge: p({ source: selectorSchema, target: selectorSchema }),
  rollbackPreview: p({ target: selectorSchema.optional() }),
  history: p({ limit: z.number().int().min(1).max(10_000).optional() }),
  upgradeCheck: p({}),
  rollback: p({ to: selectorSchema.optional() }),
  upgrade: p({}),
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
  etcUndo: p({
    backupId: z
      .string()
      .regex(/^[\w.-]{1,100}$/)
      .optional(),
  }),
  reboot: p({}),
} as const;

/** What each method answers (type-only: results are trusted data from the engine). */
export interface HelperResults {
  status: StatusReport;
  packageDelta: PackageDelta;
  etcDrift: EtcDriftReport;
  etcFile: EtcFileView;
  etcMerge: EtcMergeReport;
  rollbackPreview: RollbackPreview;
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
  etcUndo: EtcApplyResult;
  reboot: { message: string };
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
  'etcUndo',
  'reboot',
]);

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
