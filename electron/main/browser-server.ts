import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { HindsightError } from '../../shared/errors.ts';
import {
  BROWSER_ROUTES,
  type IpcEnvelope,
  type IpcEventName,
  TOKEN_COOKIE,
  TOKEN_HEADER,
} from '../../shared/ipc-contract.ts';
import { writeFileAtomic } from '../core/atomic-write.ts';
import { CONTENT_SECURITY_POLICY } from './security.ts';

/**
 * Browser mode: the same renderer and the same main-side handlers over HTTP on loopback, for
 * machines without the Electron binary and for end-to-end tests in Chromium. Every request needs
 * the secret (header, or the HttpOnly cookie set when the page is opened with it), the Host must be
 * loopback (no DNS rebinding) and an Origin, when sent, must be this server's.
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
  url: string;
  port: number;
  token: string;
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
 * The secret kept in `file`, made on first use: a page left open while the server restarts (the
 * machine rebooted, `hindsight serve` was started again) still holds it in its cookie and header,
 * so it reconnects by itself. The folder is made 0700 and the file 0600, written atomically. A file
 * that is missing, is not a plain file, does not hold a token, or that others could read (the secret
 * may have leaked) is replaced by a fresh secret.
 */
export function persistentToken(file: string): string {
  const dir = dirname(file);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
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

function sameSecret(given: string | undefined, token: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return rest.join('=');
  }
  return undefined;
}

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
  const clients = new Set<ServerResponse>();
  let port = 0;
  const allowedHosts = (): string[] => [`127.0.0.1:${port}`, `localhost:${port}`];
  const allowedOrigins = (): string[] => allowedHosts().map((h) => `http://${h}`);

  const authorised = (req: IncomingMessage, url: URL): boolean =>
    sameSecret(req.headers[TOKEN_HEADER] as string | undefined, token) ||
    sameSecret(cookie(req, TOKEN_COOKIE), token) ||
    sameSecret(url.searchParams.get('token') ?? undefined, token);

  const server = createServer(async (req, res) => {
    try {
      if (!allowedHosts().includes(req.headers.host ?? '')) return send(res, 421, 'wrong host');
      const origin = req.headers.origin;
      if (origin !== undefined && !allowedOrigins().includes(origin))
        return send(res, 403, 'cross-origin requests are refused');
      const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
      if (!authorised(req, url)) {
        return send(
          res,
          401,
          'Hindsight: open the address that `hindsight serve` printed (it carries the access token).',
        );
      }

      if (url.pathname === BROWSER_ROUTES.invoke) {
        if (req.method !== 'POST') return send(res, 405, 'POST only');
        if (!(req.headers['content-type'] ?? '').startsWith('application/json'))
          return send(res, 415, 'JSON only');
        let body: { channel?: unknown; request?: unknown };
        try {
          body = JSON.parse(await readBody(req)) as typeof body;
        } catch (error) {
          const message =
            (error as Error).message === 'request too large' ? 'request too large' : 'request is not JSON';
          return send(
            res,
            400,
            JSON.stringify({ error: { code: 'bad-request', message } }),
            'application/json',
          );
        }
        const envelope = await options.dispatch(body?.channel, body?.request);
        return send(res, 200, JSON.stringify(envelope), 'application/json');
      }

      if (url.pathname === BROWSER_ROUTES.events) {
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

      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'GET only');
      const relative = url.pathname === '/' ? 'index.html' : url.pathname.slice(1);
      const file = normalize(join(options.rendererDir, relative));
      if (!file.startsWith(options.rendererDir + sep)) return send(res, 404, 'not found');
      let content: Buffer;
      try {
        content = await readFile(file);
      } catch {
        return send(res, 404, 'not found');
      }
      const extra: Record<string, string> = {};
      if (relative === 'index.html') {
        // The page's scripts and the event stream authenticate with this cookie from now on.
        extra['set-cookie'] = `${TOKEN_COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`;
      }
      return send(res, 200, content, TYPES[extname(file)] ?? 'application/octet-stream', extra);
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
    url: `http://127.0.0.1:${port}/?token=${token}`,
    port,
    token,
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
