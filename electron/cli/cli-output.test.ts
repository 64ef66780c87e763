import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Deployment, EtcDriftReport } from '../../shared/types.ts';
import { AppCache } from '../core/app-cache.ts';
import { findProgram } from '../core/exec.ts';
import { buildDemo } from '../core/fixtures/demo.ts';
import { removeFixture } from '../core/fixtures/sysroot-fixture.ts';
import { deploymentPath, readStatus } from '../core/ostree/sysroot.ts';

/** What the CLI prints, on the demo: diffs other tools apply, true words, notes, colour. */

const LAUNCHER = fileURLToPath(new URL('./hindsight.mjs', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'hindsight-cli-output-'));
const dataHome = join(root, 'data');
const ESC = '\x1b[';
let sysroot = '';

function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync(process.execPath, [LAUNCHER, ...args], {
    encoding: 'utf8',
    env: { ...process.env, XDG_DATA_HOME: dataHome, HINDSIGHT_FROM_SOURCE: '1', NO_COLOR: '', ...env },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function ok(result: ReturnType<typeof cli>): string {
  assert.equal(result.code, 0, result.stderr);
  return result.stdout;
}

/** The CLI on a pseudo-terminal (script(1)), as a user at a terminal runs it. */
function onTerminal(args: string[], env: NodeJS.ProcessEnv = {}): string {
  const quoted = [process.execPath, LAUNCHER, ...args].map((a) => `'${a}'`).join(' ');
  const result = spawnSync('script', ['-qec', quoted, '/dev/null'], {
    encoding: 'utf8',
    env: { ...process.env, XDG_DATA_HOME: dataHome, HINDSIGHT_FROM_SOURCE: '1', TERM: 'xterm', ...env },
  });
  assert.equal(result.status, 0, result.stdout + result.stderr);
  return result.stdout;
}

describe('CLI output on the demo', () => {
  before(() => {
    sysroot = buildDemo(join(root, 'demo')).sysroot;
  });
  after(() => removeFixture(root));

  it('etc drift --diff prints a diff that patch and git apply turn the image /etc into the local one with', async () => {
    const out = ok(cli(['etc', 'drift', '0', '--diff', '--sysroot', sysroot]));
    const report = JSON.parse(
      ok(cli(['etc', 'drift', '0', '--diff', '--sysroot', sysroot, '--json'])),
    ) as EtcDriftReport;
    const diffed = report.entries.filter((e) => e.hunks?.length);
    assert.ok(
      diffed.some((e) => e.status === 'added'),
      'an added file is among them',
    );
    assert.ok(diffed.length >= 5, `text diffs: ${diffed.length}`);
    assert.match(
      out,
      /^--- \/dev\/null\n\+\+\+ b\/etc\/NetworkManager\/system-connections\/Home\.nmconnection\n@@ -0,0 \+1,5 @@$/m,
    );

    const deployment = (await readStatus({ sysroot })).deployments[0] as Deployment;
    const dir = deploymentPath(sysroot, deployment);
    const patchFile = join(root, 'drift.patch');
    writeFileSync(patchFile, out);
    const copy = (name: string): string => {
      const tree = join(root, name);
      mkdirSync(tree);
      cpSync(join(dir, 'usr', 'etc'), join(tree, 'etc'), { recursive: true });
      return tree;
    };

    if (findProgram('git')) {
      const tree = copy('git-tree');
      const git = spawnSync('git', ['apply', '--check', '-p1', patchFile], { cwd: tree, encoding: 'utf8' });
      assert.equal(git.status, 0, git.stderr);
    }
    const tree = copy('patch-tree');
    const dry = spawnSync('patch', ['-p1', '--dry-run', '-i', patchFile], { cwd: tree, encoding: 'utf8' });
    assert.equal(dry.status, 0, dry.stdout + dry.stderr);
    const real = spawnSync('patch', ['-p1', '-i', patchFile], { cwd: tree, encoding: 'utf8' });
    assert.equal(real.status, 0, real.stdout + real.stderr);
    for (const e of diffed) {
      assert.deepEqual(
        readFileSync(join(tree, 'etc', e.path)),
        readFileSync(join(dir, 'etc', e.path)),
        `${e.path} is the local file once patched`,
      );
    }
  });

  it('upgrade --check does not say "running" on a sysroot that is not booted', {
    skip: process.getuid?.() !== 0 && 'needs root (the helper)',
  }, () => {
    const out = ok(cli(['upgrade', '--check', '--sysroot', sysroot]));
    assert.doesNotMatch(out, /running/);
    assert.match(out, /current: deployment 0, 3\.0 \([0-9a-f]{10}\), the next boot/);
  });

  it('status shows the notes given to deployments in the app', () => {
    const report = JSON.parse(ok(cli(['status', '--sysroot', sysroot, '--json']))) as {
      deployments: (Deployment & { note: string | null; label: string | null })[];
    };
    const d1 = report.deployments[1] as Deployment;
    assert.equal(report.deployments[1]?.note, null);
    // Written as the app's notes:set handler writes it, into the cache the CLI reads.
    const cache = new AppCache(join(dataHome, 'hindsight', 'cache', 'cache.sqlite'));
    cache.setNote({
      checksum: d1.checksum,
      serial: d1.serial,
      note: 'last one with\nworking wifi',
      label: 'good',
    });
    cache.close();

    const json = JSON.parse(ok(cli(['status', '--sysroot', sysroot, '--json']))) as typeof report;
    assert.equal(json.deployments[1]?.note, 'last one with\nworking wifi');
    assert.equal(json.deployments[1]?.label, 'good');
    assert.equal(json.deployments[0]?.note, null);
    const lines = ok(cli(['status', '--sysroot', sysroot])).split('\n');
    const row = lines.findIndex((l) => l.includes(`${d1.checksum.slice(0, 10)}.${d1.serial}`));
    assert.match(lines[row + 1] as string, /^ +note: good: last one with working wifi$/);
    // --no-cache reads ostree afresh, and still shows the user's own words.
    assert.match(ok(cli(['status', '--sysroot', sysroot, '--no-cache'])), /note: good/);
  });

  it('colours a terminal only: not a pipe, not with NO_COLOR or --color=never; --color=always forces it', () => {
    const args = ['status', '--sysroot', sysroot];
    assert.ok(!ok(cli(args)).includes(ESC), 'a pipe gets no colour');
    assert.ok(ok(cli([...args, '--color=always'])).includes(`${ESC}36mnext boot`), 'forced');
    assert.ok(ok(cli([...args, '--color=always'], { NO_COLOR: '1' })).includes(ESC), 'forced beats NO_COLOR');
    const failed = cli(['status', '--sysroot', join(root, 'nowhere'), '--color=always']);
    assert.equal(failed.code, 1);
    assert.ok(failed.stderr.startsWith(`${ESC}31mhindsight:`), failed.stderr);
    assert.equal(cli([...args, '--color=sometimes']).code, 2);
    assert.ok(!ok(cli([...args, '--json', '--color=always'])).includes(ESC), 'JSON is never coloured');
    if (!findProgram('script')) return;
    assert.ok(onTerminal(args).includes(`${ESC}36mnext boot`), 'a terminal gets colour');
    assert.ok(!onTerminal(args, { NO_COLOR: '1' }).includes(ESC), 'NO_COLOR');
    assert.ok(!onTerminal([...args, '--color=never']).includes(ESC), '--color=never');
  });
});
