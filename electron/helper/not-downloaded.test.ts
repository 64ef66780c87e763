import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { HindsightError } from '../../shared/errors.ts';
import { buildDemo } from '../core/fixtures/demo.ts';
import { removeFixture, tempFixtureRoot } from '../core/fixtures/sysroot-fixture.ts';
import type { HelperClient } from './helper-client.ts';
import { startHelper } from './test-support.ts';

/**
 * An update check downloads an update's commit and package database only. What can be read of such a
 * commit is read (its package delta); what cannot is said plainly (its files, its /etc), never as
 * ostree's raw "Couldn't find file object" — through the helper and the CLI alike.
 */

const LAUNCHER = fileURLToPath(new URL('../cli/hindsight.mjs', import.meta.url));

describe('an update that is not downloaded yet', () => {
  let root = '';
  let sysroot = '';
  let helper: HelperClient;
  let update = '';

  before(async () => {
    root = tempFixtureRoot('hindsight-partial-');
    sysroot = buildDemo(join(root, 'demo')).sysroot;
    helper = await startHelper(sysroot);
    const check = await helper.call('upgradeCheck', {});
    assert.ok(check.available, 'the demo has an update waiting');
    assert.equal(check.available.downloaded, false);
    update = check.available.checksum;
  });
  after(async () => {
    await helper?.close();
    removeFixture(root);
  });

  it('has a package delta whose file counts are pending, not zero and not an error', async () => {
    const delta = await helper.call('packageDelta', { from: '0', to: update });
    assert.ok(delta.upgraded.length > 0);
    assert.equal(delta.files.pending, true);
    const cli = spawnSync(
      process.execPath,
      [LAUNCHER, 'packages', 'diff', '0', update, `--sysroot=${sysroot}`],
      {
        encoding: 'utf8',
        env: { ...process.env, XDG_DATA_HOME: join(root, 'data'), HINDSIGHT_FROM_SOURCE: '1' },
      },
    );
    assert.equal(cli.status, 0, cli.stderr);
    assert.match(cli.stdout, /Files: known once the commit is downloaded/);
    assert.doesNotMatch(cli.stdout + cli.stderr, /file object/i);
  });

  it('has no /etc to merge yet, and says so in one line with its own code', async () => {
    await assert.rejects(helper.call('etcMerge', { source: '0', target: update }), (error: unknown) => {
      assert.ok(error instanceof HindsightError);
      assert.equal(error.code, 'not-downloaded');
      assert.match(error.message, /^4\.0 is not downloaded yet/);
      assert.doesNotMatch(error.message, /object/i);
      return true;
    });
  });
});
