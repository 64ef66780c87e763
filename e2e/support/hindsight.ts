import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  test as base,
  chromium,
  type ElectronApplication,
  _electron as electron,
  expect,
  type Page,
} from '@playwright/test';

/**
 * One real Hindsight per spec file: a fresh demo sysroot built by the CLI in a temporary folder, and
 * the app opened on it — `hindsight serve` in Chromium, or the Electron app when the project asks
 * for it. Nothing is mocked: the helper, ostree and the package databases are the real ones.
 */

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(ROOT, 'electron', 'cli', 'hindsight.mjs');
export const SCREENSHOTS = join(ROOT, 'e2e', 'screenshots');

import { CHROMIUM_ARGS } from './chromium-args.ts';

export { CHROMIUM_ARGS };

export type Target = 'browser' | 'electron';

export interface Demo {
  /** The temporary folder holding the demo and the app's data. */
  root: string;
  sysroot: string;
  remoteRepo: string;
  /** Opened as the app's own demo (no --sysroot), so the demo banner shows. */
  embedded: boolean;
}

export interface Deployed {
  index: number;
  checksum: string;
  serial: number;
  version: string | null;
  pinned: boolean;
  default: boolean;
}

function findOstree(): string {
  for (const dir of ['/usr/bin', '/bin', '/usr/local/bin']) {
    if (existsSync(join(dir, 'ostree'))) return join(dir, 'ostree');
  }
  throw new Error('ostree is not installed');
}

export const OSTREE = findOstree();

/**
 * Builds a fresh demo through the CLI, as a newcomer would. `embedded` puts it where the app looks
 * for its own demo (the data folder), so the app opens it as "the demo" without being told a sysroot.
 */
export function buildDemo(embedded = false): Demo {
  const root = mkdtempSync(join(tmpdir(), 'hindsight-e2e-'));
  const dir = embedded ? join(root, 'data', 'hindsight', 'demo') : join(root, 'demo');
  execFileSync(process.execPath, [CLI, 'demo', dir], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: appEnv(root),
  });
  const marker = JSON.parse(readFileSync(join(dir, '.hindsight-demo.json'), 'utf8')) as {
    sysroot: string;
    remoteRepo: string;
  };
  return { root, sysroot: marker.sysroot, remoteRepo: marker.remoteRepo, embedded };
}

/** Deployment folders carry the immutable attribute: lift it, then delete. */
export function removeDemo(demo: Demo): void {
  for (const chattr of ['/usr/bin/chattr', '/bin/chattr']) {
    if (existsSync(chattr)) {
      try {
        execFileSync(chattr, ['-R', '-f', '-i', demo.root], { stdio: 'ignore' });
      } catch {
        // files without the attribute make chattr exit non-zero; the removal below still runs
      }
      break;
    }
  }
  rmSync(demo.root, { recursive: true, force: true });
}

/** The app's cache and notes go into the spec's own folder, never the user's. */
function appEnv(root: string): NodeJS.ProcessEnv {
  return { ...process.env, XDG_DATA_HOME: join(root, 'data'), XDG_CONFIG_HOME: join(root, 'config') };
}

/** What ostree itself says, in deployment order (index 0 boots next). */
export function ostreeStatus(sysroot: string): string {
  return execFileSync(OSTREE, ['admin', 'status', `--sysroot=${sysroot}`], { encoding: 'utf8' });
}

/** Parses `ostree admin status` (2022.7 has no --json): one line per deployment, pinned/origin lines under it. */
export function ostreeDeployments(sysroot: string): Deployed[] {
  const out: Deployed[] = [];
  for (const line of ostreeStatus(sysroot).split('\n')) {
    const m = /^([* ]) (\S+) ([0-9a-f]{64})\.(\d+)(?: \((.*)\))?$/.exec(line);
    if (m) {
      out.push({
        index: out.length,
        checksum: m[3] as string,
        serial: Number(m[4]),
        version: null,
        pinned: false,
        default: out.length === 0,
      });
      continue;
    }
    const last = out[out.length - 1];
    if (!last) continue;
    const version = /^\s+Version: (.+)$/.exec(line);
    if (version) last.version = (version[1] as string).trim();
    if (/^\s+Pinned: yes/.test(line)) last.pinned = true;
  }
  return out;
}

export function deploymentEtc(demo: Demo, d: Pick<Deployed, 'checksum' | 'serial'>): string {
  return join(demo.sysroot, 'ostree', 'deploy', 'debian', 'deploy', `${d.checksum}.${d.serial}`, 'etc');
}

export function electronBinary(): string | null {
  const pkg = join(ROOT, 'node_modules', 'electron');
  const pathFile = join(pkg, 'path.txt');
  if (!existsSync(pathFile)) return null;
  const binary = join(pkg, 'dist', readFileSync(pathFile, 'utf8').trim());
  return existsSync(binary) ? binary : null;
}

/** Runs the hindsight CLI on the demo with the spec's own data folder, as a person at a terminal would. */
export function hindsightCli(demo: Demo, args: string[]): string {
  return execFileSync(
    process.execPath,
    [CLI, ...args, ...(demo.embedded ? [] : ['--sysroot', demo.sysroot])],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: appEnv(demo.root) },
  );
}

export interface RunningServer {
  url: string;
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * `hindsight serve`: the address with its one-time link is the first line of stdout. A fixed `port`
 * starts it where an earlier one ran; with the same data folder it keeps the same secret, so a tab the
 * earlier one let in is let in again, as after a reboot (the printed link is new each run).
 */
export async function startServer(demo: Demo, options: { port?: number } = {}): Promise<RunningServer> {
  const args = [
    CLI,
    'serve',
    ...(demo.embedded ? [] : ['--sysroot', demo.sysroot]),
    ...(options.port === undefined ? [] : ['--port', String(options.port)]),
  ];
  const child = spawn(process.execPath, args, {
    env: appEnv(demo.root),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(
      () => reject(new Error(`hindsight serve printed no address in 30 s\n${stderr}`)),
      30_000,
    );
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const line = stdout.split('\n')[0] ?? '';
      if (stdout.includes('\n')) {
        clearTimeout(timer);
        if (/^http:\/\/127\.0\.0\.1:\d+\/\?token=/.test(line)) resolve(line.trim());
        else reject(new Error(`unexpected first line from hindsight serve: ${line}\n${stderr}`));
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`hindsight serve exited with ${code}\n${stderr}`));
    });
  });
  return {
    url,
    port: Number(new URL(url).port),
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
        child.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}

export interface Hindsight {
  demo: Demo;
  page: Page;
  target: Target;
  /** Opens a screen by its address, as a bookmark or the sidebar would. */
  go(screen: string, params?: Record<string, string>): Promise<void>;
  reload(): Promise<void>;
  /** Browser mode: stops `hindsight serve` under the open page, as a reboot takes it away. */
  stopServer(): Promise<void>;
  /** Browser mode: starts `hindsight serve` again on the same port with the same data folder (secret). */
  startServerAgain(): Promise<void>;
  /** Browser mode: the address the running `hindsight serve` printed (its link already used by `page`). */
  address(): string;
}

interface OpenedApp {
  page: Page;
  close(): Promise<void>;
  stopServer(): Promise<void>;
  startServerAgain(): Promise<void>;
  address(): string;
}

/** Opens the app on a demo, in Chromium through `hindsight serve` or in Electron. */
async function openApp(target: Target, demo: Demo): Promise<OpenedApp> {
  if (target === 'electron') {
    const binary = electronBinary();
    if (!binary) throw new Error('the Electron binary is not installed');
    const app: ElectronApplication = await electron.launch({
      executablePath: binary,
      args: [
        join(ROOT, 'dist', 'electron', 'main.cjs'),
        ...(demo.embedded ? [] : [`--sysroot=${demo.sysroot}`]),
        // Chromium refuses to start as root with its sandbox on; test machines often run as root.
        ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
      ],
      env: appEnv(demo.root) as Record<string, string>,
    });
    const page = await app.firstWindow();
    await page.setViewportSize({ width: 1360, height: 900 });
    const browserOnly = (): Promise<void> =>
      Promise.reject(new Error('only browser mode has a server to stop and start'));
    return {
      page,
      close: () => app.close(),
      stopServer: browserOnly,
      startServerAgain: browserOnly,
      address: () => {
        throw new Error('only browser mode prints an address');
      },
    };
  }
  let server = await startServer(demo);
  const port = server.port;
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
  const page = await context.newPage();
  await page.goto(server.url);
  return {
    page,
    close: async () => {
      await browser.close();
      await server.stop();
    },
    stopServer: () => server.stop(),
    async startServerAgain() {
      server = await startServer(demo, { port });
      if (server.port !== port) throw new Error(`serve came back on port ${server.port}, not ${port}`);
    },
    address: () => server.url,
  };
}

/**
 * One app per spec file: a fresh demo and a fresh app before the file's first test, torn down after
 * its last. Tests in a file run in order and see each other's effects, as a person using the app
 * would. Call at the top of a spec file.
 */
export function hindsightPerFile(options: { embeddedDemo?: boolean } = {}): Hindsight {
  test.describe.configure({ mode: 'serial' });
  const hs = {} as Hindsight;
  let close: (() => Promise<void>) | null = null;
  // biome-ignore lint/correctness/noEmptyPattern: Playwright reads the fixtures a hook asks for from this pattern
  test.beforeAll(async ({}, testInfo) => {
    testInfo.setTimeout(120_000);
    const target = ((testInfo.project.metadata as { target?: Target }).target ?? 'browser') as Target;
    const demo = buildDemo(options.embeddedDemo);
    const opened = await openApp(target, demo);
    const { page } = opened;
    Object.assign(hs, {
      demo,
      page,
      target,
      async go(screen: string, params: Record<string, string> = {}) {
        const query = new URLSearchParams(params).toString();
        await page.evaluate(
          `window.location.hash = ${JSON.stringify(`#/${screen}${query ? `?${query}` : ''}`)}`,
        );
        await expect(page.locator('main h1')).toBeVisible({ timeout: 30_000 });
      },
      async reload() {
        await page.reload();
        await expect(page.locator('main h1')).toBeVisible({ timeout: 30_000 });
      },
      stopServer: () => opened.stopServer(),
      startServerAgain: () => opened.startServerAgain(),
      address: () => opened.address(),
    } satisfies Hindsight);
    close = async () => {
      await opened.close();
      removeDemo(demo);
    };
    await expect(page.locator('main h1')).toBeVisible({ timeout: 30_000 });
  });
  test.afterAll(async () => {
    await close?.();
  });
  return hs;
}

export const test = base;
export { expect };

export function version(hs: Hindsight, v: string): Deployed {
  const found = ostreeDeployments(hs.demo.sysroot).find((d) => d.version === v);
  if (!found) throw new Error(`no deployment with version ${v}`);
  return found;
}

export function selectorOf(d: Pick<Deployed, 'checksum' | 'serial'>): string {
  return `${d.checksum}.${d.serial}`;
}
