import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HindsightError } from '../../shared/errors.ts';
import { buildDemo } from '../core/fixtures/demo.ts';
import { deploymentDir, removeFixture, tempFixtureRoot } from '../core/fixtures/sysroot-fixture.ts';
import type { HelperClient } from './helper-client.ts';
import { launchPlan, spawnHelper } from './helper-client.ts';
import { helperCommand, ostreeStatus, startHelper, treeDigest } from './test-support.ts';

/**
 * A real unprivileged user attacks the real root helper: a folder it owns inside a deployment's /etc
 * is swapped for a symlink to a root-only folder, in a tight loop, while the helper writes and reads
 * through it. Nothing may be written or read outside the /etc tree, and no temp file may be left.
 * Then: a sysroot that user owns is refused by root, and changed by that user without root.
 */

const ATTACKER = 'hs-race-attacker';
const SECRET = 'TOPSECRET-5d1e';
const ATTEMPTS = 120;

function ensureUser(): { uid: number; gid: number } {
  if (spawnSync('id', ['-u', ATTACKER]).status !== 0) {
    const made = spawnSync('useradd', [
      '--system',
      '--no-create-home',
      '--shell',
      '/usr/sbin/nologin',
      ATTACKER,
    ]);
    assert.equal(made.status, 0, `useradd failed: ${made.stderr}`);
  }
  const id = (flag: string): number =>
    Number(spawnSync('id', [flag, ATTACKER], { encoding: 'utf8' }).stdout.trim());
  return { uid: id('-u'), gid: id('-g') };
}

/** Every `.hindsight-*.tmp` under a folder (temp files the helper left behind). */
function temps(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (/^\.hindsight-.*\.tmp$/.test(name)) out.push(join(dir, name));
  }
  return out;
}

/** All file contents under a folder, recursively (for "no backup holds the secret"). */
function contents(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(readFileSync(join(entry.parentPath, entry.name), 'utf8'));
  }
  return out;
}

describe('the root helper against a rename-swap attacker', {
  skip: process.getuid?.() !== 0 && 'needs root (useradd, chown)',
}, () => {
  let root = '';
  let sysroot = '';
  let victim = '';
  let raceDir = '';
  let user = { uid: 0, gid: 0 };
  let helper: HelperClient;

  before(async () => {
    user = ensureUser();
    root = tempFixtureRoot('hindsight-race-');
    chmodSync(root, 0o755); // the attacker must reach its folder inside the sysroot
    sysroot = buildDemo(join(root, 'demo')).sysroot;
    victim = join(root, 'victim');
    mkdirSync(victim, { mode: 0o700 });
    writeFileSync(join(victim, 'secret'), `${SECRET}\n`, { mode: 0o600 });
    writeFileSync(join(victim, 'note.conf'), `${SECRET} note\n`, { mode: 0o600 });

    // The target's /etc holds a folder the attacker owns, and in it the folder it will swap.
    const targetTree = deploymentDir({ sysroot } as never, 0);
    // The demo's trees are 0700 at the top; a real image's are 0755 (ostree keeps the folder immutable).
    spawnSync('chattr', ['-i', targetTree]);
    chmodSync(targetTree, 0o755);
    spawnSync('chattr', ['+i', targetTree]);
    const targetEtc = join(targetTree, 'etc');
    raceDir = join(targetEtc, 'hs-race');
    mkdirSync(join(raceDir, 'sub'), { recursive: true });
    writeFileSync(join(raceDir, 'sub', 'note.conf'), 'target note\n');
    writeFileSync(join(raceDir, 'sub', 'secret'), 'benign\n');
    for (const p of [
      raceDir,
      join(raceDir, 'sub'),
      join(raceDir, 'sub', 'note.conf'),
      join(raceDir, 'sub', 'secret'),
    ]) {
      chownSync(p, user.uid, user.gid);
    }
    // The source's /etc adds the file the resolution copies.
    const sourceEtc = join(deploymentDir({ sysroot } as never, 1), 'etc');
    mkdirSync(join(sourceEtc, 'hs-race', 'sub'), { recursive: true });
    writeFileSync(join(sourceEtc, 'hs-race', 'sub', 'note.conf'), 'written by the helper\n');
    helper = await startHelper(sysroot);
  });
  after(async () => {
    await helper?.close();
    if (root) removeFixture(root);
  });

  it('never writes, reads or leaves a temp file outside the deployment /etc', async (t) => {
    const victimBefore = treeDigest(victim);
    const attackerScript = `
      const fs = require('node:fs');
      const d = process.env.RACE_DIR;
      try { fs.symlinkSync(process.env.VICTIM, d + '/sub.link'); } catch {}
      const until = Date.now() + 600000; // never outlives a run that lost track of it
      while (Date.now() < until) {
        try { fs.renameSync(d + '/sub', d + '/sub.real'); } catch {}
        try { fs.renameSync(d + '/sub.link', d + '/sub'); } catch {}
        try { fs.renameSync(d + '/sub', d + '/sub.link'); } catch {}
        try { fs.renameSync(d + '/sub.real', d + '/sub'); } catch {}
      }`;
    const attacker = spawn(process.execPath, ['-e', attackerScript], {
      uid: user.uid,
      gid: user.gid,
      env: { RACE_DIR: raceDir, VICTIM: victim, PATH: '/usr/bin:/bin' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let attackerErrors = '';
    attacker.stderr?.on('data', (chunk: Buffer) => {
      attackerErrors += chunk.toString();
    });
    const outcomes = new Map<string, number>();
    const count = (key: string): void => {
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    };
    const leaked: string[] = [];
    const messages = new Set<string>();
    try {
      // Wait until the attacker has made its link: proof that it runs and can reach its folder.
      // (Generous: under a loaded test run, starting node as another user can take seconds.)
      const ran = (): boolean => ['sub.link', 'sub.real'].some((n) => existsSync(join(raceDir, n)));
      for (let i = 0; i < 300 && !ran() && attacker.exitCode === null; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.ok(ran(), `the attacker never ran (exit ${attacker.exitCode}): ${attackerErrors}`);
      for (let i = 0; i < ATTEMPTS; i++) {
        try {
          await helper.call('etcApply', {
            source: '1',
            target: '0',
            resolutions: [{ path: { path: 'hs-race/sub/note.conf' }, take: 'local' }],
          });
          count('apply ok');
        } catch (error) {
          const code = error instanceof HindsightError ? error.code : 'raw';
          count(`apply ${code}`);
          messages.add(`${code}: ${(error as Error).message}`);
        }
        try {
          const view = await helper.call('etcFile', {
            deployment: '0',
            path: { path: 'hs-race/sub/secret' },
          });
          if (view.local.text?.includes(SECRET)) leaked.push(view.local.text);
          count('read ok');
        } catch (error) {
          const code = error instanceof HindsightError ? error.code : 'raw';
          count(`read ${code}`);
          if (code === 'raw' || code === 'internal') messages.add(`${code}: ${(error as Error).message}`);
        }
      }
    } finally {
      attacker.kill('SIGKILL');
      await new Promise((resolve) => attacker.once('exit', resolve));
    }
    t.diagnostic(`${ATTEMPTS} attempts each: ${JSON.stringify(Object.fromEntries(outcomes))}`);
    for (const message of messages) t.diagnostic(message);
    assert.ok((outcomes.get('apply ok') ?? 0) > 0, 'no apply succeeded: the race was not exercised');
    assert.deepEqual(leaked, [], 'the helper returned a root-only file');
    assert.deepEqual(treeDigest(victim), victimBefore, 'the root-only folder changed');
    const left = [raceDir, join(raceDir, 'sub'), join(raceDir, 'sub.real'), victim].flatMap(temps);
    assert.deepEqual(left, [], 'temp files were left behind');
    const backups = join(
      sysroot,
      'ostree/deploy',
      readdirSync(join(sysroot, 'ostree/deploy'))[0] ?? '',
      'var/lib/hindsight/etc-backups',
    );
    assert.ok(!contents(backups).some((c) => c.includes(SECRET)), 'a backup holds the root-only file');
    // Every failure is a clean one-line refusal, never a raw or internal error.
    const unclean = [...outcomes.keys()].filter((k) => k.endsWith(' raw') || k.endsWith(' internal'));
    assert.deepEqual(unclean, [], 'some attempts failed with raw errors');
  });
});

describe('a sysroot another user owns', {
  skip: process.getuid?.() !== 0 && 'needs root (useradd, chown)',
}, () => {
  let root = '';
  let sysroot = '';
  let user = { uid: 0, gid: 0 };

  before(() => {
    user = ensureUser();
    root = tempFixtureRoot('hindsight-owned-');
    chmodSync(root, 0o755);
    sysroot = buildDemo(join(root, 'demo')).sysroot;
    // As if the user had built it: deployment folders are immutable, so lift that around the chown.
    const deployDirs = ostreeStatus(sysroot).map((d) =>
      join(sysroot, 'ostree/deploy', d.stateroot, 'deploy', `${d.checksum}.${d.serial}`),
    );
    spawnSync('chattr', ['-i', ...deployDirs]);
    const chown = spawnSync('chown', ['-R', `${user.uid}:${user.gid}`, join(root, 'demo')], {
      encoding: 'utf8',
    });
    assert.equal(chown.status, 0, chown.stderr);
    spawnSync('chattr', ['+i', ...deployDirs]);
  });
  after(() => {
    if (root) removeFixture(root);
  });

  it('is refused by the root helper, with the folder and the owner named', async () => {
    const helper = await startHelper(sysroot);
    try {
      await assert.rejects(helper.call('status', {}), (error: unknown) => {
        assert.ok(error instanceof HindsightError);
        assert.equal(error.code, 'refused');
        assert.match(error.message, new RegExp(`owned by uid ${user.uid}`));
        return true;
      });
    } finally {
      await helper.close();
    }
  });

  it('is changed by its owner without pkexec; anyone else still goes through pkexec', () => {
    const plan = (uid: number) => launchPlan({ sysroot, privileged: true, pkexec: '/usr/bin/pkexec' }, uid);
    assert.equal(plan(user.uid).viaPkexec, false);
    assert.equal(plan(user.uid + 1).viaPkexec, true);
  });

  it('is changed by its owner through the helper without root', async () => {
    const command = await helperCommand();
    // The bundled helper sits in a root-only temp folder: let the user read it for this test.
    for (
      let dir = dirname(command.args[0] ?? '');
      dir !== '/' && statSync(dir).uid === 0;
      dir = dirname(dir)
    ) {
      if ((statSync(dir).mode & 0o005) !== 0o005) chmodSync(dir, statSync(dir).mode | 0o005);
      if (dir === '/tmp') break;
    }
    const helper = await spawnHelper({
      sysroot,
      command: {
        program: '/usr/bin/setpriv',
        args: [
          `--reuid=${user.uid}`,
          `--regid=${user.gid}`,
          '--clear-groups',
          '--',
          command.program,
          ...command.args,
        ],
      },
    });
    try {
      assert.equal(helper.hello.privileged, false);
      const before = await helper.call('status', {});
      const target = before.deployments.find((d) => !d.pinned);
      assert.ok(target, 'the demo has an unpinned deployment');
      await helper.call('pin', { deployment: String(target.index) });
      const after = await helper.call('status', {});
      assert.equal(
        after.deployments.find((d) => d.checksum === target.checksum && d.serial === target.serial)?.pinned,
        true,
      );
    } finally {
      await helper.close();
    }
  });
});
