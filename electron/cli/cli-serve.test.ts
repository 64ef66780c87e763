import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
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

  it('serve with a data folder it cannot write fails in one line', () => {
    // A plain file where the data folder should be: no user, root included, can make folders in it.
    const notADir = join(root, 'not-a-folder');
    writeFileSync(notADir, '');
    const line = assertOneLine(
      cli(['serve', '--sysroot', sysroot, '--json'], { XDG_DATA_HOME: notADir }),
      null,
    );
    assert.ok(line.includes(notADir), line);
  });
});
