import assert from 'node:assert/strict';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { contentKind, listDirOf, lstatNode, type NodeInfo, sameFileBytes } from './etc-tree.ts';

/**
 * The byte comparison remembers its answers while both files keep their identity and state. These
 * tests change files behind its back, in every way that keeps the size, and check it notices.
 */
describe('remembered byte comparisons', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hindsight-compare-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const path = (name: string): Buffer => Buffer.from(join(dir, name));
  const node = (name: string): NodeInfo => {
    const n = lstatNode(path(name));
    assert.ok(n);
    return n;
  };
  const same = (a: string, b: string): boolean => sameFileBytes(path(a), node(a), path(b), node(b));
  /** Rewrites bytes in place: same inode, same size, new content (and a new ctime, set by the kernel). */
  const overwrite = (name: string, text: string): void => {
    const fd = openSync(path(name), 'r+');
    try {
      writeSync(fd, text, 0);
    } finally {
      closeSync(fd);
    }
  };

  it('sees a same-size change made right after a comparison (too recent to remember)', () => {
    writeFileSync(path('a1'), 'setting = 1\n');
    writeFileSync(path('b1'), 'setting = 1\n');
    assert.equal(same('a1', 'b1'), true);
    overwrite('b1', 'setting = 2\n');
    assert.equal(same('a1', 'b1'), false);
  });

  it('sees changes to files, folders and symlinks read long enough ago to be remembered', async () => {
    // Whole-second times, so that putting one back below restores it exactly.
    const old = new Date('2024-01-01T00:00:00Z');
    for (const name of ['a2', 'b2', 'c2', 'd2']) {
      writeFileSync(path(name), 'value = xyz\n');
      utimesSync(path(name), old, old);
    }
    mkdirSync(path('folder'));
    writeFileSync(path('folder/one.conf'), '1\n');
    symlinkSync('target-a', path('link'));
    writeFileSync(path('kind.conf'), 'text\n');
    // Past the racy window, so everything read below is remembered.
    await sleep(2200);
    const names = (): string[] =>
      listDirOf(path('folder'), node('folder'))
        .map((n) => n.toString())
        .sort();
    assert.deepEqual(names(), ['one.conf']);
    assert.deepEqual(names(), ['one.conf'], 'listed again from memory');
    writeFileSync(path('folder/two.conf'), '2\n');
    assert.deepEqual(names(), ['one.conf', 'two.conf']);
    assert.equal(node('link').target, 'target-a');
    unlinkSync(path('link'));
    symlinkSync('target-b', path('link'));
    assert.equal(node('link').target, 'target-b');
    assert.equal(contentKind(path('kind.conf'), node('kind.conf')), 'text');
    assert.equal(contentKind(path('kind.conf'), node('kind.conf')), 'text', 'asked again, from memory');
    overwrite('kind.conf', 'te\0t\n');
    assert.equal(contentKind(path('kind.conf'), node('kind.conf')), 'binary');
    assert.equal(same('a2', 'b2'), true);
    assert.equal(same('a2', 'c2'), true);
    assert.equal(same('a2', 'd2'), true);
    assert.equal(same('a2', 'b2'), true, 'asked again, same answer');
    // Bytes rewritten in place, and the old mtime put back: only the ctime tells.
    const before = node('b2');
    overwrite('b2', 'value = XYZ\n');
    utimesSync(path('b2'), old, old);
    assert.equal(node('b2').mtimeMs, before.mtimeMs);
    assert.equal(same('a2', 'b2'), false);
    // Replaced by another file of the same size (a new inode), as editors and package hooks do.
    writeFileSync(path('c2.new'), 'value = abc\n');
    renameSync(path('c2.new'), path('c2'));
    assert.equal(same('a2', 'c2'), false);
    // The base side changes too.
    overwrite('a2', 'value = QQQ\n');
    assert.equal(same('a2', 'd2'), false);
  });
});
