import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { PackageDelta } from '../../shared/types.ts';
import { AppCache, mergeHistory } from './app-cache.ts';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);

function delta(): PackageDelta {
  const ref = (checksum: string) => ({
    checksum,
    version: '1',
    subject: null,
    timestamp: null,
    index: 0,
    serial: 0,
    packages: 1,
  });
  return {
    from: ref(A),
    to: ref(B),
    format: 'dpkg',
    added: [{ name: 'x', version: '1', arch: 'all' }],
    removed: [],
    upgraded: [],
    downgraded: [],
    files: { added: 1, removed: 0, modified: 0 },
  };
}

describe('the app cache (better-sqlite3)', () => {
  it('migrates a new database, and reopens an existing one without losing data', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hindsight-cache-'));
    try {
      const file = join(dir, 'cache.sqlite');
      const first = new AppCache(file);
      assert.equal(first.schemaVersion, 3);
      first.putDelta(delta());
      first.setNote({ checksum: A, serial: 0, note: 'before the GPU driver update', label: 'good' });
      first.close();
      const again = new AppCache(file);
      assert.equal(again.schemaVersion, 3);
      assert.deepEqual(again.getDelta(A, B), delta());
      assert.equal(again.getDelta(B, A), undefined);
      assert.equal(again.listNotes()[0]?.note, 'before the GPU driver update');
      again.setNote({ checksum: A, serial: 0, note: '' });
      assert.deepEqual(again.listNotes(), []);
      again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('merges the helper audit log with the app history, newest first, helper records winning', () => {
    const cache = new AppCache(':memory:');
    const base = { uid: 0, user: 'root', params: {}, detail: '' };
    cache.recordAction({ ...base, id: 'x', time: '2026-01-01T00:00:00Z', operation: 'pin', result: 'error' });
    cache.recordAction({
      ...base,
      id: 'y',
      time: '2026-01-03T00:00:00Z',
      operation: 'rollback',
      result: 'ok',
    });
    const merged = mergeHistory(
      [
        { ...base, id: 'x', time: '2026-01-01T00:00:00Z', operation: 'pin', result: 'ok' },
        { ...base, id: 'z', time: '2026-01-02T00:00:00Z', operation: 'undeploy', result: 'ok' },
      ],
      cache.history(10),
      10,
    );
    assert.deepEqual(
      merged.map((r) => `${r.id}:${r.source}:${r.result}`),
      ['y:app:ok', 'z:helper:ok', 'x:helper:ok'],
    );
    cache.close();
  });
});
