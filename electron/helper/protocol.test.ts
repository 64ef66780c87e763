import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { HindsightError } from '../../shared/errors.ts';
import { HELPER_MODES } from '../../shared/helper-contract.ts';
import { buildDemo } from '../core/fixtures/demo.ts';
import { removeFixture, tempFixtureRoot } from '../core/fixtures/sysroot-fixture.ts';
import { tool } from '../core/fixtures/test-support.ts';
import { INSTALLED_HELPER, launchPlan, pkexecFailure, spawnHelper } from './helper-client.ts';
import { LineReader } from './line-reader.ts';
import { helperCommand } from './test-support.ts';

/** The pieces around the protocol: line framing, how the helper is launched, the polkit policy. */

describe('line framing', () => {
  it('splits lines across chunks and keeps bytes exact', () => {
    const reader = new LineReader(100);
    assert.deepEqual(reader.push(Buffer.from('ab')), []);
    const events = reader.push(Buffer.from('c\nde\n\nf'));
    assert.deepEqual(
      events.map((e) => (e.kind === 'line' ? e.line.toString() : e.kind)),
      ['abc', 'de', ''],
    );
    assert.deepEqual(
      reader.end().map((e) => (e.kind === 'line' ? e.line.toString() : e.kind)),
      ['f'],
    );
  });

  it('drops an over-long line as it streams past, reports it once, and reads the next one', () => {
    const reader = new LineReader(10);
    assert.deepEqual(reader.push(Buffer.alloc(8, 0x61)), []);
    assert.deepEqual(reader.push(Buffer.alloc(8, 0x61)), [], 'nothing kept, nothing reported yet');
    const events = reader.push(Buffer.from('aaaa\nok\n'));
    assert.deepEqual(events[0], { kind: 'overflow', bytes: 20 });
    assert.equal(events[1]?.kind === 'line' && events[1].line.toString(), 'ok');
    assert.deepEqual(reader.push(Buffer.alloc(10, 0x62)), []);
    assert.equal(reader.push(Buffer.from('\n'))[0]?.kind, 'line', 'exactly the limit fits');
  });
});

describe('launching the helper', () => {
  let root = '';
  let sysroot = '';
  let bin = '';

  before(() => {
    root = tempFixtureRoot('hindsight-launch-');
    sysroot = buildDemo(join(root, 'demo')).sysroot;
    bin = mkdtempSync(join(tmpdir(), 'hindsight-fake-pkexec-'));
  });
  after(() => {
    removeFixture(root);
    rmSync(bin, { recursive: true, force: true });
  });

  it('goes through pkexec only when root is needed and missing, pinned to the installed launcher', () => {
    const command = { program: '/usr/bin/node', args: ['/x/helper.mjs'] };
    const asUser = launchPlan({ sysroot, privileged: true, pkexec: '/usr/bin/pkexec', mode: 'read' }, 1000);
    assert.deepEqual(asUser, {
      program: '/usr/bin/pkexec',
      args: ['--disable-internal-agent', INSTALLED_HELPER, 'read', '--sysroot', sysroot],
      viaPkexec: true,
    });
    const cli = launchPlan(
      { sysroot, privileged: true, pkexec: '/usr/bin/pkexec', interactiveAuth: true },
      1000,
    );
    assert.deepEqual(cli.args.slice(0, 2), [INSTALLED_HELPER, 'manage']);
    const asRoot = launchPlan({ sysroot, privileged: true, command, os: 'debian' }, 0);
    assert.deepEqual(asRoot, {
      program: '/usr/bin/node',
      args: ['/x/helper.mjs', 'manage', '--sysroot', sysroot, '--os', 'debian'],
      viaPkexec: false,
    });
    assert.equal(launchPlan({ sysroot, command }, 1000).viaPkexec, false, 'reading needs no root');
  });

  it('turns pkexec exit 126 and 127 into clear errors', async () => {
    assert.equal(pkexecFailure(126)?.code, 'auth-dismissed');
    assert.equal(pkexecFailure(127)?.code, 'not-authorized');
    assert.equal(pkexecFailure(1), null);
    // pkexec is not installed here: a stand-in that exits as pkexec does when the dialog is dismissed.
    for (const [code, expected] of [
      [126, /authentication dismissed/],
      [127, /not authorized/],
    ] as const) {
      const fake = join(bin, `pkexec-${code}`);
      writeFileSync(fake, `#!/bin/sh\nexit ${code}\n`);
      chmodSync(fake, 0o755);
      await assert.rejects(
        spawnHelper({ sysroot, privileged: true, pkexec: fake }, 1000),
        (error: HindsightError) => {
          assert.match(error.message, expected);
          return error.code === (code === 126 ? 'auth-dismissed' : 'not-authorized');
        },
      );
    }
  });

  it('hands the helper its mode through pkexec (a stand-in that authorizes and runs the program)', async () => {
    const { args } = await helperCommand();
    const launcher = join(bin, 'hindsight-helper');
    writeFileSync(launcher, `#!/bin/sh\nexec ${process.execPath} ${args[0]} "$@"\n`);
    chmodSync(launcher, 0o755);
    const fake = join(bin, 'pkexec-ok');
    // Like pkexec: drop its own option, then run PROGRAM ARGS... (with a cleared environment).
    writeFileSync(
      fake,
      '#!/bin/sh\n[ "$1" = --disable-internal-agent ] && shift\nprog="$1"; shift\nexec /usr/bin/env -i PKEXEC_UID=1000 "$prog" "$@"\n',
    );
    chmodSync(fake, 0o755);
    const helper = await spawnHelper(
      { sysroot, privileged: true, pkexec: fake, launcher, mode: 'read' },
      1000,
    );
    try {
      assert.equal(helper.hello.mode, 'read');
      await assert.rejects(helper.call('pin', { deployment: '0' }), /started for reading only/);
    } finally {
      await helper.close();
    }
    const manager = await spawnHelper({ sysroot, privileged: true, pkexec: fake, launcher }, 1000);
    try {
      await manager.call('pin', { deployment: '0' });
      const [record] = await manager.call('history', { limit: 1 });
      assert.equal(record?.uid, 1000, 'the audit names the user pkexec ran for');
      await manager.call('unpin', { deployment: '0' });
    } finally {
      await manager.close();
    }
    assert.doesNotMatch(
      tool('ostree', ['admin', 'status', `--sysroot=${sysroot}`])
        .split('\n')
        .slice(0, 3)
        .join('\n'),
      /Pinned/,
    );
  });
});

describe('the polkit policy', () => {
  const policy = readFileSync(
    fileURLToPath(new URL('../../assets/polkit/org.hindsight.policy', import.meta.url)),
    'utf8',
  );
  const launcher = readFileSync(
    fileURLToPath(new URL('../../assets/helper/hindsight-helper', import.meta.url)),
    'utf8',
  );

  it('has one action per helper mode, pinned to the installed launcher; only manage-once is never kept', () => {
    const actions = [...policy.matchAll(/<action id="([^"]+)">([\s\S]*?)<\/action>/g)];
    assert.deepEqual(
      actions.map((a) => a[1]),
      HELPER_MODES.map((mode) => `org.hindsight.${mode}`),
    );
    for (const [i, action] of actions.entries()) {
      const body = action[2] ?? '';
      assert.match(body, new RegExp(`exec\\.path">${INSTALLED_HELPER.replace(/\//g, '\\/')}<`));
      assert.match(body, new RegExp(`exec\\.argv1">${HELPER_MODES[i]}<`));
      // Browser mode's action asks every time: any tab may be its client (see app-context.ts).
      const active = HELPER_MODES[i] === 'manage-once' ? 'auth_admin' : 'auth_admin_keep';
      assert.match(body, new RegExp(`<allow_active>${active}</allow_active>`));
      assert.doesNotMatch(body, /<allow_\w+>yes</, 'never without authentication');
    }
    tool('sh', ['-n', fileURLToPath(new URL('../../assets/helper/hindsight-helper', import.meta.url))]);
    assert.match(launcher, /exec "\$node" "\$here\/helper\.mjs" "\$@"/);
  });
});
