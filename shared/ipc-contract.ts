import { z } from 'zod';
import type { BackendKind } from './backends.ts';
import { type HelperHello, type HelperResults, snapperRequests } from './helper-contract.ts';
import {
  checksumSchema,
  etcPathSchema,
  noteSchema,
  refspecSchema,
  resolutionSchema,
  selectorSchema,
  treePathSchema,
} from './schemas.ts';
import type { AuditRecord, ProgressEvent } from './types.ts';

/**
 * The one map of renderer ↔ main channels (`domain:verb`), with the request schema main validates
 * and the response type the renderer gets. Errors cross as `{error:{code,message}}` and are rethrown
 * as HindsightError on the renderer side. Electron IPC and browser mode carry the same contract.
 */

export interface AppInfo {
  mode: 'electron' | 'browser';
  sysroot: string;
  /** What the sysroot is; the screens follow it (snapper: snapshots, OSTree: deployments). */
  backend: BackendKind;
  /** True when showing the embedded demo sysroot rather than the running system. */
  demo: boolean;
  bootedSystem: boolean;
  /** Whether root-only files can be read now (the reading helper runs as root). */
  privileged: boolean;
  helper: HelperHello | null;
}

export interface DeploymentNoteRecord {
  checksum: string;
  serial: number;
  note: string;
  label: string | null;
  updatedAt: string;
}

export interface HistoryEntry extends AuditRecord {
  /** Where the record came from: the helper's root-owned audit log, or the app's own cache. */
  source: 'helper' | 'app';
}

const empty = z.object({}).strict();
const snapper = <M extends keyof typeof snapperRequests>(method: M) =>
  z.object(snapperRequests[method]).strict();

export const ipcRequests = {
  'app:info': empty,
  'sysroot:status': empty,
  'packages:delta': z.object({ from: selectorSchema, to: selectorSchema }).strict(),
  'files:diff': z
    .object({
      from: selectorSchema,
      to: selectorSchema,
      paths: z.array(treePathSchema).max(64).optional(),
    })
    .strict(),
  'files:view': z.object({ from: selectorSchema, to: selectorSchema, path: treePathSchema }).strict(),
  'packages:changelogs': z.object({ from: selectorSchema, to: selectorSchema }).strict(),
  'disk:usage': empty,
  'etc:drift': z.object({ deployment: selectorSchema, diffs: z.boolean().optional() }).strict(),
  'etc:file': z
    .object({ deployment: selectorSchema, path: etcPathSchema, target: selectorSchema.optional() })
    .strict(),
  'etc:merge': z.object({ source: selectorSchema, target: selectorSchema }).strict(),
  'rollback:preview': z.object({ target: selectorSchema.optional() }).strict(),
  'updates:check': empty,
  'updates:stage': empty,
  'deployments:rollback': z.object({ to: selectorSchema.optional() }).strict(),
  'deployments:deploy': z
    .object({ commit: z.union([checksumSchema, refspecSchema, selectorSchema]) })
    .strict(),
  'deployments:pin': z.object({ deployment: selectorSchema }).strict(),
  'deployments:unpin': z.object({ deployment: selectorSchema }).strict(),
  'deployments:undeploy': z.object({ deployment: selectorSchema }).strict(),
  'deployments:cancel': empty,
  'etc:apply': z
    .object({
      source: selectorSchema,
      target: selectorSchema,
      resolutions: z.array(resolutionSchema).min(1).max(10_000),
      allowBooted: z.boolean().optional(),
    })
    .strict(),
  'etc:restore': z
    .object({
      deployment: selectorSchema,
      path: etcPathSchema,
      from: selectorSchema.optional(),
      allowBooted: z.boolean().optional(),
    })
    .strict(),
  'etc:undo': z
    .object({
      backupId: z
        .string()
        .regex(/^[\w.-]{1,100}$/)
        .optional(),
    })
    .strict(),
  'system:reboot': empty,
  'backups:list': empty,
  'backups:remove': z.object({ backupId: z.string().regex(/^[\w.-]{1,100}$/) }).strict(),
  'notes:list': empty,
  'notes:set': noteSchema,
  'history:list': z.object({ limit: z.number().int().min(1).max(10_000).optional() }).strict(),
  /** Restarts the reading helper as root (through pkexec on a desktop) to show root-only files. */
  'helper:unlock': empty,
  // snapper roots (AppInfo.backend 'snapper'): the same screens, snapshots for deployments.
  'snapshots:status': empty,
  'snapshots:packages': snapper('snapperPackageDelta'),
  'snapshots:files': snapper('snapperFiles'),
  'snapshots:file': snapper('snapperFile'),
  'snapshots:changelogs': snapper('snapperChangelogs'),
  'snapshots:etc': snapper('snapperEtc'),
  'snapshots:rollback': snapper('snapperRollback'),
  'snapshots:undo-rollback': empty,
  'snapshots:modify': snapper('snapperModify'),
  'snapshots:delete': snapper('snapperDelete'),
  'snapshots:restore': snapper('snapperRestore'),
  'snapshots:apply-merge': snapper('snapperApplyMerge'),
  'snapshots:undo-file': snapper('snapperUndoFile'),
} as const;

export interface IpcResponses {
  'app:info': AppInfo;
  'sysroot:status': HelperResults['status'];
  'packages:delta': HelperResults['packageDelta'];
  'files:diff': HelperResults['filesDiff'];
  'files:view': HelperResults['fileView'];
  'packages:changelogs': HelperResults['packageChangelogs'];
  'disk:usage': HelperResults['diskUsage'];
  'etc:drift': HelperResults['etcDrift'];
  'etc:file': HelperResults['etcFile'];
  'etc:merge': HelperResults['etcMerge'];
  'rollback:preview': HelperResults['rollbackPreview'];
  'updates:check': HelperResults['upgradeCheck'];
  'updates:stage': HelperResults['upgrade'];
  'deployments:rollback': HelperResults['rollback'];
  'deployments:deploy': HelperResults['deploy'];
  'deployments:pin': HelperResults['pin'];
  'deployments:unpin': HelperResults['unpin'];
  'deployments:undeploy': HelperResults['undeploy'];
  'deployments:cancel': HelperResults['cancel'];
  'etc:apply': HelperResults['etcApply'];
  'etc:restore': HelperResults['etcRestore'];
  'etc:undo': HelperResults['etcUndo'];
  'system:reboot': HelperResults['reboot'];
  'backups:list': HelperResults['etcBackups'];
  'backups:remove': HelperResults['etcRemoveBackup'];
  'notes:list': DeploymentNoteRecord[];
  'notes:set': DeploymentNoteRecord;
  'history:list': HistoryEntry[];
  'helper:unlock': AppInfo;
  'snapshots:status': HelperResults['snapperStatus'];
  'snapshots:packages': HelperResults['snapperPackageDelta'];
  'snapshots:files': HelperResults['snapperFiles'];
  'snapshots:file': HelperResults['snapperFile'];
  'snapshots:changelogs': HelperResults['snapperChangelogs'];
  'snapshots:etc': HelperResults['snapperEtc'];
  'snapshots:rollback': HelperResults['snapperRollback'];
  'snapshots:undo-rollback': HelperResults['snapperUndoRollback'];
  'snapshots:modify': HelperResults['snapperModify'];
  'snapshots:delete': HelperResults['snapperDelete'];
  'snapshots:restore': HelperResults['snapperRestore'];
  'snapshots:apply-merge': HelperResults['snapperApplyMerge'];
  'snapshots:undo-file': HelperResults['snapperUndoFile'];
}

export type IpcChannel = keyof typeof ipcRequests;
export type IpcRequest<C extends IpcChannel> = z.infer<(typeof ipcRequests)[C]>;
export type IpcResponse<C extends IpcChannel> = IpcResponses[C];

/** Events main pushes to the renderer. */
export interface IpcEvents {
  'operation:progress': ProgressEvent;
  /** Deployments or /etc changed (after an operation): the renderer refetches. */
  'sysroot:changed': { reason: string };
}
export type IpcEventName = keyof IpcEvents;

/** What crosses the wire for one call: a result or an error payload, never a thrown object. */
export type IpcEnvelope<T> = { result: T } | { error: { code: string; message: string } };

export function isIpcChannel(name: string): name is IpcChannel {
  return Object.hasOwn(ipcRequests, name);
}

/** The API the preload exposes on `window.hindsight`, and browser mode implements over HTTP. */
export interface HindsightApi {
  invoke<C extends IpcChannel>(channel: C, request: IpcRequest<C>): Promise<IpcResponse<C>>;
  on<E extends IpcEventName>(event: E, listener: (payload: IpcEvents[E]) => void): () => void;
}

/**
 * What the preload exposes on `window.hindsightBridge` (structured clone keeps plain data only, so
 * calls answer envelopes); the renderer's client turns error envelopes back into thrown errors.
 */
export interface HindsightBridge {
  invoke(channel: IpcChannel, request: unknown): Promise<IpcEnvelope<unknown>>;
  on(event: IpcEventName, listener: (payload: unknown) => void): () => void;
}

/**
 * Browser mode's HTTP routes. The address `hindsight serve` prints carries a one-time link token
 * (`?token=`) that only opens the page; the page trades it at `session` for a secret of its own
 * and sends that in TAB_SECRET_HEADER with every call and on the event stream. No cookie: a browser
 * sends 127.0.0.1's cookies to every port on it. `noAccess` is the page that says how to get a new
 * address.
 */
export const BROWSER_ROUTES = {
  invoke: '/api/invoke',
  events: '/api/events',
  session: '/api/session',
  noAccess: '/no-access',
} as const;
export const TAB_SECRET_HEADER = 'x-hindsight-tab';
/** Where a tab keeps its secret (sessionStorage: this tab only, across its reloads). */
export const TAB_SECRET_KEY = 'hindsight-tab-secret';
