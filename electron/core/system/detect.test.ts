import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { BACKEND_WORDS } from '../../../shared/backends.ts';
import { HindsightError } from '../../../shared/errors.ts';
import { detectBackend } from './detect.ts';
import { openSystem } from './open.ts';

/**
 * Which backend a folder is, from its marks alone, and the backend openSystem hands out for it.
 * Folders here carry only the marks: nothing in them is read, and no root is needed.
 */

const base = mkdtempSync(join(tmpdir(), 'hindsight-detect-'));
after(() => rmSync(base, { recursive: true, force: true }));

let count = 0;
function folder(paths: { dirs?: string[]; files?: string[] }): string {
  const dir = join(base, String(count++));
  mkdirSync(dir);
  for (const d of paths.dirs ?? []) mkdirSync(join(dir, d), { recursive: true });
  for (const f of paths.files ?? []) {
    mkdirSync(join(dir, f, '..'), { recursive: true });
    writeFileSync(join(dir, f), '');
  }
  return dir;
}

const OSTREE = { dirs: ['ostree/deploy'], files: ['ostree/repo/config'] };
const SNAPPER = { dirs: ['.snapshots'], files: ['etc/snapper/configs/root'] };

describe('detecting the backend of a folder', () => {
  it('an OSTree sysroot has ostree/repo and ostree/deploy', () => {
    assert.equal(detectBackend(folder(OSTREE)), 'ostree');
  });

  it('a snapper root has .snapshots and etc/snapper/configs/root', () => {
    assert.equal(detectBackend(folder(SNAPPER)), 'snapper');
  });

  it('half the marks are none: a .snapshots without snapper config, a config without .snapshots, an empty repo', () => {
    assert.equal(detectBackend(folder({ dirs: ['.snapshots'] })), null);
    assert.equal(detectBackend(folder({ files: ['etc/snapper/configs/root'] })), null);
    assert.equal(detectBackend(folder({ dirs: ['.snapshots'], files: ['etc/snapper/configs/home'] })), null);
    assert.equal(detectBackend(folder({ dirs: ['ostree/repo', 'ostree/deploy'] })), null);
    assert.equal(detectBackend(join(base, 'missing')), null);
    const file = join(base, 'a-file');
    writeFileSync(file, '');
    assert.equal(detectBackend(file), null);
  });

  it('OSTree first: a sysroot that also carries snapper marks is still an OSTree sysroot', () => {
    const both = folder({
      dirs: [...OSTREE.dirs, ...SNAPPER.dirs],
      files: [...OSTREE.files, ...SNAPPER.files],
    });
    assert.equal(detectBackend(both), 'ostree');
  });
});

describe('opening the system at a folder', () => {
  it('hands out the snapper backend, in its words, for a snapper root', async () => {
    const root = folder(SNAPPER);
    const system = await openSystem({ root });
    assert.equal(system.kind, 'snapper');
    assert.equal(system.root, root);
    assert.deepEqual(system.words, BACKEND_WORDS.snapper);
    assert.equal(system.words.entry, 'snapshot');
  });

  it('hands out OSTree for an OSTree sysroot, and for a folder that is neither (its reader says what is missing)', async () => {
    assert.equal((await openSystem({ root: folder(OSTREE) })).kind, 'ostree');
    const neither = await openSystem({ root: folder({}) });
    assert.equal(neither.kind, 'ostree');
    assert.equal(neither.words.entry, 'deployment');
    await assert.rejects(neither.read(), (error: unknown) => {
      assert.ok(error instanceof HindsightError);
      assert.equal(error.code, 'not-a-sysroot');
      assert.match(error.message, /is not an OSTree sysroot \(no ostree\/repo and ostree\/deploy\)$/);
      return true;
    });
  });

  it('says in one sentence that reading a snapper root needs root, before running anything', async () => {
    const root = folder(SNAPPER);
    const system = await openSystem({ root, uid: 1000 });
    await assert.rejects(system.read(), (error: unknown) => {
      assert.ok(error instanceof HindsightError);
      assert.equal(error.code, 'not-authorized');
      assert.equal(
        error.message,
        `reading the snapper root ${root} needs root (snapper --no-dbus and btrfs read the disk directly); run this as root`,
      );
      return true;
    });
  });

  it('refuses an OSTree stateroot (--os) for a snapper root', async () => {
    await assert.rejects(openSystem({ root: folder(SNAPPER), stateroot: 'debian' }), (error: unknown) => {
      assert.ok(error instanceof HindsightError);
      assert.equal(error.code, 'bad-request');
      assert.match(error.message, /^--os names an OSTree stateroot; .* is a snapper root, which has none$/);
      return true;
    });
  });
});
