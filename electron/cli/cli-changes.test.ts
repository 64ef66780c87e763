import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { PackageEntry } from '../../shared/types.ts';
import { buildDemo, type DemoInfo } from '../core/fixtures/demo.ts';
import { DPKG_STATUS_PATH, removeFixture, tempFixtureRoot } from '../core/fixtures/sysroot-fixture.ts';
import { deltaByDpkg, dpkgQuery, tool } from '../core/fixtures/test-support.ts';
import { bundles, fsck, ostreeStatus, type ServedRepo, serveRepo } from '../helper/test-support.ts';

/**
 * The newcomer's walk through the changing commands, from the CLI, on a demo sysroot whose remote
 * is served over HTTP: check for an upgrade, see its package delta, stage it, apply the /etc merge
 * for passwd, roll back, undo the rollback, pin, remove a deployment. The CLI runs each through the
 * helper process; every step is checked against ostree's own view.
 */

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let cliScript = '';

/** The bundled CLI as a separate process (asynchronous: the HTTP remote lives in this process). */
function cli(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cliScript, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (t: string) => {
      stdout += t;
    });
    child.stderr.setEncoding('utf8').on('data', (t: string) => {
      stderr += t;
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function ok(run: Run): Run {
  assert.equal(run.code, 0, `exit 0 expected: ${run.stderr}`);
  return run;
}

/** A commit's packages as dpkg-query lists them from the commit's own database, read with ostree. */
function packagesOf(scratch: string, repo: string, commit: string): PackageEntry[] {
  const tree = mkdtempSync(join(scratch, 'dpkg-'));
  const db = join(tree, DPKG_STATUS_PATH);
  mkdirSync(dirname(db), { recursive: true });
  writeFileSync(db, tool('ostree', ['cat', `--repo=${repo}`, commit, `/${DPKG_STATUS_PATH}`]), 'latin1');
  return dpkgQuery(tree);
}

const literally = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function oneLineError(run: Run, code: string, exit = 1): void {
  assert.equal(run.code, exit, run.stderr);
  const lines = run.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line on stderr: ${run.stderr}`);
  assert.match(lines[0] as string, /^hindsight: /);
  assert.equal((JSON.parse(run.stdout) as { error: { code: string } }).error.code, code);
}

describe('hindsight CLI: the changing commands, through the helper', () => {
  let root = '';
  let demo: DemoInfo;
  let sysroot = '';
  let remote: ServedRepo;
  const at = (): string[] => ['--sysroot', sysroot];
  const versions = (): (string | null)[] => ostreeStatus(sysroot).map((d) => d.version);

  before(async () => {
    cliScript = (await bundles()).cli;
    root = tempFixtureRoot('hindsight-cli-changes-');
    demo = buildDemo(join(root, 'demo'));
    sysroot = demo.sysroot;
    remote = await serveRepo(demo.remoteRepo);
    const repo = join(sysroot, 'ostree', 'repo');
    tool('ostree', ['remote', 'delete', `--repo=${repo}`, demo.remote]);
    tool('ostree', ['remote', 'add', `--repo=${repo}`, '--no-gpg-verify', demo.remote, remote.url]);
  });
  after(async () => {
    await remote?.close();
    removeFixture(root);
  });

  it('upgrade --check shows the version and the package delta, and deploys nothing', async () => {
    const run = ok(await cli(['upgrade', '--check', ...at()]));
    assert.match(run.stdout, /^Available from demo:debian\/bookworm\/desktop: 4\.0 \(/m);
    // Every version change that dpkg itself finds between the two databases, each on its own line.
    const expected = deltaByDpkg(
      packagesOf(root, join(sysroot, 'ostree', 'repo'), ostreeStatus(sysroot)[0]?.checksum ?? ''),
      packagesOf(root, demo.remoteRepo, demo.ref),
    );
    assert.ok(expected.upgraded.length > 0);
    for (const change of expected.upgraded) {
      const [name = '', from = '', to = ''] = change.split(' ');
      const line = `^\\[U\\.\\]\\s+#\\d+\\s+${literally(name)}\\s+\\S+\\s+${literally(from)} -> ${literally(to)}$`;
      assert.match(run.stdout, new RegExp(line, 'm'));
    }
    assert.deepEqual(expected.added, ['systemd-timesyncd']);
    assert.match(run.stdout, /^\[A\.\]\s+#\d+\s+systemd-timesyncd/m);
    assert.doesNotMatch(run.stdout, /Files:/, 'file counts are unknown before the pull');
    assert.deepEqual(versions(), ['3.0', '2.0', '1.0']);
    const json = ok(await cli(['upgrade', '--check', '--json', ...at()]));
    assert.equal(JSON.parse(json.stdout).available.version, '4.0');
  });

  it('upgrade stages 4.0 with progress on stderr, keeping the rollback', async () => {
    const run = ok(await cli(['upgrade', ...at()]));
    assert.match(run.stdout, /Available from .*: 4\.0/);
    assert.match(run.stdout, /4\.0 \(\w+\.0\) is staged: it starts on the next boot\. Rollback: 3\.0/);
    assert.match(run.stderr, /pulling, \d+\/\d+ objects/);
    assert.deepEqual(versions(), ['4.0', '3.0', '2.0', '1.0']);
    fsck(sysroot);
    assert.match(ok(await cli(['upgrade', ...at()])).stdout, /^Up to date/m);
  });

  it('etc apply writes the merged passwd; etc undo puts the old one back', async () => {
    const etc = join(
      sysroot,
      'ostree/deploy/debian/deploy',
      `${ostreeStatus(sysroot)[0]?.checksum}.0`,
      'etc',
    );
    const before = readFileSync(join(etc, 'passwd'), 'utf8');
    assert.doesNotMatch(before, /systemd-timesync/, 'ostree kept the local file whole');
    const merge = JSON.parse(ok(await cli(['etc', 'merge', '1', '0', '--json', ...at()])).stdout);
    assert.equal(merge.files.find((f: { path: string }) => f.path === 'passwd').merge, 'clean');
    const run = ok(
      await cli([
        'etc',
        'apply',
        '1',
        '0',
        '--path',
        'passwd',
        '--take',
        'merged',
        '--path',
        'group',
        '--take',
        'merged',
        ...at(),
      ]),
    );
    assert.match(run.stdout, /^Wrote 2 paths in \/etc of deployment 0 \(4\.0\):$/m);
    assert.match(run.stdout, /undo with: hindsight etc undo \S+/);
    const passwd = readFileSync(join(etc, 'passwd'), 'utf8');
    assert.match(passwd, /^alice:/m);
    assert.match(passwd, /^systemd-timesync:/m);
    ok(await cli(['etc', 'undo', ...at()]));
    assert.equal(readFileSync(join(etc, 'passwd'), 'utf8'), before);
    // Edited text comes from a resolutions file.
    const file = join(root, 'resolutions.json');
    writeFileSync(
      file,
      JSON.stringify([{ path: { path: 'motd' }, take: 'edited', text: 'Edited by hand.\n' }]),
    );
    ok(await cli(['etc', 'apply', '1', '0', '--resolutions', file, ...at()]));
    assert.equal(readFileSync(join(etc, 'motd'), 'utf8'), 'Edited by hand.\n');
    oneLineError(
      await cli(['etc', 'apply', '1', '0', '--path', 'passwd', '--take', 'mine', '--json', ...at()]),
      'bad-request',
      2,
    );
    oneLineError(
      await cli(['etc', 'apply', '1', '0', '--path', '../shadow', '--take', 'local', '--json', ...at()]),
      'bad-path',
    );
  });

  it('rollback boots 3.0 next; rollback again undoes it', async () => {
    const run = ok(await cli(['rollback', ...at()]));
    assert.match(run.stdout, /^3\.0 .* boots next \(was 4\.0 .*\)\. To undo: hindsight rollback\.$/m);
    assert.deepEqual(versions(), ['3.0', '4.0', '2.0', '1.0']);
    ok(await cli(['rollback', ...at()]));
    assert.deepEqual(versions(), ['4.0', '3.0', '2.0', '1.0']);
    const json = JSON.parse(ok(await cli(['rollback', '--to', '2', '--json', ...at()])).stdout);
    assert.equal(json.status.deployments[0].version, '2.0');
    ok(await cli(['rollback', ...at()]));
    assert.deepEqual(versions().slice(0, 2), ['4.0', '2.0']);
    fsck(sysroot);
  });

  it('pin, unpin and undeploy; undeploy refuses a pinned deployment in one line', async () => {
    ok(await cli(['pin', '1', ...at()]));
    assert.equal(ostreeStatus(sysroot)[1]?.pinned, true);
    oneLineError(await cli(['undeploy', '1', '--json', ...at()]), 'refused');
    ok(await cli(['unpin', '1', ...at()]));
    assert.equal(ostreeStatus(sysroot)[1]?.pinned, false);
    // The COMMIT that status shows still names 2.0 after another tool deploys ahead of it.
    const shown = ok(await cli(['status', ...at()])).stdout;
    const commit = /^\s+\d+\s+2\.0\s+\S+ \S+\s+([0-9a-f]{10}\.\d+)\s/m.exec(shown)?.[1];
    assert.ok(commit, shown);
    tool('ostree', [
      'admin',
      'deploy',
      `--sysroot=${sysroot}`,
      '--os=debian',
      '--retain',
      `${demo.remote}:${demo.ref}`,
    ]);
    assert.deepEqual(versions(), ['4.0', '4.0', '2.0', '3.0', '1.0']);
    const pins = ostreeStatus(sysroot).map((d) => d.pinned);
    ok(await cli(['pin', commit, ...at()]));
    assert.deepEqual(
      ostreeStatus(sysroot).map((d) => d.pinned),
      pins.map((pinned, i) => pinned || i === 2),
      'only 2.0, now at index 2, is newly pinned',
    );
    const refused = await cli(['undeploy', commit, '--json', ...at()]);
    oneLineError(refused, 'refused');
    assert.match(
      refused.stderr,
      new RegExp(`unpin it first \\(hindsight unpin ${commit.replace('.', '\\.')}\\)`),
    );
    ok(await cli(['unpin', commit, ...at()]));
    const run = ok(await cli(['undeploy', commit, ...at()]));
    assert.match(run.stdout, /^Removed deployment 2\.0/m);
    assert.deepEqual(versions(), ['4.0', '4.0', '3.0', '1.0']);
    ok(await cli(['undeploy', '0', ...at()]));
    assert.deepEqual(versions(), ['4.0', '3.0', '1.0']);
    oneLineError(await cli(['reboot', '--json', ...at()]), 'refused');
    fsck(sysroot);
  });

  it('deploy VERSION makes a new deployment; cancel drops it', async () => {
    const run = ok(await cli(['deploy', '1.0', ...at()]));
    assert.match(run.stdout, /1\.0 \(\w+\.1\) is staged: it starts on the next boot/);
    assert.deepEqual(versions(), ['1.0', '4.0', '3.0', '1.0']);
    ok(await cli(['cancel', ...at()]));
    assert.deepEqual(versions(), ['4.0', '3.0', '1.0']);
    oneLineError(await cli(['deploy', '--json', ...at(), '--', '--repo=/']), 'bad-request', 2);
  });

  it('history lists every change with its user and result', async () => {
    const records = JSON.parse(ok(await cli(['history', '--json', ...at()])).stdout) as {
      operation: string;
      result: string;
      user: string;
    }[];
    const ops = records.map((r) => r.operation);
    for (const op of [
      'upgrade',
      'etcApply',
      'etcUndo',
      'rollback',
      'pin',
      'unpin',
      'undeploy',
      'deploy',
      'cancel',
    ]) {
      assert.ok(ops.includes(op), op);
    }
    assert.ok(records.every((r) => r.user === 'root'));
    assert.match(
      ok(await cli(['history', '--limit', '3', ...at()])).stdout,
      /^TIME\s+USER\s+OPERATION\s+RESULT\s+DETAIL$/m,
    );
  });
});
