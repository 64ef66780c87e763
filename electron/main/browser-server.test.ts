import assert from 'node:assert/strict';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TOKEN_COOKIE, TOKEN_HEADER } from '../../shared/ipc-contract.ts';
import { type BrowserServer, startBrowserServer } from './browser-server.ts';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw HTTP request, so Host and Origin can be set the way an attacker's page would. */
function http(
  port: number,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: options.method ?? 'GET',
        headers: { host: `127.0.0.1:${port}`, ...options.headers },
        // A fresh connection each time: a kept-alive one would outlive a server the test restarts.
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('browser mode server', () => {
  let server: BrowserServer;
  let dir = '';
  const seen: unknown[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hindsight-renderer-'));
    mkdirSync(join(dir, 'renderer'));
    writeFileSync(join(dir, 'renderer', 'index.html'), '<!doctype html><title>Hindsight</title>');
    writeFileSync(join(dir, 'renderer', 'app.js'), 'console.log(1)');
    writeFileSync(join(dir, 'secret.txt'), 'outside the renderer');
    server = await startBrowserServer({
      rendererDir: join(dir, 'renderer'),
      dispatch: async (channel, req) => {
        seen.push({ channel, req });
        return { result: { channel } };
      },
    });
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const json = (body: unknown, extra: Record<string, string> = {}) => ({
    method: 'POST',
    headers: { 'content-type': 'application/json', [TOKEN_HEADER]: server.token, ...extra },
    body: JSON.stringify(body),
  });

  it('prints a loopback URL with a long random token', () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{40,}$/);
  });

  it('serves the page only with the token, and sets an HttpOnly SameSite cookie for the rest', async () => {
    assert.equal((await http(server.port, '/')).status, 401);
    assert.equal((await http(server.port, '/app.js')).status, 401);
    const page = await http(server.port, `/?token=${server.token}`);
    assert.equal(page.status, 200);
    assert.match(
      String(page.headers['set-cookie']),
      new RegExp(`${TOKEN_COOKIE}=${server.token}; HttpOnly; SameSite=Strict`),
    );
    assert.match(String(page.headers['content-security-policy']), /default-src 'self'/);
    const script = await http(server.port, '/app.js', {
      headers: { cookie: `${TOKEN_COOKIE}=${server.token}` },
    });
    assert.equal(script.status, 200);
    assert.equal(script.body, 'console.log(1)');
  });

  it('dispatches API calls with the token and refuses them without it', async () => {
    const before = seen.length;
    const ok = await http(server.port, '/api/invoke', json({ channel: 'sysroot:status', request: {} }));
    assert.equal(ok.status, 200);
    assert.deepEqual(JSON.parse(ok.body), { result: { channel: 'sysroot:status' } });
    const wrong = await http(server.port, '/api/invoke', json({ channel: 'x' }, { [TOKEN_HEADER]: 'guess' }));
    assert.equal(wrong.status, 401);
    assert.equal(seen.length, before + 1, 'the refused call never reached the handlers');
  });

  it('refuses other origins, foreign Host headers (DNS rebinding) and non-JSON posts', async () => {
    const before = seen.length;
    assert.equal(
      (await http(server.port, '/api/invoke', json({ channel: 'a' }, { origin: 'https://evil.example' })))
        .status,
      403,
    );
    assert.equal(
      (await http(server.port, '/api/invoke', json({ channel: 'a' }, { host: 'evil.example' }))).status,
      421,
    );
    assert.equal(
      (
        await http(server.port, '/api/invoke', {
          ...json({}),
          headers: { [TOKEN_HEADER]: server.token, 'content-type': 'text/plain' },
        })
      ).status,
      415,
    );
    const bad = await http(server.port, '/api/invoke', { ...json({}), body: '{not json' });
    assert.equal(bad.status, 400);
    assert.equal(JSON.parse(bad.body).error.code, 'bad-request');
    assert.equal(seen.length, before);
  });

  it('never serves files outside the renderer folder', async () => {
    const cookie = { cookie: `${TOKEN_COOKIE}=${server.token}` };
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt']) {
      const reply = await http(server.port, path, { headers: cookie });
      assert.notEqual(reply.body, 'outside the renderer', path);
    }
  });

  it('pushes events to connected pages', async () => {
    const received = new Promise<string>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: server.port,
          path: '/api/events',
          headers: { host: `127.0.0.1:${server.port}`, cookie: `${TOKEN_COOKIE}=${server.token}` },
        },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => {
            text += c.toString();
            if (text.includes('data: ')) {
              req.destroy();
              resolve(text);
            } else server.broadcast('sysroot:changed', { reason: 'test' });
          });
        },
      );
      req.on('error', reject);
      req.end();
    });
    assert.match(await received, /data: {"event":"sysroot:changed","payload":{"reason":"test"}}/);
  });
});

describe('the browser-mode secret kept across restarts', () => {
  let dir = '';
  let rendererDir = '';

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'hindsight-token-'));
    rendererDir = join(dir, 'renderer');
    mkdirSync(rendererDir);
    writeFileSync(join(rendererDir, 'index.html'), '<!doctype html><title>Hindsight</title>');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const start = (tokenFile: string, port?: number): Promise<BrowserServer> =>
    startBrowserServer({
      rendererDir,
      dispatch: async (channel) => ({ result: { channel } }),
      tokenFile,
      ...(port === undefined ? {} : { port }),
    });
  const mode = (path: string): number => statSync(path).mode & 0o777;

  it('is made on the first start: its folder 0700, the file 0600, the token on one line', async () => {
    const file = join(dir, 'first', 'hindsight', 'serve', 'token');
    const server = await start(file);
    try {
      assert.match(server.token, /^[\w-]{43}$/);
      assert.equal(readFileSync(file, 'utf8'), `${server.token}\n`);
      assert.equal(mode(file), 0o600);
      assert.equal(mode(dirname(file)), 0o700);
    } finally {
      await server.close();
    }
  });

  it('is reused by the next start on the same port, which lets in the page the first run opened', async () => {
    const file = join(dir, 'restart', 'token');
    const first = await start(file);
    const page = await http(first.port, `/?token=${first.token}`);
    const cookie = String(page.headers['set-cookie']).split(';')[0] as string;
    await first.close();

    const second = await start(file, first.port);
    try {
      assert.equal(second.token, first.token);
      assert.equal(second.url, first.url);
      // What the open page sends: the session cookie, and the token it kept in sessionStorage.
      const call = await http(second.port, '/api/invoke', {
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie, [TOKEN_HEADER]: first.token },
        body: JSON.stringify({ channel: 'sysroot:status', request: {} }),
      });
      assert.equal(call.status, 200);
      assert.equal((await http(second.port, '/', { headers: { cookie } })).status, 200);
    } finally {
      await second.close();
    }
  });

  it('is replaced when the file is malformed, is not a plain file, or others could read it', async () => {
    const file = join(dir, 'replaced', 'token');
    const original = await start(file);
    await original.close();

    const cases: [string, () => void][] = [
      ['malformed', () => writeFileSync(file, 'not a token\n', { mode: 0o600 })],
      ['empty', () => writeFileSync(file, '', { mode: 0o600 })],
      [
        'readable by others',
        () => {
          writeFileSync(file, `${original.token}\n`);
          chmodSync(file, 0o644);
        },
      ],
      [
        'a symbolic link',
        () => {
          const elsewhere = join(dir, 'elsewhere-token');
          writeFileSync(elsewhere, `${original.token}\n`, { mode: 0o600 });
          rmSync(file);
          symlinkSync(elsewhere, file);
        },
      ],
    ];
    let previous = original.token;
    for (const [what, spoil] of cases) {
      spoil();
      const server = await start(file);
      await server.close();
      assert.notEqual(server.token, previous, what);
      assert.notEqual(server.token, original.token, what);
      assert.match(server.token, /^[\w-]{43}$/, what);
      assert.ok(statSync(file, { throwIfNoEntry: true }).isFile(), what);
      assert.equal(readFileSync(file, 'utf8'), `${server.token}\n`, what);
      assert.equal(mode(file), 0o600, what);
      previous = server.token;
    }
    assert.equal(readFileSync(join(dir, 'elsewhere-token'), 'utf8'), `${original.token}\n`);
  });

  it('takes its folder back to 0700 when it was opened up', async () => {
    const file = join(dir, 'loose', 'token');
    mkdirSync(dirname(file), { mode: 0o755 });
    chmodSync(dirname(file), 0o755);
    const server = await start(file);
    await server.close();
    assert.equal(mode(dirname(file)), 0o700);
  });
});
