import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tool, useMergeScenario } from '../core/fixtures/test-support.ts';

const LAUNCHER = fileURLToPath(new URL('./hindsight.mjs', import.meta.url));

/** The real CLI as a newcomer runs it: a separate process, its exit code, stdout and stderr. */
function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync(process.execPath, [LAUNCHER, ...args], {
    encoding: 'utf8',
    // Its cache goes to a folder of this test's, not the user's.
    env: { ...process.env, XDG_DATA_HOME: dataHome, ...env },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function assertOneLineError(result: ReturnType<typeof cli>, code: string, exit = 1): void {
  assert.equal(result.code, exit, result.stderr);
  const lines = result.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line on stderr: ${result.stderr}`);
  assert.match(lines[0] as string, /^hindsight: /);
  assert.doesNotMatch(result.stderr, /\s+at \S+ \(/, 'no stack trace');
  assert.equal((JSON.parse(result.stdout) as { error: { code: string } }).error.code, code);
}

const dataHome = mkdtempSync(join(tmpdir(), 'hindsight-cli-data-'));

describe('hindsight CLI', () => {
  const ctx = useMergeScenario();
  after(() => rmSync(dataHome, { recursive: true, force: true }));

  it('status --json has every field, in ostree admin status order', () => {
    const result = cli(['status', '--sysroot', ctx.scenario.sysroot, '--json']);
    assert.equal(result.code, 0, result.stderr);
    const { deployments } = JSON.parse(result.stdout) as { deployments: Record<string, unknown>[] };
    const keys = [
      'index',
      'stateroot',
      'checksum',
      'serial',
      'version',
      'timestamp',
      'subject',
      'origin',
      'kernel',
      'kargs',
      'booted',
      'default',
      'pending',
      'rollback',
      'staged',
      'pinned',
    ];
    for (const d of deployments) for (const k of keys) assert.ok(k in d, k);
    const listed = [
      ...tool('ostree', ['admin', 'status', `--sysroot=${ctx.scenario.sysroot}`]).matchAll(
        / ([0-9a-f]{64})\.\d+/g,
      ),
    ].map((m) => m[1]);
    assert.deepEqual(
      deployments.map((d) => d.checksum),
      listed,
    );
  });

  it('prints aligned human output and an nvd-like package delta', () => {
    const status = cli(['status', '--sysroot', ctx.scenario.sysroot]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /^\s+#\s+VERSION\s+DATE/m);
    assert.match(status.stdout, /2\.0\s+2024-03-02 09:00/);
    const delta = cli(['packages', 'diff', 'rollback', 'default', '--sysroot', ctx.scenario.sysroot]);
    assert.equal(delta.code, 0, delta.stderr);
    assert.match(delta.stdout, /^Version changes:$/m);
    assert.match(delta.stdout, /^\[U\.\]\s+#1\s+base-files\s+amd64\s+12\.4\+deb12u1 -> 12\.4\+deb12u2$/m);
    assert.match(delta.stdout, /^\[D\.\]\s+#\d+\s+tzdata/m);
    assert.match(delta.stdout, /^Added packages:$/m);
    assert.match(delta.stdout, /^Packages: 7 -> 7 \(\d+ upgraded, 1 downgraded, 1 added, 1 removed\)/m);
  });

  it('etc drift, etc merge and rollback-preview answer in JSON', () => {
    const drift = cli(['etc', 'drift', '0', '--sysroot', ctx.scenario.sysroot, '--json']);
    assert.equal(drift.code, 0, drift.stderr);
    const entries = (
      JSON.parse(drift.stdout) as { entries: { path: string; status: string; changes: string[] }[] }
    ).entries;
    assert.ok(entries.some((e) => e.path === 'secure.conf' && e.changes.join() === 'mode'));
    const merge = cli(['etc', 'merge', '1', '0', '--sysroot', ctx.scenario.sysroot, '--json']);
    assert.equal(merge.code, 0, merge.stderr);
    const files = (JSON.parse(merge.stdout) as { files: { path: string; ostree: string; flags: string[] }[] })
      .files;
    assert.ok(files.some((f) => f.path === 'passwd' && f.flags.includes('upstream-hidden')));
    const preview = cli(['rollback-preview', '--sysroot', ctx.scenario.sysroot, '--json']);
    assert.equal(preview.code, 0, preview.stderr);
    const parsed = JSON.parse(preview.stdout) as { target: { index: number }; etcLost: { path: string }[] };
    assert.equal(parsed.target.index, 1);
    // bar.d was turned into a file on v2 only: rolling back loses that edit.
    assert.ok(parsed.etcLost.some((e) => e.path === 'bar.d'));
  });

  it('fails in one line with a stable code: wrong selector, not a sysroot, unknown command', () => {
    assertOneLineError(
      cli(['packages', 'diff', '9', '0', '--sysroot', ctx.scenario.sysroot, '--json']),
      'no-such-deployment',
    );
    assertOneLineError(
      cli(['etc', 'drift', '--repo=/', '--sysroot', ctx.scenario.sysroot, '--json']),
      'bad-request',
      2,
    );
    assertOneLineError(
      cli(['etc', 'drift', '../x', '--sysroot', ctx.scenario.sysroot, '--json']),
      'bad-selector',
      2,
    );
    assertOneLineError(
      cli(['status', '--sysroot', ctx.scenario.sysroot, '--os', 'fedora', '--json']),
      'no-stateroot',
    );
    const empty = mkdtempSync(join(tmpdir(), 'hindsight-cli-'));
    try {
      assertOneLineError(cli(['status', '--sysroot', empty, '--json']), 'not-a-sysroot');
    } finally {
      rmSync(empty, { recursive: true });
    }
    assertOneLineError(cli(['frobnicate', '--json']), 'bad-request', 2);
  });

  it('says ostree is missing, in one line, when it cannot be found', () => {
    const result = cli(['status', '--sysroot', ctx.scenario.sysroot, '--json', '--no-cache'], {
      HINDSIGHT_PROGRAM_DIRS: '/nonexistent',
    });
    assertOneLineError(result, 'ostree-missing');
    assert.match(result.stderr, /ostree is not installed/);
  });
});
