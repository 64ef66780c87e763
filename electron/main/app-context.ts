import { join } from 'node:path';
import type { HelperMode } from '../../shared/helper-contract.ts';
import type { IpcEventName, IpcEvents } from '../../shared/ipc-contract.ts';
import { AppCache } from '../core/app-cache.ts';
import { buildDemo, defaultDemoDir } from '../core/fixtures/demo.ts';
import { defaultSystemRoot } from '../core/system/open.ts';
import { createHandlers, dispatch, type HandlerContext, type HelperPort } from './handlers.ts';

/** A running helper the app owns: the handlers' port plus a way to stop it. */
export interface OwnedHelper extends HelperPort {
  close(): Promise<void>;
}

/**
 * Starts a helper process (modes: see HELPER_MODES). `privileged` asks for root (pkexec on a desktop;
 * direct when this process is root already).
 */
export type HelperLauncher = (options: {
  sysroot: string;
  mode: HelperMode;
  privileged: boolean;
}) => Promise<OwnedHelper>;

/**
 * The helper answers `busy` to a second request while one runs (its rule for operations); windows
 * ask for several things at once, so the app queues its calls to each helper instead.
 */
export function oneAtATime(helper: OwnedHelper): OwnedHelper {
  let tail: Promise<unknown> = Promise.resolve();
  return {
    hello: helper.hello,
    close: () => helper.close(),
    call(method, params, onProgress) {
      const next = tail.then(() => helper.call(method, params, onProgress));
      tail = next.catch(() => undefined);
      return next;
    },
  };
}

/**
 * Whether a managing helper, once started and authorised, is kept for the mutations after it.
 *
 * The Electron app has one client, its own window (every IPC sender is checked), so the root helper
 * the user authorised serves that user's next clicks too. Browser mode serves any tab that holds a
 * tab secret, and every tab, as well as anything that got hold of a secret, would ride on an
 * authorisation another tab obtained for its own action: there, each mutation starts its own helper
 * through pkexec, so polkit asks again, and closes it when the mutation is done. As root there is
 * nothing to ask (no pkexec, as in CI and a booted test guest): one helper is kept.
 */
export function keepsManagingHelper(mode: HandlerContext['mode'], isRoot: boolean): boolean {
  return mode !== 'browser' || isRoot;
}

export interface AppContextOptions {
  mode: HandlerContext['mode'];
  /** Explicit sysroot; default: / on a booted OSTree system, else the embedded demo. */
  sysroot?: string;
  stateroot?: string;
  /** Folder for the cache database. */
  dataDir: string;
  launchHelper: HelperLauncher;
  emit<E extends IpcEventName>(event: E, payload: IpcEvents[E]): void;
  log?: (line: string) => void;
  /** Whether this process runs as root; default: asked of the process (tests pass it). */
  isRoot?: boolean;
}

export interface AppContext {
  sysroot: string;
  demo: boolean;
  dispatch(channel: unknown, request: unknown): ReturnType<typeof dispatch>;
  dispose(): Promise<void>;
}

/** Which sysroot the app shows: the one asked for, the running system, or the demo it builds once. */
export function chooseSysroot(
  explicit: string | undefined,
  log: (line: string) => void,
): { sysroot: string; demo: boolean } {
  if (explicit) return { sysroot: explicit, demo: false };
  const running = defaultSystemRoot();
  if (running !== null) return { sysroot: running, demo: false };
  log(`This machine is not booted from OSTree: opening the demo sysroot in ${defaultDemoDir()}`);
  return { sysroot: buildDemo(defaultDemoDir(), log).sysroot, demo: true };
}

export async function createAppContext(options: AppContextOptions): Promise<AppContext> {
  const log = options.log ?? (() => {});
  const { sysroot, demo } = chooseSysroot(options.sysroot, log);
  const cache = new AppCache(join(options.dataDir, 'cache.sqlite'));
  let reader: Promise<OwnedHelper> | null = null;
  let manager: Promise<OwnedHelper> | null = null;
  const isRoot = options.isRoot ?? process.getuid?.() === 0;
  const keepManager = keepsManagingHelper(options.mode, isRoot);
  /** Helpers started for one mutation and not closed yet (dispose closes them). */
  const oneOff = new Set<Promise<OwnedHelper>>();
  /** Mutations run one after another, as through the one kept helper (the helper refuses a second as busy). */
  let mutations: Promise<unknown> = Promise.resolve();

  /** A helper promise that is forgotten when it fails, so the next call tries again. */
  const start = (
    mode: 'read' | 'manage',
    privileged: boolean,
    assign: (p: Promise<OwnedHelper> | null) => void,
  ): Promise<OwnedHelper> => {
    const started = options.launchHelper({ sysroot, mode, privileged }).then(oneAtATime);
    started.catch(() => assign(null));
    assign(started);
    return started;
  };

  const ctx: HandlerContext = {
    mode: options.mode,
    sysroot,
    stateroot: options.stateroot,
    demo,
    cache,
    reader: () => reader ?? start('read', isRoot, (p) => (reader = p)),
    manage(use) {
      const run = async () => {
        if (keepManager) return use(await (manager ?? start('manage', true, (p) => (manager = p))));
        const launched = options.launchHelper({ sysroot, mode: 'manage-once', privileged: true });
        oneOff.add(launched);
        launched.catch(() => oneOff.delete(launched));
        const helper = await launched;
        try {
          return await use(helper);
        } finally {
          await helper.close();
          oneOff.delete(launched);
        }
      };
      const next = mutations.then(run);
      mutations = next.catch(() => undefined);
      return next;
    },
    async unlock() {
      if ((await ctx.reader()).hello.privileged) return;
      const old = reader;
      const next = start('read', true, (p) => (reader = p));
      await next;
      await (await old)?.close();
    },
    emit: options.emit,
  };
  const handlers = createHandlers(ctx);
  return {
    sysroot,
    demo,
    dispatch: (channel, request) => dispatch(handlers, channel, request),
    async dispose() {
      const helpers = await Promise.allSettled(
        [reader, manager, ...oneOff].filter(Boolean) as Promise<OwnedHelper>[],
      );
      await Promise.all(helpers.map((h) => (h.status === 'fulfilled' ? h.value.close() : undefined)));
      cache.close();
    },
  };
}
