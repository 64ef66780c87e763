import assert from 'node:assert/strict';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ERROR_CODES } from '../../shared/errors.ts';
import { helperParams, MAX_REQUEST_BYTES } from '../../shared/helper-contract.ts';
import { buildDemo } from '../core/fixtures/demo.ts';
import { deploymentDir, removeFixture, tempFixtureRoot } from '../core/fixtures/sysroot-fixture.ts';
import type { HelperClient } from './helper-client.ts';
import { fsck, ids, ostreeStatus, seeded, startHelper, treeDigest } from './test-support.ts';

/**
 * Hostile input: hundreds of malformed, mistyped, escaping and oversized requests, each answered
 * with a one-line error, the helper serving after every one, and nothing outside (or inside) the
 * sysroot changed, a canary tree that symlinks in /etc point at least of all.
 */

const CANARY_SECRET = 'canary-secret-7f3a9c';

describe('the helper under hostile requests', () => {
  let root = '';
  let sysroot = '';
  let canary = '';
  let helper: HelperClient;

  before(async () => {
    root = tempFixtureRoot('hindsight-hostile-');
    sysroot = buildDemo(join(root, 'demo')).sysroot;
    canary = join(root, 'canary');
    mkdirSync(join(canary, 'sub'), { recursive: true });
    writeFileSync(join(canary, 'secret.txt'), `${CANARY_SECRET}\n`);
    writeFileSync(join(canary, 'sshd_config'), `${CANARY_SECRET} sshd\n`);
    writeFileSync(join(canary, 'sub', 'passwd'), `${CANARY_SECRET} passwd\n`);
    symlinkSync(join(canary, 'secret.txt'), join(canary, 'link-to-secret'));
    // Traps in the target's /etc: symlinks out of it, one where a folder of the merge should be.
    const etc = join(deploymentDir({ sysroot } as never, 0), 'etc');
    symlinkSync(canary, join(etc, 'escape-dir'));
    symlinkSync(join(canary, 'secret.txt'), join(etc, 'escape-file'));
    rmSync(join(etc, 'ssh'), { recursive: true });
    symlinkSync(canary, join(etc, 'ssh'));
    // And in the source's /etc: a symlinked folder whose file the new image changed (default/grub).
    writeFileSync(join(canary, 'grub'), `${CANARY_SECRET} grub\n`);
    const sourceEtc = join(deploymentDir({ sysroot } as never, 1), 'etc');
    rmSync(join(sourceEtc, 'default'), { recursive: true });
    symlinkSync(canary, join(sourceEtc, 'default'));
    helper = await startHelper(sysroot);
  });
  after(async () => {
    await helper?.close();
    removeFixture(root);
  });

  it('answers at least 500 hostile requests with errors and keeps serving, changing nothing', async (t) => {
    const canaryBefore = treeDigest(canary);
    const statusBefore = ids(ostreeStatus(sysroot));
    const etcsBefore = ostreeStatus(sysroot).map((d) =>
      treeDigest(join(sysroot, 'ostree/deploy', d.stateroot, 'deploy', `${d.checksum}.${d.serial}`, 'etc')),
    );
    const random = seeded(4);
    let nextId = 1000;
    const lines: (string | Buffer)[] = [];
    const req = (method: unknown, params?: unknown, extra: Record<string, unknown> = {}): string =>
      JSON.stringify({ id: nextId++, method, ...(params === undefined ? {} : { params }), ...extra });

    // Not JSON at all.
    lines.push('{', '}', '[', ']', '{"id":1', 'nul', 'undefined', "{'id':1,'method':'status'}", 'status');
    lines.push('{"id":1,"method":"status",}', '[1,2', '"unterminated', '{"id":1,"method":"status"}}', '0x10');
    lines.push('{"id":1,\u0000"method":"status"}', '\u0000', '\u0000\u0000\u0000{}', '{"id":1}\u0000');
    for (let i = 0; i < 25; i++) {
      const bytes = Buffer.alloc(20 + Math.floor(random() * 200));
      for (let j = 0; j < bytes.length; j++) bytes[j] = Math.floor(random() * 256);
      // Never a newline inside, and never valid JSON by accident.
      for (let j = 0; j < bytes.length; j++) if (bytes[j] === 0x0a) bytes[j] = 0x7b;
      bytes[0] = 0xff;
      lines.push(bytes);
    }
    lines.push(
      Buffer.from([0xc3, 0x28, 0x7b, 0x7d]),
      Buffer.from('{"id":1,"method":"st\xffatus"}', 'latin1'),
    );
    // JSON, but not a request.
    lines.push(
      '1',
      '"status"',
      'null',
      'true',
      'false',
      '[]',
      '[{"id":1,"method":"status"}]',
      '1e999',
      '-0',
      '{}',
    );
    lines.push(
      '{"params":{}}',
      `${'['.repeat(20000)}${']'.repeat(20000)}`,
      `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`,
    );
    // Bad envelopes.
    for (const id of [
      '1',
      -1,
      1.5,
      1e300,
      null,
      true,
      [1],
      {},
      Number.MAX_SAFE_INTEGER + 2,
      '0x1',
      Number.NaN,
    ]) {
      lines.push(JSON.stringify({ id, method: 'status', params: {} }));
    }
    lines.push(JSON.stringify({ id: nextId++ }), JSON.stringify({ id: nextId++, params: {} }));
    for (const method of [1, null, ['status'], { name: 'status' }, true, 'x'.repeat(65)])
      lines.push(req(method, {}));
    lines.push(
      req('status', {}, { evil: 1 }),
      req('status', {}, { jsonrpc: '2.0' }),
      `{"id":${nextId++},"method":"status","params":{},"__proto__":{"a":1}}`,
    );
    // Methods that are not on the allowlist.
    const unknown = [
      '__proto__',
      'constructor',
      'prototype',
      'toString',
      'hasOwnProperty',
      'valueOf',
      'isPrototypeOf',
      '__defineGetter__',
      '__lookupSetter__',
      'propertyIsEnumerable',
      'toLocaleString',
      'eval',
      'exec',
      'spawn',
      'require',
      'process',
      'shell',
      'sh',
      'bash',
      'Status',
      'STATUS',
      'status ',
      ' status',
      'status\n',
      'status\u0000',
      'rollback;reboot',
      '../status',
      'etc/apply',
      'etc.apply',
      'etc apply',
      'helper:unlock',
      'sysroot:status',
      'deployments:rollback',
      'hello',
      'ping',
      'shutdown',
      'exit',
      'kill',
      'setDefault',
      'set-default',
      'admin',
      'ostree',
      '',
      'a'.repeat(64),
      'writeFile',
      'unlink',
      'chmod',
      'mount',
      'systemctl',
      'pkexec',
      'stage',
      'finalize',
      'cleanup',
      'prune',
      'pull',
      'commit',
      'reset',
    ];
    for (const method of unknown) lines.push(req(method, {}));
    for (let i = 0; i < 20; i++) lines.push(req(Math.floor(random() * 1e9).toString(36), {}));
    // Params of the wrong shape, for every method.
    for (const method of Object.keys(helperParams)) {
      for (const params of [[], 'str', 5, true, { evil: 1 }, { sysroot: 5 }, { os: '../x' }, { os: 'a/b' }]) {
        lines.push(req(method, params));
      }
    }
    // Fields of the wrong type or grammar: selectors, refs, options in disguise.
    const selectors: unknown[] = [
      1,
      {},
      [],
      '',
      true,
      null,
      'x'.repeat(300),
      '--repo=/',
      '-v',
      '--help',
      '$(id)',
      '; reboot',
      '`id`',
      '../../etc',
      'a b',
      'booted\u0000',
      'rollback\n',
      '..',
      '/etc/passwd',
      'default;',
      '0 1',
      '-1',
      '10000',
    ];
    for (const s of selectors) {
      lines.push(
        req('packageDelta', { from: s, to: '0' }),
        req('rollback', { to: s }),
        req('pin', { deployment: s }),
      );
      lines.push(req('undeploy', { deployment: s }), req('etcDrift', { deployment: s }));
    }
    for (const commit of [
      '--repo=/',
      '--sysroot=/',
      '-h',
      '--help',
      'demo:--x',
      ':x',
      '/abs',
      'a b',
      '$(x)',
      'a\u0000',
      '',
      'x'.repeat(300),
      5,
      null,
      '-',
      'demo:',
      'a:b:c',
    ]) {
      lines.push(req('deploy', { commit }));
    }
    for (const backupId of [
      '../x',
      '../../etc',
      '/etc',
      'a/b',
      '',
      'x'.repeat(101),
      '.',
      '..',
      'a\u0000b',
      5,
      'no-such-backup',
    ]) {
      lines.push(req('etcUndo', { backupId }));
    }
    lines.push(
      req('etcDrift', { deployment: '0', diffs: 'yes' }),
      req('etcDrift', { deployment: '0', diffs: 1 }),
    );
    // /etc paths that climb out, are absolute, hold NUL bytes, or go through a symlink.
    const paths: unknown[] = [
      { path: '../passwd' },
      { path: '../../../../etc/shadow' },
      { path: '/etc/passwd' },
      { path: 'a/../../b' },
      { path: './passwd' },
      { path: 'passwd/' },
      { path: '' },
      { path: '.' },
      { path: '..' },
      { path: 'a//b' },
      { path: 'pass\u0000wd' },
      { path: 'x'.repeat(5000) },
      { path: `a/${'b'.repeat(300)}` },
      { path: 'escape-dir/secret.txt' },
      { path: 'escape-dir/sub/passwd' },
      { path: 'ssh/sshd_config/../../x' },
      { path: 'x', pathBase64: Buffer.from('../x').toString('base64') },
      { path: 'x', pathBase64: Buffer.from('/etc/shadow').toString('base64') },
      { path: 'x', pathBase64: Buffer.from('a\u0000b').toString('base64') },
      { path: 'x', pathBase64: 'not base64!!' },
      { path: 'x', pathBase64: 'YR==' },
      { path: 'x', pathBase64: Buffer.from('escape-dir/secret.txt').toString('base64') },
      { path: 'passwd', evil: 1 },
      'passwd',
      5,
      null,
      [],
      { pathBase64: 'cGFzc3dk' },
    ];
    for (const path of paths) {
      lines.push(req('etcFile', { deployment: '0', path }));
      lines.push(req('etcApply', { source: '1', target: '0', resolutions: [{ path, take: 'local' }] }));
    }
    // Writing through the symlinked ssh folder, and taking what is not there to take.
    for (const take of ['local', 'upstream', 'merged']) {
      lines.push(
        req('etcApply', {
          source: '1',
          target: '0',
          resolutions: [{ path: { path: 'ssh/sshd_config' }, take }],
        }),
      );
    }
    for (const resolutions of [
      [],
      [{ path: { path: 'passwd' }, take: 'all' }],
      [{ path: { path: 'passwd' }, take: 'edited' }],
      [{ path: { path: 'passwd' }, take: 'edited', text: 5 }],
      [{ path: { path: 'passwd' }, take: 'local', extra: true }],
      'passwd',
      Array.from({ length: 10_001 }, () => ({ path: { path: 'motd' }, take: 'local' })),
    ]) {
      lines.push(req('etcApply', { source: '1', target: '0', resolutions }));
    }
    lines.push(
      req('etcApply', {
        source: '1',
        target: '0',
        resolutions: [{ path: { path: 'motd' }, take: 'local' }],
        allowBooted: 'yes',
      }),
    );
    lines.push(
      req('etcApply', {
        source: '1',
        target: 'deadbeef',
        resolutions: [{ path: { path: 'motd' }, take: 'local' }],
      }),
    );
    // Indexes out of range, limits out of bounds.
    for (const index of ['3', '10', '999', '9999']) {
      lines.push(
        req('rollback', { to: index }),
        req('pin', { deployment: index }),
        req('undeploy', { deployment: index }),
      );
      lines.push(req('etcDrift', { deployment: index }), req('packageDelta', { from: index, to: '0' }));
      lines.push(req('rollbackPreview', { target: index }), req('etcMerge', { source: index, target: '0' }));
      lines.push(req('etcFile', { deployment: index, path: { path: 'passwd' } }));
    }
    for (const limit of [0, -1, 10_001, 1.5, '5', 1e9, null]) lines.push(req('history', { limit }));
    // Another sysroot, another stateroot.
    for (const s of [
      '/',
      '/tmp',
      canary,
      '',
      'x'.repeat(5000),
      '../..',
      `${sysroot}/..`,
      `${sysroot}/ostree`,
    ]) {
      lines.push(req('status', { sysroot: s }), req('rollback', { sysroot: s }));
    }
    for (const os of ['../x', 'a/b', '', 'x'.repeat(300), '-x', 'nonexistent', 'debian\u0000', ' debian']) {
      lines.push(req('status', { os }));
    }
    // Mutations that must be refused here.
    lines.push(req('rollback', { to: '0' }), req('cancel', {}), req('reboot', {}), req('etcUndo', {}));
    lines.push(
      req('deploy', { commit: '9.9.9' }),
      req('deploy', { commit: 'ffffffffffff' }),
      req('rollback', { to: 'staged' }),
    );
    lines.push(req('undeploy', { deployment: 'pending' }), req('rollbackPreview', { target: '0' }));
    // Oversized: a 20 MB selector (under the line limit), an edited text over its limit.
    lines.push(req('rollback', { to: 'a'.repeat(20 * 1024 * 1024) }));
    lines.push(
      req('etcApply', {
        source: '1',
        target: '0',
        resolutions: [{ path: { path: 'motd' }, take: 'edited', text: 'x'.repeat(16 * 1024 * 1024 + 1) }],
      }),
    );

    assert.ok(lines.length >= 500, `${lines.length} hostile requests`);
    let answered = 0;
    for (const line of lines) {
      await helper.sendRaw(
        Buffer.concat([Buffer.isBuffer(line) ? line : Buffer.from(line), Buffer.from('\n')]),
      );
      const answer = (await helper.nextUnmatched(60_000)) as {
        id: unknown;
        error?: { code: string; message: string };
      };
      const shown = (Buffer.isBuffer(line) ? line.toString('latin1') : line).slice(0, 200);
      assert.ok(answer.error, `an error for ${shown}: got ${JSON.stringify(answer).slice(0, 300)}`);
      assert.ok((ERROR_CODES as readonly string[]).includes(answer.error.code), answer.error.code);
      assert.equal(answer.error.message.includes('\n'), false, 'one line');
      assert.ok(answer.error.message.length <= 600, 'short');
      assert.doesNotMatch(answer.error.message, /\s+at \S+ \(|node:internal/, 'no stack');
      assert.doesNotMatch(answer.error.message, new RegExp(CANARY_SECRET), 'the canary never leaks');
      answered++;
    }
    // Over the line limit: refused while streaming past, then the next line is read normally.
    for (const size of [MAX_REQUEST_BYTES + 1, 100 * 1024 * 1024]) {
      const big = Buffer.alloc(size + 1, 0x61);
      big[size] = 0x0a;
      await helper.sendRaw(big);
      const answer = (await helper.nextUnmatched(60_000)) as {
        id: unknown;
        error?: { code: string; message: string };
      };
      assert.equal(answer.id, null);
      assert.equal(answer.error?.code, 'bad-request');
      assert.match(answer.error?.message ?? '', /request line of \d+ bytes refused/);
      answered++;
      assert.equal(
        (await helper.call('status', {})).deployments.length,
        3,
        'still serving after the big line',
      );
    }
    assert.ok(answered >= 500);
    t.diagnostic(`${answered} hostile requests, each answered with an error`);

    assert.equal((await helper.call('status', {})).deployments.length, 3, 'still serving');
    assert.deepEqual(treeDigest(canary), canaryBefore, 'the canary tree is byte-for-byte unchanged');
    assert.deepEqual(ids(ostreeStatus(sysroot)), statusBefore);
    assert.deepEqual(
      ostreeStatus(sysroot).map((d) =>
        treeDigest(join(sysroot, 'ostree/deploy', d.stateroot, 'deploy', `${d.checksum}.${d.serial}`, 'etc')),
      ),
      etcsBefore,
      'no /etc changed',
    );
    fsck(sysroot);
  });
});
