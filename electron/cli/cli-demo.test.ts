import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { findProgram } from '../core/exec.ts';
import { removeFixture } from '../core/fixtures/sysroot-fixture.ts';
import { tool } from '../core/fixtures/test-support.ts';

const LAUNCHER = fileURLToPath(new URL('./hindsight.mjs', import.meta.url));
const MARKER = '.hindsight-demo.json';

/** The real CLI in its own process, from these sources (not an older bundle in dist/). */
function cli(args: string[]) {
  const result = spawnSync(process.execPath, [LAUNCHER, ...args], {
    encoding: 'utf8',
    env: { ...process.env, XDG_DATA_HOME: join(root, 'data'), HINDSIGHT_FROM_SOURCE: '1' },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function assertRefused(result: ReturnType<typeof cli>, dir: string): void {
  assert.equal(result.code, 1, result.stderr);
  const lines = result.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line on stderr: ${result.stderr}`);
  assert.match(lines[0] as string, /^hindsight: /);
  assert.ok((lines[0] as string).includes(dir), `names ${dir}: ${lines[0]}`);
  assert.match(lines[0] as string, /nothing was touched/);
  assert.doesNotMatch(result.stderr, /^\s+at /m, 'no stack trace');
  const error = (JSON.parse(result.stdout) as { error: { code: string; message: string } }).error;
  assert.equal(error.code, 'refused');
}

/** Every entry under a folder with its bytes, to compare before and after. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath ?? entry.path, entry.name);
    out[path] = entry.isFile()
      ? readFileSync(path).toString('base64')
      : entry.isDirectory()
        ? 'dir'
        : 'other';
  }
  return out;
}

let root = '';

describe('hindsight demo DIR', () => {
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'hindsight-cli-demo-'));
  });
  after(() => removeFixture(root));

  it('refuses a folder that is not a demo and leaves every byte (and attribute) of it alone', () => {
    const dir = join(root, 'mine');
    mkdirSync(join(dir, 'notes'), { recursive: true });
    const thesis = Buffer.from('chapter 1\n\u0000\u00ff binary too\n', 'latin1');
    writeFileSync(join(dir, 'thesis.txt'), thesis);
    writeFileSync(join(dir, 'notes', 'todo'), 'finish chapter 2\n');
    // An immutable file, as root can make one: the old code lifted the attribute (chattr -R -i) first.
    const chattr = process.getuid?.() === 0 ? findProgram('chattr') : null;
    if (chattr) tool('chattr', ['+i', join(dir, 'notes', 'todo')]);
    const before = snapshot(dir);

    assertRefused(cli(['demo', dir, '--json']), dir);
    assert.deepEqual(readFileSync(join(dir, 'thesis.txt')), thesis);
    assert.deepEqual(snapshot(dir), before);
    assert.equal(existsSync(join(dir, MARKER)), false);
    if (chattr) assert.match(tool('lsattr', ['-d', join(dir, 'notes', 'todo')]), /^\S*i\S* /);

    // The human form says the same in one line.
    const human = cli(['demo', dir]);
    assert.equal(human.code, 1);
    assert.equal(human.stdout, '');
    assert.equal(human.stderr.trim().split('\n').length, 1, human.stderr);
    assert.match(human.stderr, /^hindsight: .*nothing was touched/);
    assert.deepEqual(snapshot(dir), before);
  });

  it('refuses a plain file in the place of DIR', () => {
    const file = join(root, 'a-file');
    writeFileSync(file, 'keep me\n');
    assertRefused(cli(['demo', file, '--json']), file);
    assert.equal(readFileSync(file, 'utf8'), 'keep me\n');
  });

  it('builds into a new or an empty folder, and rebuilds a folder it made', () => {
    const fresh = join(root, 'fresh');
    const built = cli(['demo', fresh, '--json']);
    assert.equal(built.code, 0, built.stderr);
    const info = JSON.parse(built.stdout) as { sysroot: string };
    assert.equal(info.sysroot, join(fresh, 'sysroot'));
    assert.ok(existsSync(join(fresh, MARKER)));

    const empty = join(root, 'empty');
    mkdirSync(empty);
    assert.equal(cli(['demo', empty, '--json']).code, 0);
    assert.ok(existsSync(join(empty, 'sysroot', 'ostree', 'repo', 'config')));

    // Run again: the finished demo is reused as it is.
    const again = cli(['demo', fresh]);
    assert.equal(again.code, 0, again.stderr);
    assert.doesNotMatch(again.stderr, /Creating the sysroot/);

    // A demo of an older format is ours: it is rebuilt from scratch.
    const marker = JSON.parse(readFileSync(join(fresh, MARKER), 'utf8')) as { format: number };
    writeFileSync(join(fresh, MARKER), JSON.stringify({ ...marker, format: 1 }));
    writeFileSync(join(fresh, 'sysroot', 'stale'), 'from the old demo\n');
    const rebuilt = cli(['demo', fresh]);
    assert.equal(rebuilt.code, 0, rebuilt.stderr);
    assert.match(rebuilt.stderr, /Creating the sysroot/);
    assert.equal(existsSync(join(fresh, 'sysroot', 'stale')), false);
    assert.equal(
      (JSON.parse(readFileSync(join(fresh, MARKER), 'utf8')) as { format: number }).format,
      marker.format,
    );
  });

  it('recognises a demo without its marker only by the demo layout, to the letter', () => {
    const dir = join(root, 'fresh');
    assert.ok(existsSync(join(dir, MARKER)), 'built by the test above');
    unlinkSync(join(dir, MARKER));
    // One file of the user's beside the demo's folders: not the demo's layout, so refused.
    writeFileSync(join(dir, 'mine.txt'), 'mine\n');
    assertRefused(cli(['demo', dir, '--json']), dir);
    assert.equal(readFileSync(join(dir, 'mine.txt'), 'utf8'), 'mine\n');
    assert.ok(existsSync(join(dir, 'sysroot', 'ostree', 'repo', 'config')));
    // Exactly the demo's folders (sysroot with the demo remote, remote-repo): rebuilt.
    rmSync(join(dir, 'mine.txt'));
    const rebuilt = cli(['demo', dir, '--json']);
    assert.equal(rebuilt.code, 0, rebuilt.stderr);
    assert.ok(existsSync(join(dir, MARKER)));
  });
});
