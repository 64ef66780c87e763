import assert from 'node:assert/strict';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Browser, type BrowserContext, chromium } from 'playwright-core';
import { CHROMIUM_ARGS } from '../../e2e/support/chromium-args.ts';
import { BROWSER_ROUTES, TAB_SECRET_HEADER } from '../../shared/ipc-contract.ts';
import { type BrowserServer, startBrowserServer } from './browser-server.ts';

const CHROMIUM = '/usr/bin/chromium';

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

/** What the page's script does first: trade the one-time link for a tab secret. */
async function trade(port: number, link: string): Promise<Reply> {
  return http(port, '/api/session', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token: link }),
  });
}

const linkOf = (url: string): string => new URL(url).searchParams.get('token') ?? '';

async function tabSecret(server: BrowserServer): Promise<string> {
  const reply = await trade(server.port, linkOf(server.newLink()));
  assert.equal(reply.status, 200, reply.body);
  return (JSON.parse(reply.body) as { secret: string }).secret;
}

/** Opens the event stream with `headers`; resolves with the status and, when let in, the first event. */
function events(
  server: BrowserServer,
  headers: Record<string, string>,
  path: string = BROWSER_ROUTES.events,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: server.port,
        path,
        agent: false,
        headers: { host: `127.0.0.1:${server.port}`, ...headers },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => {
          text += c.toString();
          if (res.statusCode !== 200) return;
          if (text.includes('data: ')) {
            req.destroy();
            resolve({ status: 200, text });
          } else server.broadcast('sysroot:changed', { reason: 'test' });
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('browser mode server', () => {
  let server: BrowserServer;
  let dir = '';
  let secret = '';
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
    secret = await tabSecret(server);
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const json = (body: unknown, extra: Record<string, string> = {}) => ({
    method: 'POST',
    headers: { 'content-type': 'application/json', [TAB_SECRET_HEADER]: secret, ...extra },
    body: JSON.stringify(body),
  });
  const refused = (reply: Reply, status: number): void => {
    assert.equal(reply.status, status, reply.body);
    assert.match(String(reply.headers['content-type']), /^application\/json/);
    assert.equal((JSON.parse(reply.body) as { error: { code: string } }).error.code, 'not-authorized');
  };

  it('prints a loopback URL with a long random one-time link, never the server secret', () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{40,}$/);
    assert.ok(!server.url.includes(server.token));
    assert.notEqual(linkOf(server.newLink()), linkOf(server.newLink()));
  });

  it('opens the page with an unused link, and sets no cookie', async () => {
    const link = server.newLink();
    const page = await http(server.port, `/?token=${linkOf(link)}`);
    assert.equal(page.status, 200);
    assert.equal(page.headers['set-cookie'], undefined);
    assert.match(String(page.headers['content-security-policy']), /default-src 'self'/);
    assert.equal(page.headers['referrer-policy'], 'no-referrer');
    // The shell and its scripts hold no secret: a reload (its address cleaned of the link) gets them.
    assert.equal((await http(server.port, '/')).status, 200);
    const script = await http(server.port, '/app.js');
    assert.equal(script.body, 'console.log(1)');
  });

  it('trades a link once: used again it opens a styled page that says how to get a new one', async () => {
    const link = linkOf(server.newLink());
    const first = await trade(server.port, link);
    assert.equal(first.status, 200);
    assert.equal(first.headers['set-cookie'], undefined);
    assert.match((JSON.parse(first.body) as { secret: string }).secret, /^[\w-]{22}\.[\w-]{43}$/);
    refused(await trade(server.port, link), 401);
    for (const path of [`/?token=${link}`, '/?token=guess', BROWSER_ROUTES.noAccess]) {
      const page = await http(server.port, path);
      assert.equal(page.status, 401, path);
      assert.match(String(page.headers['content-type']), /^text\/html/, path);
      assert.match(page.body, /<style>/, path);
      assert.match(page.body, /hindsight start/, path);
      // No script runs on it; its one style is allowed by hash.
      assert.match(String(page.headers['content-security-policy']), /default-src 'none'; style-src 'sha256-/);
    }
  });

  it('dispatches API calls with a tab secret, and refuses a link, the server secret or a forgery', async () => {
    const before = seen.length;
    const ok = await http(server.port, '/api/invoke', json({ channel: 'sysroot:status', request: {} }));
    assert.equal(ok.status, 200);
    assert.deepEqual(JSON.parse(ok.body), { result: { channel: 'sysroot:status' } });
    const link = linkOf(server.newLink());
    const [id] = secret.split('.');
    const body = { channel: 'deployments:unpin', request: { deployment: '0' } };
    refused(await http(server.port, '/api/invoke', json(body, { [TAB_SECRET_HEADER]: '' })), 401);
    refused(await http(server.port, '/api/invoke', json(body, { [TAB_SECRET_HEADER]: link })), 401);
    refused(
      await http(server.port, `/api/invoke?token=${link}`, json(body, { [TAB_SECRET_HEADER]: '' })),
      401,
    );
    refused(await http(server.port, '/api/invoke', json(body, { [TAB_SECRET_HEADER]: server.token })), 401);
    refused(
      await http(server.port, '/api/invoke', json(body, { [TAB_SECRET_HEADER]: `${id}.${'A'.repeat(43)}` })),
      401,
    );
    refused(
      await http(
        server.port,
        '/api/invoke',
        json(body, { [TAB_SECRET_HEADER]: '', cookie: `token=${secret}` }),
      ),
      401,
    );
    assert.equal(seen.length, before + 1, 'the refused calls never reached the handlers');
    // The link those calls carried is still unused: it never authorised anything, and still opens a tab.
    assert.equal((await trade(server.port, link)).status, 200);
  });

  it('refuses other origins, foreign Host headers (DNS rebinding, other names) and non-JSON posts', async () => {
    const before = seen.length;
    const call = json({ channel: 'deployments:unpin', request: { deployment: '0' } });
    const other = `http://127.0.0.1:${server.port + 1}`;
    for (const origin of ['https://evil.example', other, 'null', `http://localhost:${server.port}`]) {
      const reply = await http(server.port, '/api/invoke', { ...call, headers: { ...call.headers, origin } });
      assert.equal(reply.status, 403, origin);
    }
    const foreignTrade = await http(server.port, BROWSER_ROUTES.session, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: other },
      body: JSON.stringify({ token: linkOf(server.newLink()) }),
    });
    assert.equal(foreignTrade.status, 403);
    for (const host of ['evil.example', `evil.example:${server.port}`, `localhost:${server.port}`]) {
      const reply = await http(server.port, '/api/invoke', { ...call, headers: { ...call.headers, host } });
      assert.equal(reply.status, 421, host);
    }
    assert.equal(
      (
        await http(server.port, '/api/invoke', {
          ...json({}),
          headers: { [TAB_SECRET_HEADER]: secret, 'content-type': 'text/plain' },
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
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt']) {
      const reply = await http(server.port, path);
      assert.notEqual(reply.body, 'outside the renderer', path);
    }
  });

  it('pushes events only to a stream opened with a tab secret', async () => {
    const link = linkOf(server.newLink());
    for (const [headers, path] of [
      [{}, BROWSER_ROUTES.events],
      [{}, `${BROWSER_ROUTES.events}?token=${link}`],
      [{ [TAB_SECRET_HEADER]: link }, BROWSER_ROUTES.events],
      [{ [TAB_SECRET_HEADER]: server.token }, BROWSER_ROUTES.events],
    ] as const) {
      const reply = await events(server, headers, path);
      assert.equal(reply.status, 401, JSON.stringify({ headers, path }));
      assert.doesNotMatch(reply.text, /data: /);
    }
    const { status, text } = await events(server, { [TAB_SECRET_HEADER]: secret });
    assert.equal(status, 200);
    assert.match(text, /data: {"event":"sysroot:changed","payload":{"reason":"test"}}/);
  });
});

/**
 * The attack this design stops, in a real browser: the user has Hindsight open; a page from another
 * server on 127.0.0.1 (another port) is opened in the same browser. Cookies are per host, not per
 * port, so a cookie Hindsight set would be sent to that server, which could replay it; and the page
 * itself tries Hindsight's API with the browser's credentials.
 */
describe('a page on another port of 127.0.0.1, in the same browser', {
  skip: !existsSync(CHROMIUM) && `needs Chromium at ${CHROMIUM}`,
}, () => {
  let dir = '';
  let hindsight: BrowserServer;
  let attacker: Server;
  let attackerPort = 0;
  let browser: Browser;
  let context: BrowserContext;
  const dispatched: string[] = [];
  /** The Cookie headers the other server received, and what its replays of them got back. */
  const cookiesSeen: string[] = [];
  const replays: number[] = [];

  /** The renderer's first steps, as renderer/api/client.ts takes them. */
  const PAGE_SCRIPT = `
    const link = new URLSearchParams(location.search).get('token');
    history.replaceState(null, '', '/');
    try {
      const traded = await fetch('${BROWSER_ROUTES.session}', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token: link }),
      });
      const { secret } = await traded.json();
      sessionStorage.setItem('hindsight-tab-secret', secret);
      const call = await fetch('${BROWSER_ROUTES.invoke}', {
        method: 'POST',
        headers: { 'content-type': 'application/json', '${TAB_SECRET_HEADER}': secret },
        body: JSON.stringify({ channel: 'app:info', request: {} }),
      });
      document.title = 'answered ' + call.status;
    } catch (error) {
      document.title = 'failed ' + error;
    }
  `;

  /** Everything a page elsewhere can try with the browser's credentials; each try's outcome. */
  const attackPage = (target: string): string => `<!doctype html>
<title>elsewhere</title>
<iframe name="sink"></iframe>
<form id="form" method="POST" action="${target}/api/invoke" enctype="text/plain" target="sink">
  <input name='{"channel":"deployments:unpin","request":{"deployment":"0"},"pad":"' value='"}'>
</form>
<script>
  const unpin = JSON.stringify({ channel: 'deployments:unpin', request: { deployment: '0' } });
  const outcome = (p) => p.then((r) => (r.type === 'opaque' ? 'opaque' : r.status), () => 'blocked');
  window.attack = (async () => {
    const tries = {
      json: await outcome(fetch('${target}/api/invoke', {
        method: 'POST', credentials: 'include', headers: { 'content-type': 'application/json' }, body: unpin,
      })),
      simple: await outcome(fetch('${target}/api/invoke', {
        method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'content-type': 'text/plain' }, body: unpin,
      })),
      events: await outcome(fetch('${target}${BROWSER_ROUTES.events}', { credentials: 'include' })),
      session: await outcome(fetch('${target}${BROWSER_ROUTES.session}', {
        method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'content-type': 'text/plain' }, body: '{}',
      })),
    };
    await new Promise((resolve) => {
      document.querySelector('iframe').addEventListener('load', resolve, { once: true });
      setTimeout(resolve, 5000);
      document.getElementById('form').submit();
    });
    tries.form = 'submitted';
    return tries;
  })();
</script>`;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hindsight-cross-port-'));
    writeFileSync(
      join(dir, 'index.html'),
      '<!doctype html><title>loading</title><script type="module" src="./app.js"></script>',
    );
    writeFileSync(join(dir, 'app.js'), PAGE_SCRIPT);
    hindsight = await startBrowserServer({
      rendererDir: dir,
      dispatch: async (channel) => {
        dispatched.push(String(channel));
        return { result: { channel } };
      },
    });
    const target = `http://127.0.0.1:${hindsight.port}`;
    attacker = createServer(async (req, res) => {
      const cookie = req.headers.cookie;
      if (cookie) {
        cookiesSeen.push(cookie);
        // What a server that gets the cookie does with it: call Hindsight directly, no browser needed.
        const value = cookie.split(';')[0]?.split('=').slice(1).join('=') ?? '';
        const replay = await http(hindsight.port, '/api/invoke', {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            cookie,
            [TAB_SECRET_HEADER]: value,
            'x-hindsight-token': value,
          },
          body: JSON.stringify({ channel: 'etc:apply', request: {} }),
        });
        replays.push(replay.status);
      }
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(req.url === '/' ? attackPage(target) : '');
    });
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
    attackerPort = (attacker.address() as AddressInfo).port;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    context = await browser.newContext();
  });
  after(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => (attacker ? attacker.close(() => resolve()) : resolve()));
    await hindsight?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("Hindsight's own tab trades its link for a tab secret and is answered", async () => {
    const page = await context.newPage();
    await page.goto(hindsight.url);
    await page.waitForFunction(`document.title !== 'loading'`, undefined, { timeout: 15_000 });
    assert.equal(await page.title(), 'answered 200');
    assert.equal(new URL(page.url()).search, '', 'the link is gone from the address');
    assert.deepEqual(dispatched, ['app:info']);
  });

  it('the other page, and the server behind it, get nothing through', async () => {
    const before = dispatched.length;
    const page = await context.newPage();
    await page.goto(`http://127.0.0.1:${attackerPort}/`);
    const tries = (await page.evaluate('window.attack')) as Record<string, unknown>;
    // Requests that need a preflight never leave the browser; the rest are answered 401 or 403.
    assert.equal(tries.json, 'blocked');
    assert.equal(tries.events, 'blocked');
    assert.deepEqual(dispatched.slice(before), [], `nothing reached the handlers: ${JSON.stringify(tries)}`);
    // The other server was sent no cookie to replay (and its replays got nothing).
    assert.deepEqual(cookiesSeen, []);
    assert.deepEqual(replays, []);
  });

  it('Hindsight set no cookie for 127.0.0.1 at all', async () => {
    assert.deepEqual(await context.cookies(), []);
  });

  it('the printed address opens nothing a second time, and its link never authorises the API', async () => {
    const page = await context.newPage();
    const reply = await page.goto(hindsight.url);
    assert.equal(reply?.status(), 401);
    assert.match((await page.locator('main').textContent()) ?? '', /hindsight start/);
    const link = linkOf(hindsight.url);
    const call = await http(hindsight.port, `/api/invoke?token=${link}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [TAB_SECRET_HEADER]: link },
      body: JSON.stringify({ channel: 'deployments:unpin', request: { deployment: '0' } }),
    });
    assert.equal(call.status, 401);
    assert.equal((await trade(hindsight.port, link)).status, 401);
    assert.ok(!dispatched.includes('deployments:unpin'));
  });

  it('the event stream refuses a request without the tab secret, from the page or elsewhere', async () => {
    assert.equal((await events(hindsight, {})).status, 401);
    const page = await context.newPage();
    await page.goto(`http://127.0.0.1:${hindsight.port}/`);
    // The same origin as Hindsight's tab, but a new tab: it has no secret of its own.
    const status = await page.evaluate(
      async (path) => (await fetch(path, { credentials: 'include' })).status,
      BROWSER_ROUTES.events,
    );
    assert.equal(status, 401);
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

  it('is reused by the next start on the same port, which lets in the tab the first run opened', async () => {
    const file = join(dir, 'restart', 'token');
    const first = await start(file);
    const secret = await tabSecret(first);
    await first.close();

    const second = await start(file, first.port);
    try {
      assert.equal(second.token, first.token);
      // A new run prints a new link: the old one is spent, and would open nothing even if it were not.
      assert.notEqual(second.url, first.url);
      assert.equal((await trade(second.port, linkOf(first.url))).status, 401);
      // What the open tab sends: the secret it kept in sessionStorage.
      const call = await http(second.port, '/api/invoke', {
        method: 'POST',
        headers: { 'content-type': 'application/json', [TAB_SECRET_HEADER]: secret },
        body: JSON.stringify({ channel: 'sysroot:status', request: {} }),
      });
      assert.equal(call.status, 200);
    } finally {
      await second.close();
    }
    // A new secret (the file deleted): the tabs of earlier runs are let in no more.
    rmSync(file);
    const third = await start(file, first.port);
    try {
      const call = await http(third.port, '/api/invoke', {
        method: 'POST',
        headers: { 'content-type': 'application/json', [TAB_SECRET_HEADER]: secret },
        body: JSON.stringify({ channel: 'sysroot:status', request: {} }),
      });
      assert.equal(call.status, 401);
    } finally {
      await third.close();
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
