import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HindsightError } from '../../../shared/errors.ts';
import { pathFields, subtreeOf } from './files.ts';

/** The pure parts of files.ts; the rest runs on real snapper roots in cli-snapper.test.ts. */

describe('subtree arguments of files diff', () => {
  it('reads etc, /etc, /etc/ and ./etc as one subtree, and / as the whole tree', () => {
    for (const arg of ['etc', '/etc', '/etc/', './etc', '//etc//']) assert.equal(subtreeOf(arg), 'etc', arg);
    assert.equal(subtreeOf('/usr/bin'), 'usr/bin');
    assert.equal(subtreeOf('/'), '');
    assert.equal(subtreeOf('.'), '');
  });

  it('refuses .. and empty names rather than resolving them', () => {
    for (const arg of ['..', '../etc', 'etc/../..', '', 'a\0b'])
      assert.throws(
        () => subtreeOf(arg),
        (e: unknown) => e instanceof HindsightError && e.code === 'bad-request',
        JSON.stringify(arg),
      );
  });
});

describe('paths in files diff --json', () => {
  it('are absolute, and carry their exact bytes only when they are not UTF-8', () => {
    assert.deepEqual(pathFields(Buffer.from('etc/motd')), { path: '/etc/motd' });
    assert.deepEqual(pathFields(Buffer.from('etc/café\nx')), { path: '/etc/café\nx' });
    const odd = Buffer.from([0x65, 0x74, 0x63, 0x2f, 0xff, 0x0a]);
    const fields = pathFields(odd);
    assert.equal(fields.path, '/etc/\\xff\\n');
    assert.deepEqual(
      Buffer.from(fields.pathBase64 as string, 'base64'),
      Buffer.concat([Buffer.from('/'), odd]),
    );
  });
});
