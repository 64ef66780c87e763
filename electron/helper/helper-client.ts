import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { fromErrorPayload, HindsightError, isErrorCode } from '../../shared/errors.ts';
import {
  HELPER_PROTOCOL_VERSION,
  type HelperHello,
  type HelperMethod,
  type HelperMode,
  type HelperParams,
  type HelperResult,
  helperParams,
} from '../../shared/helper-contract.ts';
import type { ProgressEvent } from '../../shared/types.ts';
import { findProgram, startProgram } from '../core/exec.ts';
import { changesNeedRoot } from '../core/ostree/sysroot.ts';
import { projectRoot } from '../main/paths.ts';
import { LineReader } from './line-reader.ts';

/**
 * The app's and the CLI's side of the helper protocol: starts the helper (directly, or as root
 * through pkexec), waits for its hello, sends typed requests, hands progress events to the caller,
 * turns error answers back into HindsightError, and closes it by closing its stdin.
 */

/** Where packages install the helper launcher; the polkit policy pins this path. */
export const INSTALLED_HELPER = '/usr/lib/hindsight/hindsight-helper';

export interface HelperCommand {
  program: string;
  args: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

function thisFile(): string {
  return typeof __filename === 'string' ? __filename : fileURLToPath(import.meta.url);
}

/** The project folder in development and bundles; none in an installed layout without package.json. */
function projectRootOrNull(from: string): string | null {
  try {
    return projectRoot(from);
  } catch {
    return null;
  }
}

/** What helperRuntime() decides from: facts about this process and the files around it. */
export interface HelperRuntimeFacts {
  /** This process is Electron's binary (process.versions.electron), not node. */
  electron: boolean;
  /**
   * Electron's runAsNode fuse: on for `electron dist/electron/main.cjs` in development, off in every
   * package (electron-builder.yml; packaging.test.ts checks it), where ELECTRON_RUN_AS_NODE is
   * ignored and process.execPath starts the app again instead of the helper.
   */
  runAsNode: boolean;
  execPath: string;
  env: NodeJS.ProcessEnv;
  /** The bundled helper (dist/helper.mjs) beside this bundle, when there is one. */
  bundle: string | null;
  /** Helper launchers that exist, best first: the packaged app's own copy, then the installed one. */
  launchers: string[];
}

/**
 * How to run the bundled helper directly. Node runs it itself, and so does Electron in development
 * (told to act as node). A packaged Electron cannot act as node, so it runs the helper's launcher,
 * which runs it under the system's Node.js (/usr/bin/node: the deb and rpm depend on nodejs) with
 * the better-sqlite3 built for that (.ci/helper-tree.mjs): the same files and runtime as the root
 * helper pkexec starts. Not Electron's utilityProcess: it has no stdin, and the helper's protocol is
 * its stdin and stdout (all pkexec gives it), so it would need a second transport, one no test here
 * could run (no Electron binary on the test machines).
 */
export function helperRuntime(facts: HelperRuntimeFacts): HelperCommand {
  const launcher = facts.launchers[0];
  if (facts.bundle && !facts.electron) return { program: facts.execPath, args: [facts.bundle] };
  if (facts.bundle && facts.runAsNode) {
    return {
      program: facts.execPath,
      args: [facts.bundle],
      env: { ...facts.env, ELECTRON_RUN_AS_NODE: '1' },
    };
  }
  if (launcher) return { program: launcher, args: [] };
  throw new HindsightError(
    'internal',
    facts.electron && !facts.runAsNode
      ? 'cannot find the Hindsight helper launcher (resources/helper/hindsight-helper); reinstall Hindsight'
      : 'cannot find the Hindsight helper (build it with npm run build)',
  );
}

/**
 * How to run the helper directly: from the TypeScript sources through tsx when this module is a
 * source file (development, tests), else as helperRuntime() decides for a bundle.
 */
export function defaultHelperCommand(): HelperCommand {
  const file = thisFile();
  const root = projectRootOrNull(dirname(file));
  if (root && file.endsWith('.ts')) {
    const loader = join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs');
    return {
      program: process.execPath,
      args: [
        '--import',
        existsSync(loader) ? pathToFileURL(loader).href : 'tsx',
        join(root, 'electron', 'helper', 'main.ts'),
      ],
      cwd: root,
    };
  }
  // Electron's additions to process: defaultApp when started as `electron <app>` (development).
  const electronProcess = process as { defaultApp?: boolean; resourcesPath?: string };
  const electron = Boolean(process.versions.electron);
  // A bundle's helper sits beside it (dist/cli.mjs) or in dist/ (dist/electron/main.cjs).
  const bundle = [
    join(dirname(file), 'helper.mjs'),
    ...(root ? [join(root, 'dist', 'helper.mjs')] : []),
  ].find((path) => existsSync(path));
  const launchers = [
    ...(electron && electronProcess.resourcesPath
      ? [join(electronProcess.resourcesPath, 'helper', 'hindsight-helper')]
      : []),
    INSTALLED_HELPER,
  ].filter((path) => existsSync(path));
  return helperRuntime({
    electron,
    runAsNode: electron && electronProcess.defaultApp === true,
    execPath: process.execPath,
    env: process.env,
    bundle: bundle ?? null,
    launchers,
  });
}

export interface SpawnHelperOptions {
  sysroot: string;
  /** Stateroot for requests that name none. */
  os?: string;
  /** `read` never changes the system (polkit action org.hindsight.read); default `manage`. */
  mode?: HelperMode;
  /** Must run as root: through `pkexec` (the installed launcher) unless this process is root already. */
  privileged?: boolean;
  /** pkexec may ask on the terminal (the CLI); a desktop app leaves this off: its agent asks. */
  interactiveAuth?: boolean;
  /** The launcher pkexec runs; default INSTALLED_HELPER. */
  launcher?: string;
  /** pkexec's path; default found in the system folders. */
  pkexec?: string;
  /** How to run the helper directly; default: defaultHelperCommand(). */
  command?: HelperCommand;
  /** Own process group, so a supervisor can wait for everything the helper started. */
  detached?: boolean;
  /** How long to wait for the hello (pkexec waits for a password): default 30 s, 5 min with pkexec. */
  helloTimeoutMs?: number;
  onStderr?: (text: string) => void;
}

type HelperProcess = ReturnType<typeof startProgram>;

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  onProgress?: (event: ProgressEvent) => void;
}

const MAX_ANSWER_BYTES = 512 * 1024 * 1024;

export class HelperClient {
  readonly hello: HelperHello;
  readonly pid: number;
  /** Resolves with the exit code (or 128+signal) when the helper has exited. */
  readonly exited: Promise<number>;
  private readonly pending = new Map<number, Pending>();
  private readonly unmatched: unknown[] = [];
  private readonly waiters: ((value: unknown) => void)[] = [];
  private nextId = 1;
  private gone: HindsightError | null = null;

  /** @internal use spawnHelper() */
  constructor(
    private readonly child: HelperProcess,
    hello: HelperHello,
    exited: Promise<number>,
    onLine: (handler: (line: unknown) => void) => void,
  ) {
    this.hello = hello;
    this.pid = child.pid ?? -1;
    this.exited = exited;
    onLine((message) => this.onMessage(message));
    void exited.then((code) => {
      this.gone = new HindsightError('io-error', `the helper stopped (exit ${code})`);
      for (const p of this.pending.values()) p.reject(this.gone);
      this.pending.clear();
    });
  }

  private onMessage(message: unknown): void {
    const m = message as { id?: unknown; event?: unknown; data?: unknown; result?: unknown; error?: unknown };
    if (m && m.event === 'progress' && typeof m.id === 'number') {
      this.pending.get(m.id)?.onProgress?.(m.data as ProgressEvent);
      return;
    }
    const pending = typeof m?.id === 'number' ? this.pending.get(m.id) : undefined;
    if (!pending) {
      const waiter = this.waiters.shift();
      if (waiter) waiter(message);
      else this.unmatched.push(message);
      return;
    }
    this.pending.delete(m.id as number);
    if (m.error && typeof m.error === 'object') {
      const e = m.error as { code?: unknown; message?: unknown };
      pending.reject(
        fromErrorPayload({
          code: isErrorCode(e.code) ? e.code : 'internal',
          message: typeof e.message === 'string' ? e.message : 'the helper failed',
        }),
      );
    } else pending.resolve(m.result);
  }

  /** Sends one request; validates it first with the same schema the helper uses. */
  call<M extends HelperMethod>(
    method: M,
    params: HelperParams<M>,
    onProgress?: (event: ProgressEvent) => void,
  ): Promise<HelperResult<M>> {
    if (this.gone) return Promise.reject(this.gone);
    const parsed = helperParams[method].safeParse(params);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return Promise.reject(
        new HindsightError(
          'bad-request',
          `invalid ${method} request: ${issue?.path.join('.') || 'params'}: ${issue?.message ?? 'invalid'}`,
        ),
      );
    }
    const id = this.nextId++;
    return new Promise<HelperResult<M>>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, onProgress });
      this.child.stdin.write(`${JSON.stringify({ id, method, params: parsed.data })}\n`);
    });
  }

  /** Writes raw bytes to the helper (protocol tests); answers not tied to a call arrive via nextUnmatched(). */
  sendRaw(data: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      this.child.stdin.write(data, (error) => (error ? reject(error) : resolve()));
    });
  }

  /** The next message that answers no pending call (an error for a malformed line, say). */
  nextUnmatched(timeoutMs = 30_000): Promise<unknown> {
    const queued = this.unmatched.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new HindsightError('io-error', `no answer from the helper within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = (value: unknown): void => {
        clearTimeout(timer);
        resolve(value);
      };
      this.waiters.push(waiter);
    });
  }

  /** Closes stdin: the helper finishes what runs, then exits (see `exited` for its code). */
  async close(timeoutMs?: number): Promise<void> {
    this.child.stdin.end();
    if (timeoutMs === undefined) {
      await this.exited;
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((r) => {
      timer = setTimeout(() => r('timeout'), timeoutMs);
    });
    const outcome = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      this.child.kill('SIGTERM');
      await this.exited;
    }
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    this.child.kill(signal);
  }
}

export interface LaunchPlan {
  program: string;
  args: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  viaPkexec: boolean;
}

/** How spawnHelper starts the helper for a caller running as `uid`: pkexec only when root is needed and missing. */
export function launchPlan(options: SpawnHelperOptions, uid = process.getuid?.() ?? 0): LaunchPlan {
  const helperArgs = [
    options.mode ?? 'manage',
    '--sysroot',
    resolve(options.sysroot),
    ...(options.os ? ['--os', options.os] : []),
  ];
  // A sysroot the caller owns (the demo in their home) is changed as the caller: the root helper
  // refuses folders another user can change, and root would add nothing there.
  if (options.privileged === true && uid !== 0 && changesNeedRoot(options.sysroot, uid)) {
    const pkexec = options.pkexec ?? findProgram('pkexec');
    if (!pkexec) {
      throw new HindsightError(
        'not-authorized',
        'pkexec is not installed, so Hindsight cannot ask for root (install polkit, or run as root)',
      );
    }
    return {
      program: pkexec,
      args: [
        ...(options.interactiveAuth ? [] : ['--disable-internal-agent']),
        options.launcher ?? INSTALLED_HELPER,
        ...helperArgs,
      ],
      viaPkexec: true,
    };
  }
  const command = options.command ?? defaultHelperCommand();
  return {
    program: command.program,
    args: [...command.args, ...helperArgs],
    ...(command.cwd ? { cwd: command.cwd } : {}),
    ...(command.env ? { env: command.env } : {}),
    viaPkexec: false,
  };
}

/** pkexec's own exit codes, in words: 126 the user dismissed the dialog, 127 polkit said no (or pkexec failed). */
export function pkexecFailure(code: number): HindsightError | null {
  if (code === 126)
    return new HindsightError('auth-dismissed', 'authentication dismissed: nothing was changed');
  if (code === 127) {
    return new HindsightError(
      'not-authorized',
      'not authorized: polkit refused (or pkexec could not run the helper); nothing was changed',
    );
  }
  return null;
}

/** Starts a helper and waits for its hello. pkexec's 126/127 become auth-dismissed / not-authorized. */
export async function spawnHelper(options: SpawnHelperOptions, uid?: number): Promise<HelperClient> {
  const { program, args, cwd, env, viaPkexec } = launchPlan(options, uid);
  const child = startProgram(program, args, { cwd, env, detached: options.detached });
  const exited = new Promise<number>((resolveExit) => {
    child.on('close', (code, signal) => resolveExit(code ?? (signal ? 128 : 1)));
    child.on('error', () => resolveExit(127));
  });
  child.stdin.on('error', () => {
    // the helper is gone; the exit handler rejects what waits
  });
  let stderrTail = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text: string) => {
    stderrTail = (stderrTail + text).slice(-4096);
    options.onStderr?.(text);
  });

  const reader = new LineReader(MAX_ANSWER_BYTES);
  let deliver: ((message: unknown) => void) | null = null;
  const early: unknown[] = [];
  let helloResolve: ((hello: HelperHello) => void) | null = null;
  const helloSeen = new Promise<HelperHello>((r) => {
    helloResolve = r;
  });
  let sawHello = false;
  child.stdout.on('data', (chunk: Buffer) => {
    for (const event of reader.push(chunk)) {
      if (event.kind === 'overflow') continue;
      let message: unknown;
      try {
        message = JSON.parse(event.line.toString('utf8'));
      } catch {
        continue;
      }
      if (!sawHello) {
        const hello = (message as { hello?: HelperHello } | null)?.hello;
        if (hello) {
          sawHello = true;
          helloResolve?.(hello);
        }
        continue;
      }
      if (deliver) deliver(message);
      else early.push(message);
    }
  });

  const timeoutMs = options.helloTimeoutMs ?? (viaPkexec ? 300_000 : 30_000);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((r) => {
    timer = setTimeout(() => r('timeout'), timeoutMs);
  });
  const first = await Promise.race([helloSeen, exited.then((code) => ({ exitCode: code })), timeout]);
  clearTimeout(timer);
  if (first === 'timeout') {
    child.kill('SIGKILL');
    throw new HindsightError('io-error', `the helper did not start within ${Math.round(timeoutMs / 1000)} s`);
  }
  if ('exitCode' in first) {
    const code = first.exitCode;
    const refused = viaPkexec ? pkexecFailure(code) : null;
    if (refused) throw refused;
    const last = stderrTail
      .trim()
      .split('\n')
      .pop()
      ?.replace(/^hindsight-helper:\s*/, '');
    throw new HindsightError(
      code === 2 ? 'bad-request' : 'io-error',
      `the helper exited before starting (exit ${code})${last ? `: ${last}` : ''}`,
    );
  }
  const hello = first;
  if (hello.protocol !== HELPER_PROTOCOL_VERSION) {
    child.stdin.end();
    throw new HindsightError(
      'unsupported',
      `the helper speaks protocol ${hello.protocol}, this app ${HELPER_PROTOCOL_VERSION}; reinstall Hindsight`,
    );
  }
  return new HelperClient(child, hello, exited, (handler) => {
    deliver = handler;
    for (const message of early.splice(0)) handler(message);
  });
}
