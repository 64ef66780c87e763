import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildDemo } from '../core/fixtures/demo.ts';
import { removeFixture } from '../core/fixtures/sysroot-fixture.ts';
import { electronBinary, rendererDir } from '../main/paths.ts';

const LAUNCHER = fileURLToPath(new URL('./hindsight.mjs', import.meta.url));

/**
 * `hindsight serve` and `hindsight start` (browser mode without the Electron binary) fail like every
 * other command: one line on stderr, `{"error":…}` with --json, a non-zero exit, no stack trace.
 * Run from these sources, in their own process; a run that would serve is stopped after a minute.
 */
function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync(process.execPath, [LAUNCHER, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, XDG_DATA_HOME: join(root, 'data'), HINDSIGHT_FROM_SOURCE: '1', ...env },
  });
  return { code: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
}

/** `notices`: lines said before the failure (start's note that it falls back to browser mode). */
function assertOneLine(result: ReturnType<typeof cli>, code: string | null, notices = 0): string {
  assert.equal(result.signal, null, `it served instead of failing: ${result.stderr}`);
  assert.notEqual(result.code, 0, result.stderr);
  assert.doesNotMatch(result.stderr, /^ {4}at /m, `no stack trace: ${result.stderr}`);
  const lines = result.stderr.trim().split('\n').slice(notices);
  assert.equal(lines.length, 1, `one line on stderr: ${result.stderr}`);
  assert.match(lines[0] as string, /^hindsight: \S/);
  const error = (JSON.parse(result.stdout) as { error: { code: string; message: string } }).error;
  if (code !== null) assert.equal(error.code, code);
  assert.equal(`hindsight: ${error.message}`, lines[0]);
  return lines[0] as string;
}

let root = '';
const built = existsSync(join(rendererDir(), 'index.html'));

describe('hindsight serve and start: expected failures', { skip: !built && 'needs npm run build' }, () => {
  let sysroot = '';
  let busy: Server;
  let port = 0;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'hindsight-cli-serve-'));
    sysroot = buildDemo(join(root, 'demo')).sysroot;
    busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    port = (busy.address() as { port: number }).port;
  });
  after(async () => {
    await new Promise<void>((resolve) => busy.close(() => resolve()));
    removeFixture(root);
  });

  it('serve on a port in use names the port and says it is in use, in one line', () => {
    const line = assertOneLine(
      cli(['serve', '--port', String(port), '--sysroot', sysroot, '--json']),
      'io-error',
    );
    assert.match(line, new RegExp(`\\bport ${port}\\b.*\\bin use\\b`));
    // The human form: the same single line, nothing on stdout.
    const human = cli(['serve', '--port', String(port), '--sysroot', sysroot]);
    assert.notEqual(human.code, 0);
    assert.equal(human.stdout, '');
    assert.equal(human.stderr.trim(), line);
  });

  it('serve with a data folder it cannot create says so in one line', async () => {
    // Root may write anywhere, so the folder is made impossible rather than forbidden: under a file.
    const file = join(root, 'not-a-folder');
    writeFileSync(file, 'x');
    const free = createServer();
    await new Promise<void>((resolve) => free.listen(0, '127.0.0.1', resolve));
    const freePort = (free.address() as { port: number }).port;
    await new Promise<void>((resolve) => free.close(() => resolve()));
    const line = assertOneLine(
      cli(['serve', '--port', String(freePort), '--sysroot', sysroot, '--json'], { XDG_DATA_HOME: file }),
      'io-error',
    );
    assert.match(line, /cannot create Hindsight's data folder .*not-a-folder.*ENOTDIR/);
  });

  it('start falls back to browser mode and fails the same way', { skip: electronBinary() !== null }, () => {
    const line = assertOneLine(
      cli(['start', '--port', String(port), '--sysroot', sysroot, '--json']),
      'io-error',
      1,
    );
    assert.match(line, new RegExp(`\\bport ${port}\\b.*\\bin use\\b`));
  });
});

describe('hindsight start in browser mode', {
  skip: (!built || electronBinary() !== null) && 'needs npm run build, and no Electron binary',
}, () => {
  let sysroot = '';
  let stubs = '';

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'hindsight-cli-start-'));
    sysroot = buildDemo(join(root, 'demo')).sysroot;
    // The desktop's opener, as a stand-in that records what it was asked to open: found first
    // through HINDSIGHT_PROGRAM_DIRS, the test hook of Hindsight's system-folder program lookup.
    stubs = join(root, 'bin');
    mkdirSync(stubs);
    writeFileSync(join(stubs, 'xdg-open'), '#!/bin/sh\nprintf "%s\\n" "$@" > "$HS_OPENED"\n', {
      mode: 0o755,
    });
  });
  after(() => removeFixture(root));

  /** Runs `start` until it printed its address (and the opener ran, when expected), then stops it. */
  async function start(env: NodeJS.ProcessEnv, expectOpened: boolean) {
    const opened = join(root, `opened-${Math.random().toString(36).slice(2)}`);
    const child = spawn(process.execPath, [LAUNCHER, 'start', '--sysroot', sysroot], {
      env: {
        ...process.env,
        DISPLAY: '',
        WAYLAND_DISPLAY: '',
        XDG_DATA_HOME: join(root, 'data'),
        HINDSIGHT_FROM_SOURCE: '1',
        HINDSIGHT_PROGRAM_DIRS: `${stubs}:/usr/bin:/bin:/usr/sbin:/sbin`,
        HS_OPENED: opened,
        ...env,
      },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    try {
      const deadline = Date.now() + 60_000;
      const ready = () => /Ctrl\+C/.test(stderr) && (!expectOpened || existsSync(opened));
      while (!ready() && child.exitCode === null && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.ok(ready(), `start did not get going: ${stderr}`);
      return { stdout, stderr, opened: existsSync(opened) ? readFileSync(opened, 'utf8') : null };
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  }

  it('prints the address first and hands it to xdg-open in a desktop session', async () => {
    const run = await start({ DISPLAY: ':99' }, true);
    const first = run.stdout.split('\n')[0] ?? '';
    assert.match(first, /^http:\/\/127\.0\.0\.1:\d+\//);
    assert.equal(run.opened, `${first}\n`);
    assert.match(run.stderr, /Opened it in your browser/);
  });

  it('without a desktop session it opens nothing and says to open the address', async () => {
    const run = await start({}, false);
    assert.equal(run.opened, null);
    assert.match(run.stderr, /Open the address above in your browser \(there is no desktop session here/);
  });
});
