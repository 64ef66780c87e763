import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HindsightError } from '../../shared/errors.ts';
import { requireProgram, runSyncChecked } from '../core/exec.ts';
import {
  commitTree,
  createSysroot,
  deploy,
  removeFixture,
  tempFixtureRoot,
} from '../core/fixtures/sysroot-fixture.ts';
import { tool } from '../core/fixtures/test-support.ts';
import * as libostree from './libostree.ts';
import { ostreeStatus } from './test-support.ts';

/**
 * The gjs scripts get their values on stdin, never as arguments: gjs (1.74 at least) still acts on
 * some of its own options placed after the script (`--coverage-prefix`, `-I`), so a value that looks
 * like one could change how gjs runs. Here the values are made to look like gjs options, and the
 * folders carry spaces, quotes, a newline and non-ASCII characters.
 */

/** A folder name gjs or a shell would trip over. */
const ODD_FOLDER = `--jsversion=1\n "q" 'é ☃ -I`;
/** Stateroot names that are gjs options: one needs another option gjs lacks, one takes the next argument. */
const HOSTILE_STATEROOTS = ['--coverage-prefix=x', '-I'];

describe('libostree scripts get no arguments after the script', () => {
  for (const operation of ['set-default', 'pin', 'unpin', 'undeploy'] as const) {
    it(`${operation}: unshare and gjs arguments end with the script; every value is on stdin`, () => {
      const values = {
        sysroot: `/srv/${ODD_FOLDER}/sysroot`,
        stateroot: '--coverage-prefix=/tmp/evil',
        checksum: '-I/tmp/evil',
        serial: 7,
        booted: true,
      };
      const invocation = libostree.changeDeploymentInvocation(operation, values, {
        gjs: '/usr/bin/gjs',
        unshare: '/usr/bin/unshare',
      });
      assert.equal(invocation.program, '/usr/bin/unshare');
      assert.deepEqual(invocation.args.slice(0, 5), [
        '--mount',
        '--propagation',
        'private',
        '/usr/bin/gjs',
        '-c',
      ]);
      assert.equal(invocation.args.length, 6, 'nothing after the script');
      const script = invocation.args[5] as string;
      for (const value of [values.sysroot, values.stateroot, values.checksum, ODD_FOLDER, '/tmp/evil']) {
        assert.ok(
          !invocation.args.some((a) => a.includes(value)),
          `${JSON.stringify(value)} is not an argument`,
        );
      }
      assert.ok(
        !script.includes('ARGV[') && !/\.\.\.ARGV|= ARGV/.test(script),
        'the script reads no ARGV values',
      );
      assert.deepEqual(JSON.parse(invocation.input), {
        operation,
        sysroot: values.sysroot,
        stateroot: values.stateroot,
        checksum: values.checksum,
        serial: 7,
        namespace: 'private-mount-namespace',
        position: 'any',
        lockWaitMs: libostree.OSTREE_LOCK_WAIT_MS,
      });

      const plain = libostree.changeDeploymentInvocation(
        operation,
        { ...values, booted: false, position: 'not-first', lockWaitMs: 5 },
        { gjs: '/usr/bin/gjs', unshare: null },
      );
      assert.equal(plain.program, '/usr/bin/gjs');
      assert.deepEqual(plain.args, ['-c', script]);
      assert.equal(JSON.parse(plain.input).namespace, 'shared');
      assert.equal(JSON.parse(plain.input).position, 'not-first');
      assert.equal(JSON.parse(plain.input).lockWaitMs, 5);
    });
  }

  it('pull: gjs arguments end with the script; every value is on stdin', () => {
    const values = {
      repo: `/srv/${ODD_FOLDER}/repo`,
      remote: '--profile=/tmp/evil',
      what: '--debugger',
      metadataOnly: true,
      subpaths: ['/usr/share/dpkg', '-I', '--coverage-prefix=x'],
    };
    const invocation = libostree.pullInvocation(values, '/usr/bin/gjs');
    assert.equal(invocation.program, '/usr/bin/gjs');
    assert.equal(invocation.args.length, 2);
    assert.equal(invocation.args[0], '-c');
    for (const value of [values.repo, values.remote, values.what, ODD_FOLDER, ...values.subpaths]) {
      assert.ok(!invocation.args.slice(0, 1).includes(value));
      assert.ok(
        !(invocation.args[1] as string).includes(value),
        `${JSON.stringify(value)} is not in the script`,
      );
    }
    assert.deepEqual(JSON.parse(invocation.input), { operation: 'pull', ...values });
  });
});

describe('libostree scripts on a real sysroot at an odd path', () => {
  let root = '';
  before(() => {
    root = tempFixtureRoot('hindsight-libostree-');
  });
  after(() => removeFixture(root));

  for (const stateroot of HOSTILE_STATEROOTS) {
    it(`makes a deployment the default in stateroot ${JSON.stringify(stateroot)}`, async () => {
      const dir = join(root, `${stateroot}-${ODD_FOLDER}`);
      mkdirSync(dir, { recursive: true });
      // `ostree admin os-init` takes no stateroot starting with `-`; its layout is just the folder.
      const fx = createSysroot(dir, { stateroot: 'debian', ref: 'hindsight/stable' });
      mkdirSync(join(fx.sysroot, 'ostree', 'deploy', stateroot, 'var'), { recursive: true });
      fx.stateroot = stateroot;
      for (const version of ['1.0', '2.0']) {
        commitTree(fx, { version });
        deploy(fx);
      }
      const before = ostreeStatus(fx.sysroot);
      assert.equal(before.length, 2);
      assert.ok(before.every((d) => d.stateroot === stateroot));
      const target = before[1];
      assert.ok(target);
      await libostree.changeDeploymentThroughLibostree('set-default', {
        sysroot: fx.sysroot,
        stateroot,
        checksum: target.checksum,
        serial: target.serial,
        booted: false,
      });
      const after = ostreeStatus(fx.sysroot);
      assert.deepEqual(
        after.map((d) => `${d.checksum}.${d.serial}`),
        [before[1], before[0]].map((d) => `${d?.checksum}.${d?.serial}`),
        'the chosen deployment boots next, nothing else changed',
      );
      // A deployment that is not there: the values arrive intact, so the script says which one.
      await assert.rejects(
        libostree.changeDeploymentThroughLibostree('set-default', {
          sysroot: fx.sysroot,
          stateroot,
          checksum: target.checksum,
          serial: 99,
          booted: false,
        }),
        (error: unknown) =>
          error instanceof HindsightError &&
          error.code === 'no-such-deployment' &&
          error.message.includes(`${target.checksum}.99 in stateroot ${stateroot}`),
      );
    });
  }

  it('pulls into a repository at an odd path, with a subpath that looks like a gjs option', async () => {
    const dir = join(root, `pull-${ODD_FOLDER}`);
    mkdirSync(dir, { recursive: true });
    const ostree = requireProgram('ostree');
    const fx = createSysroot(dir, { stateroot: 'debian', ref: 'hindsight/stable' });
    const remoteRepo = join(dir, 'remote repo é');
    runSyncChecked(ostree, ['init', `--repo=${remoteRepo}`, '--mode=archive']);
    const checksum = commitTree(fx, { version: '3.0' }, { repo: remoteRepo });
    runSyncChecked(ostree, [
      'remote',
      'add',
      `--repo=${fx.repo}`,
      '--no-gpg-verify',
      'demo',
      `file://${remoteRepo}`,
    ]);
    const seen: libostree.PullProgress[] = [];
    await libostree.pullThroughLibostree(
      { repo: fx.repo, remote: 'demo', what: 'hindsight/stable', metadataOnly: false, subpaths: [] },
      (p) => seen.push(p),
    );
    assert.equal(seen.at(-1)?.done, true);
    assert.equal(
      tool('ostree', ['rev-parse', `--repo=${fx.repo}`, 'demo:hindsight/stable']).trim(),
      checksum,
    );
    // A subpath that is a gjs option (gjs 1.74 aborts on a stray `--coverage-prefix`) reaches libostree
    // as a subpath, which it takes as one more folder to fetch.
    const again: libostree.PullProgress[] = [];
    await libostree.pullThroughLibostree(
      {
        repo: fx.repo,
        remote: 'demo',
        what: 'hindsight/stable',
        metadataOnly: false,
        subpaths: ['/usr/lib', '--coverage-prefix=x'],
      },
      (p) => again.push(p),
    );
    assert.equal(again.at(-1)?.done, true);
  });
});
