import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildDemo } from '../core/fixtures/demo.ts';
import { removeFixture, tempFixtureRoot } from '../core/fixtures/sysroot-fixture.ts';
import { ostreeStatus } from '../helper/test-support.ts';
import { assertOneLineError, cliRunner } from './cli-test-support.ts';

/**
 * `etc restore` on a real demo sysroot, through the helper: one /etc path back to the image's
 * default or copied from another deployment, checked byte for byte on disk, and undone.
 */

const { cli, json, cleanup } = cliRunner('cli-etc-restore');
after(cleanup);

describe('hindsight etc restore', { skip: process.getuid?.() !== 0 && 'changes need root' }, () => {
  let root = '';
  let sysroot = '';
  const at = (): string[] => ['--sysroot', sysroot];
  /** A deployment's folder: its /etc and its image's usr/etc. */
  const folder = (index: number): string => {
    const d = ostreeStatus(sysroot)[index];
    assert.ok(d);
    return join(sysroot, 'ostree/deploy', d.stateroot, 'deploy', `${d.checksum}.${d.serial}`);
  };

  before(() => {
    root = tempFixtureRoot('hindsight-cli-etc-restore-');
    sysroot = buildDemo(join(root, 'demo')).sysroot;
  });
  after(() => removeFixture(root));

  it("--from default puts hosts back to the image's file; etc undo puts the edit back", () => {
    const etc = join(folder(0), 'etc');
    const edited = readFileSync(join(etc, 'hosts'));
    const image = readFileSync(join(folder(0), 'usr/etc/hosts'));
    assert.notDeepEqual(edited, image, 'the demo edits hosts');
    const done = json<{ backupId: string; written: { path: string }[] }>([
      'etc',
      'restore',
      '0',
      'hosts',
      '--from',
      'default',
      ...at(),
    ]);
    assert.deepEqual(
      done.written.map((p) => p.path),
      ['hosts'],
    );
    assert.deepEqual(readFileSync(join(etc, 'hosts')), image);
    assert.equal(cli(['etc', 'undo', done.backupId, ...at()]).code, 0);
    assert.deepEqual(readFileSync(join(etc, 'hosts')), edited);
  });

  it('--from default removes a file the image does not ship; undo brings it back', () => {
    const file = join(folder(0), 'etc/sudoers.d/alice');
    const before = readFileSync(file);
    const done = json<{ backupId: string }>([
      'etc',
      'restore',
      '0',
      '/etc/sudoers.d/alice',
      '--from',
      'default',
      ...at(),
    ]);
    assert.equal(existsSync(file), false);
    assert.equal(cli(['etc', 'undo', done.backupId, ...at()]).code, 0);
    assert.deepEqual(readFileSync(file), before);
  });

  it("--from 2 copies deployment 2's motd into deployment 0", () => {
    const theirs = readFileSync(join(folder(2), 'etc/motd'));
    const ours = readFileSync(join(folder(0), 'etc/motd'));
    assert.notDeepEqual(theirs, ours);
    const done = json<{ backupId: string }>(['etc', 'restore', '0', 'motd', '--from', '2', ...at()]);
    assert.deepEqual(readFileSync(join(folder(0), 'etc/motd')), theirs);
    assert.equal(cli(['etc', 'undo', done.backupId, ...at()]).code, 0);
    assert.deepEqual(readFileSync(join(folder(0), 'etc/motd')), ours);
  });

  it('refuses what escapes /etc, names nothing, or misses --from, in one line', () => {
    assertOneLineError(
      cli(['etc', 'restore', '0', '../usr/etc/hosts', '--from', 'default', ...at(), '--json']),
      'bad-path',
    );
    assertOneLineError(
      cli(['etc', 'restore', '0', 'no-such-file', '--from', 'default', ...at(), '--json']),
      'bad-path',
    );
    assertOneLineError(cli(['etc', 'restore', '0', 'hosts', ...at(), '--json']), 'bad-request', 2);
    assertOneLineError(
      cli(['etc', 'restore', '9', 'hosts', '--from', 'default', ...at(), '--json']),
      'no-such-deployment',
    );
  });
});
