import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, lstatSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { HindsightError } from '../../shared/errors.ts';
import {
  BROWSER_ROUTES,
  type IpcEnvelope,
  type IpcEventName,
  TAB_SECRET_HEADER,
} from '../../shared/ipc-contract.ts';
import { makeDataFolder } from '../core/app-cache.ts';
import { writeFileAtomic } from '../core/atomic-write.ts';
import { CONTENT_SECURITY_POLICY } from './security.ts';

/**
 * Browser mode: the same renderer and the same main-side handlers over HTTP on loopback, for
 * machines without the Electron binary and for end-to-end tests in Chromium.
 *
 * Who may call: a tab, by the secret it holds. The printed address carries a one-time link token
 * that does nothing but open the page; the page's script trades it (POST `session`) for a tab secret
 * that it keeps in sessionStorage and sends in a header with every call and on the event stream.
 * Nothing is ever put in a cookie: cookies are scoped to a host, not a port, so one set by
 * 127.0.0.1:PORT is sent to every other server on 127.0.0.1 as well, and a page or server there
 * would get it. A header is sent only by script running on this origin, and sessionStorage belongs
 * to this origin and this tab. The Host must be this server's own address (no DNS rebinding) and an
 * Origin, when sent, this server's (no cross-origin calls or forms).
 */

export interface BrowserServerOptions {
  rendererDir: string;
  dispatch(channel: unknown, request: unknown): Promise<IpcEnvelope<unknown>>;
  port?: number;
  token?: string;
  /**
   * Where the secret is kept across runs (see persistentToken). Without it, and without `token`,
   * every run has a fresh secret and a page opened on an earlier run is refused.
   */
  tokenFile?: string;
}

export interface BrowserServer {
  /** The address to open: this run's first one-time link. */
  url: string;
  port: number;
  /** The server's own secret (the key tab secrets are made with); it never goes to a browser. */
  token: string;
  /** Another one-time address, for another tab. */
  newLink(): string;
  broadcast(event: IpcEventName, payload: unknown): void;
  close(): Promise<void>;
}

const MAX_BODY = 20 * 1024 * 1024;
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

/** 32 random bytes in base64url, as persistentToken writes them. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/**
 * The secret kept in `file`, made on first use: the key tab secrets are made with (see tabSecrets),
 * so a page left open while the server restarts (the machine rebooted, `hindsight serve` was started
 * again) is still let in and reconnects by itself. The folder is made 0700 and the file 0600, written atomically. A file
 * that is missing, is not a plain file, does not hold a token, or that others could read (the secret
 * may have leaked) is replaced by a fresh secret.
 */
export function persistentToken(file: string): string {
  const dir = dirname(file);
  makeDataFolder(dir, 0o700);
  // mkdir's mode does nothing for a folder that already exists.
  chmodSync(dir, 0o700);
  try {
    const stat = lstatSync(file);
    if (stat.isFile() && (stat.mode & 0o077) === 0 && stat.size <= 64) {
      const kept = readFileSync(file, 'utf8').trim();
      if (TOKEN_SHAPE.test(kept)) return kept;
    }
  } catch {
    // no token yet (or unreadable): make one below
  }
  const token = randomBytes(32).toString('base64url');
  writeFileAtomic(file, `${token}\n`, { mode: 0o600 });
  return token;
}

/** Why the server could not listen, as one line that names the port. */
function listenError(error: Error, port: number): HindsightError {
  const code = (error as NodeJS.ErrnoException).code;
  const where = port ? `port ${port}` : 'a free port';
  if (code === 'EADDRINUSE') {
    return new HindsightError(
      'io-error',
      `cannot serve on 127.0.0.1: port ${port} is in use by another program (give another with --port, or leave it out for a free one)`,
      { cause: error },
    );
  }
  if (code === 'EACCES') {
    return new HindsightError(
      'io-error',
      `cannot serve on 127.0.0.1: not allowed to listen on ${where} (ports below 1024 need root; give another with --port)`,
      { cause: error },
    );
  }
  return new HindsightError(
    'io-error',
    `cannot serve on 127.0.0.1, ${where}: ${error.message.split('\n')[0]}`,
    { cause: error },
  );
}

function sameSecret(given: string | undefined, expected: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** 16 random bytes, a dot, their HMAC-SHA256: the shape of a tab secret. */
const TAB_SECRET_SHAPE = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

/**
 * Tab secrets are made from the server's secret rather than remembered: `id.HMAC(key, id)`. Only
 * whoever holds the key (this server, and the next one started with the same token file) can make
 * one, so after a restart a tab's secret is still good and the tab reconnects by itself, with no
 * list of issued secrets to write next to the token, keep private and prune. The tab keeps its secret
 * in sessionStorage: it survives reloads and the server going away, and is gone with the tab.
 * Replacing the token file (deleting it) ends every tab's access at once.
 */
export function tabSecrets(key: string): { issue(): string; valid(given: string | undefined): boolean } {
  const mac = (id: string): string =>
    createHmac('sha256', key).update(`hindsight browser tab ${id}`).digest('base64url');
  return {
    issue() {
      const id = randomBytes(16).toString('base64url');
      return `${id}.${mac(id)}`;
    },
    valid(given) {
      const m = TAB_SECRET_SHAPE.exec(given ?? '');
      return m !== null && sameSecret(m[2], mac(m[1] as string));
    },
  };
}

const digest = (value: string): string => createHash('sha256').update(value).digest('hex');

function send(
  res: ServerResponse,
  status: number,
  body: string | Buffer,
  type = 'text/plain; charset=utf-8',
  extra: Record<string, string> = {},
): void {
  res.writeHead(status, {
    'content-type': type,
    'content-security-policy': CONTENT_SECURITY_POLICY,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    'cache-control': 'no-store',
    ...extra,
  });
  res.end(body);
}

const NO_ACCESS_STYLE = `
  :root { color-scheme: light dark; font-family: system-ui, -apple-system, "Cantarell", "Segoe UI", "Noto Sans", sans-serif; }
  body { margin: 0; min-height: 100vh; display: grid; place-items: center; background: #f5f6f8; color: #1b1f24; }
  main { max-width: 34rem; margin: 2rem; padding: 2rem 2.25rem; background: #fff; border: 1px solid #d9dee4; border-radius: 12px; }
  h1 { margin: 0 0 0.75rem; font-size: 1.35rem; }
  p { line-height: 1.5; color: #3d454e; }
  code { font-family: ui-monospace, "DejaVu Sans Mono", monospace; background: #f0f2f5; padding: 0.1rem 0.35rem; border-radius: 6px; white-space: nowrap; }
  @media (prefers-color-scheme: dark) {
    body { background: #0f1216; color: #e6e9ed; }
    main { background: #171b21; border-color: #2d333b; }
    p { color: #b1bac4; }
    code { background: #22272e; }
  }`;

/** What a browser sees without a valid address: how to get one. No script; its one style is hashed. */
const NO_ACCESS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Hindsight: open a new address</title>
<style>${NO_ACCESS_STYLE}</style>
</head>
<body>
<main>
<h1>This address no longer opens Hindsight</h1>
<p>Each address Hindsight prints opens one tab, once, so that nothing else on this computer can reuse it. A tab that is already open keeps working, also after Hindsight restarts.</p>
<p>To open Hindsight again, run <code>hindsight start</code> (or <code>hindsight serve</code>) in a terminal and open the new address it prints.</p>
</main>
</body>
</html>
`;

const NO_ACCESS_CSP = [
  "default-src 'none'",
  `style-src 'sha256-${createHash('sha256').update(NO_ACCESS_STYLE).digest('base64')}'`,
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const API_PREFIX = '/api/';

/** A refusal: JSON `{error}` for API routes, the page above for a page without access, else text. */
function refuse(
  res: ServerResponse,
  path: string,
  status: number,
  code: 'not-authorized' | 'refused' | 'bad-request',
  message: string,
): void {
  if (path.startsWith(API_PREFIX)) {
    send(res, status, JSON.stringify({ error: { code, message } }), 'application/json');
  } else if (status === 401) {
    send(res, 401, NO_ACCESS_PAGE, TYPES['.html'], { 'content-security-policy': NO_ACCESS_CSP });
  } else {
    send(res, status, message);
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new Error('request too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function startBrowserServer(options: BrowserServerOptions): Promise<BrowserServer> {
  const token =
    options.token ??
    (options.tokenFile ? persistentToken(options.tokenFile) : randomBytes(32).toString('base64url'));
  const tabs = tabSecrets(token);
  /**
   * One-time link tokens not used yet, by their SHA-256 (a lookup by digest tells a timing
   * observer nothing about the token). Kept in memory only: a link printed by an earlier run, found
   * later in a terminal's scrollback or a browser's history, opens nothing.
   */
  const links = new Set<string>();
  const clients = new Set<ServerResponse>();
  let port = 0;
  // Only the address the server listens on: a page reached by another name (a DNS-rebound domain,
  // "localhost") is another origin and gets nothing.
  const ownHost = (): string => `127.0.0.1:${port}`;
  const ownOrigin = (): string => `http://${ownHost()}`;
  const newLink = (): string => {
    const link = randomBytes(32).toString('base64url');
    links.add(digest(link));
    return `${ownOrigin()}/?token=${link}`;
  };
  const tabAllowed = (req: IncomingMessage): boolean =>
    tabs.valid(req.headers[TAB_SECRET_HEADER] as string | undefined);

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = url.pathname;
    try {
      if (req.headers.host !== ownHost()) {
        return refuse(res, path, 421, 'refused', `Hindsight answers only at ${ownHost()}`);
      }
      // Browsers send Origin with every cross-origin request and every POST: a page on another port,
      // another host or a sandboxed frame ("null") is refused before anything else is looked at.
      const origin = req.headers.origin;
      if (origin !== undefined && origin !== ownOrigin()) {
        return refuse(res, path, 403, 'refused', 'cross-origin requests are refused');
      }
      const noTab = (): void =>
        refuse(
          res,
          path,
          401,
          'not-authorized',
          'this tab has no access to Hindsight: run `hindsight start` and open the new address it prints',
        );
      const readJson = async <T>(): Promise<T | null> => {
        if (!(req.headers['content-type'] ?? '').startsWith('application/json')) {
          refuse(res, path, 415, 'bad-request', 'JSON only');
          return null;
        }
        try {
          return JSON.parse(await readBody(req)) as T;
        } catch (error) {
          const message =
            (error as Error).message === 'request too large' ? 'request too large' : 'request is not JSON';
          refuse(res, path, 400, 'bad-request', message);
          return null;
        }
      };

      if (path === BROWSER_ROUTES.session) {
        if (req.method !== 'POST') return refuse(res, path, 405, 'bad-request', 'POST only');
        const body = await readJson<{ token?: unknown }>();
        if (body === null) return;
        const link = typeof body?.token === 'string' ? digest(body.token) : '';
        // Used once: whoever trades the link first gets the tab secret; the link opens nothing after.
        if (!links.delete(link)) {
          return refuse(
            res,
            path,
            401,
            'not-authorized',
            'this address was used already or is from an earlier run: run `hindsight start` and open the new address it prints',
          );
        }
        return send(res, 200, JSON.stringify({ secret: tabs.issue() }), 'application/json');
      }

      if (path === BROWSER_ROUTES.invoke) {
        if (!tabAllowed(req)) return noTab();
        if (req.method !== 'POST') return refuse(res, path, 405, 'bad-request', 'POST only');
        const body = await readJson<{ channel?: unknown; request?: unknown }>();
        if (body === null) return;
        const envelope = await options.dispatch(body?.channel, body?.request);
        return send(res, 200, JSON.stringify(envelope), 'application/json');
      }

      if (path === BROWSER_ROUTES.events) {
        // Read by the page with fetch(), which, unlike EventSource, can send the tab secret.
        if (!tabAllowed(req)) return noTab();
        if (req.method !== 'GET') return refuse(res, path, 405, 'bad-request', 'GET only');
        res.writeHead(200, {
          'content-type': 'text/event-stream',
          'cache-control': 'no-store',
          connection: 'keep-alive',
          'x-content-type-options': 'nosniff',
        });
        res.write(': connected\n\n');
        clients.add(res);
        req.on('close', () => clients.delete(res));
        return;
      }

      if (path.startsWith(API_PREFIX)) return refuse(res, path, 404, 'bad-request', 'no such route');
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        return refuse(res, path, 405, 'bad-request', 'GET only');
      }
      if (path === BROWSER_ROUTES.noAccess) return noTab();

      // The page and its scripts and styles are the renderer as installed, the same for everyone:
      // they hold no secret and need none, so a reload (its address no longer has the link) works.
      // A link in the address, though, must be one not used yet: a used one gets the page that says
      // how to get a new address. The page's script, finding neither link nor tab secret, goes there.
      const relative = path === '/' ? 'index.html' : path.slice(1);
      if (relative === 'index.html' && url.searchParams.has('token')) {
        if (!links.has(digest(url.searchParams.get('token') ?? ''))) return noTab();
      }
      const file = normalize(join(options.rendererDir, relative));
      if (!file.startsWith(options.rendererDir + sep)) return send(res, 404, 'not found');
      let content: Buffer;
      try {
        content = await readFile(file);
      } catch {
        return send(res, 404, 'not found');
      }
      return send(res, 200, content, TYPES[extname(file)] ?? 'application/octet-stream');
    } catch (error) {
      if (!res.headersSent) send(res, 500, `internal error: ${(error as Error).message.split('\n')[0]}`);
      else res.end();
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(listenError(error, options.port ?? 0)));
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  const heartbeat = setInterval(() => {
    for (const client of clients) client.write(': keep-alive\n\n');
  }, 15_000);
  heartbeat.unref();

  return {
    url: newLink(),
    port,
    token,
    newLink,
    broadcast(event, payload) {
      const data = `data: ${JSON.stringify({ event, payload })}\n\n`;
      for (const client of clients) client.write(data);
    },
    close() {
      clearInterval(heartbeat);
      for (const client of clients) client.end();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
