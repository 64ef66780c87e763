import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { hindsightDataDir } from '../core/app-cache.ts';
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
  out(line: string): void;
  err(line: string): void;
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
