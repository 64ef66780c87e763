import { readFile } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { app, BrowserWindow, protocol, session, shell } from 'electron';
import { toErrorPayload } from '../../shared/errors.ts';
import { spawnHelper } from '../helper/helper-client.ts';
import { createAppContext } from './app-context.ts';
import { broadcast, registerIpc } from './ipc-main.ts';
import { projectRoot, rendererDir } from './paths.ts';
import {
  APP_ORIGIN,
  APP_SCHEME,
  assertSecurePreferences,
  CONTENT_SECURITY_POLICY,
  externalUrlToOpen,
  SECURE_WEB_PREFERENCES,
} from './security.ts';

/**
 * Electron's main process: one secure window on the app's own scheme, IPC through the typed
 * contract, helpers for reading and managing. Browser mode (`hindsight serve`) shares everything
 * but this file.
 */

protocol.registerSchemesAsPrivileged([
  { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
]);
app.enableSandbox();

const MIME: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
};

function serveRenderer(): void {
  const root = rendererDir();
  protocol.handle(APP_SCHEME, async (request) => {
    const url = new URL(request.url);
    const relative = url.pathname === '/' ? 'index.html' : decodeURIComponent(url.pathname.slice(1));
    const file = normalize(join(root, relative));
    if (url.host !== 'app' || !file.startsWith(root + sep)) return new Response('not found', { status: 404 });
    try {
      const body = await readFile(file);
      return new Response(body, {
        headers: {
          'content-type': MIME[extname(file)] ?? 'application/octet-stream',
          'content-security-policy': CONTENT_SECURITY_POLICY,
          'x-content-type-options': 'nosniff',
        },
      });
    } catch {
      return new Response('not found', { status: 404 });
    }
  });
}

function lockDown(): void {
  const ses = session.defaultSession;
  ses.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  ses.setPermissionCheckHandler(() => false);
  app.on('web-contents-created', (_event, contents) => {
    contents.on('will-navigate', (event, url) => {
      if (!url.startsWith(`${APP_ORIGIN}/`)) event.preventDefault();
    });
    contents.on('will-redirect', (event) => event.preventDefault());
    contents.on('will-attach-webview', (event) => event.preventDefault());
    contents.setWindowOpenHandler(({ url }) => {
      // Links open in the user's browser, never inside the app, and only to the sites the app links to.
      try {
        void shell.openExternal(externalUrlToOpen(url));
      } catch (error) {
        console.warn(`hindsight: ${toErrorPayload(error).message}`);
      }
      return { action: 'deny' };
    });
  });
}

function createSecureWindow(): BrowserWindow {
  const webPreferences = {
    ...SECURE_WEB_PREFERENCES,
    preload: join(projectRoot(), 'dist', 'electron', 'preload.cjs'),
  };
  assertSecurePreferences(webPreferences);
  const window = new BrowserWindow({
    width: 1280,
    height: 820,
    minWidth: 900,
    minHeight: 600,
    title: 'Hindsight',
    show: false,
    autoHideMenuBar: true,
    webPreferences,
  });
  window.once('ready-to-show', () => window.show());
  void window.loadURL(`${APP_ORIGIN}/index.html`);
  return window;
}

async function start(): Promise<void> {
  await app.whenReady();
  serveRenderer();
  lockDown();
  const sysrootArg = process.argv.find((a) => a.startsWith('--sysroot='))?.slice('--sysroot='.length);
  const context = await createAppContext({
    mode: 'electron',
    sysroot: sysrootArg,
    dataDir: app.getPath('userData'),
    launchHelper: (options) => spawnHelper(options),
    emit: (event, payload) => broadcast(event, payload),
    log: (line) => console.log(line),
  });
  const unregister = registerIpc(context.dispatch);
  createSecureWindow();
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createSecureWindow();
  });
  app.on('window-all-closed', () => app.quit());
  app.on('will-quit', () => {
    unregister();
    void context.dispose();
  });
}

start().catch((error: unknown) => {
  console.error(`hindsight: ${(error as Error).message}`);
  app.exit(1);
});
