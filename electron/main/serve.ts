import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { hindsightDataDir } from '../core/app-cache.ts';
import { findProgram, startProgram } from '../core/exec.ts';
import { spawnHelper } from '../helper/helper-client.ts';
import { createAppContext } from './app-context.ts';
import { type BrowserServer, startBrowserServer } from './browser-server.ts';
import { rendererDir } from './paths.ts';

export interface ServeOptions {
  sysroot?: string;
  stateroot?: string;
  port?: number;
  /** Where the cache lives; default: next to the demo, in the user's data folder. */
  dataDir?: string;
  /** Open the address in the desktop's browser (`hindsight start`), where there is a desktop session. */
  openInBrowser?: boolean;
  out(line: string): void;
  err(line: string): void;
}

/**
 * Hands the address to the desktop's opener (xdg-open, found in the system folders, never $PATH),
 * detached so that the browser outlives nothing of ours. Without a desktop session (DISPLAY or
 * WAYLAND_DISPLAY) or without xdg-open, it says to open the printed address instead.
 */
export function openInDesktopBrowser(url: string, err: (line: string) => void): boolean {
  const session = Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);
  const xdgOpen = session ? findProgram('xdg-open') : null;
  if (!xdgOpen) {
    const why = session ? 'xdg-open is not installed' : 'there is no desktop session here';
    err(`Open the address above in your browser (${why} to open it for you).\n`);
    return false;
  }
  const opener = startProgram(xdgOpen, [url], { detached: true });
  opener.on('error', () => {});
  opener.stdin.destroy();
  opener.stdout.destroy();
  opener.stderr.destroy();
  opener.unref();
  err('Opened it in your browser. The address works once: for another tab, run hindsight start again.\n');
  return true;
}

/**
 * `hindsight serve`: browser mode. Prints the address to open as the first line of stdout (its link
 * opens one tab, once: each run prints a new one), serves until SIGTERM or SIGINT, then stops the
 * helpers and closes the cache. The server's secret is kept in the user's data folder, so a tab left
 * open reconnects when serve is started again (after a reboot).
 */
export async function runServe(options: ServeOptions): Promise<number> {
  const renderer = rendererDir();
  if (!existsSync(join(renderer, 'index.html'))) {
    options.err('hindsight: the app is not built yet; run npm run build first\n');
    return 1;
  }
  let broadcast: (
    event: Parameters<Parameters<typeof createAppContext>[0]['emit']>[0],
    payload: unknown,
  ) => void = () => {};
  const context = await createAppContext({
    mode: 'browser',
    sysroot: options.sysroot,
    stateroot: options.stateroot,
    dataDir: options.dataDir ?? join(hindsightDataDir(), 'cache'),
    launchHelper: (launch) => spawnHelper(launch),
    emit: (event, payload) => broadcast(event, payload),
    log: (line) => options.err(`${line}\n`),
  });
  let server: BrowserServer;
  try {
    server = await startBrowserServer({
      rendererDir: renderer,
      dispatch: context.dispatch,
      port: options.port,
      tokenFile: join(hindsightDataDir(), 'serve', 'token'),
    });
  } catch (error) {
    // A port in use, say: close the cache (and any helper) before the CLI reports it.
    await context.dispose();
    throw error;
  }
  broadcast = server.broadcast;
  options.out(`${server.url}\n`);
  if (options.openInBrowser) openInDesktopBrowser(server.url, options.err);
  options.err(
    `Hindsight is serving ${context.demo ? 'the demo sysroot' : context.sysroot} at the address above (Ctrl+C stops it).\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = (): void => resolve();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  await server.close();
  await context.dispose();
  return 0;
}
