import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FileCounts } from '../../../shared/types.ts';
import {
  commitTree,
  createSysroot,
  type FileSpec,
  removeFixture,
  type SysrootFixture,
  tempFixtureRoot,
} from '../fixtures/sysroot-fixture.ts';
import { tool } from '../fixtures/test-support.ts';
import { commitTreeCounts } from './tree-diff.ts';

/** What `ostree diff` itself prints, counted the way the package delta counts it. */
function ostreeDiffCounts(repo: string, from: string, to: string): FileCounts {
  const counts: FileCounts = { added: 0, removed: 0, modified: 0 };
  for (const line of tool('ostree', ['diff', `--repo=${repo}`, from, to]).split('\n')) {
    const m = /^([AMD]) {4}\//.exec(line);
    if (m?.[1] === 'A') counts.added++;
    else if (m?.[1] === 'D') counts.removed++;
    else if (m?.[1] === 'M') counts.modified++;
  }
  return counts;
}

const common: Record<string, FileSpec> = {
  'usr/share/same/a.txt': 'unchanged\n',
  'usr/share/same/deep/b.txt': 'unchanged too\n',
};

/** Two trees that differ in every way ostree diff tells apart. */
const before1: Record<string, FileSpec> = {
  ...common,
  'usr/share/doc/changed.txt': 'old text\n',
  'usr/share/doc/mode.txt': 'same bytes\n',
  'usr/share/doc/owner.txt': 'same bytes\n',
  'usr/share/doc/removed.txt': 'gone soon\n',
  'usr/share/gone/one.txt': '1\n',
  'usr/share/gone/sub/two.txt': '2\n',
  'usr/share/file-to-dir': 'a file first\n',
  'usr/share/dir-to-file/inner.txt': 'a directory first\n',
  'usr/share/link': { symlink: 'target-a' },
  'usr/share/file-to-link': 'a file first\n',
  'usr/share/locked': { dir: true, mode: 0o755 },
  'usr/share/locked/inside.txt': 'same\n',
};
const after1: Record<string, FileSpec> = {
  ...common,
  'usr/share/doc/changed.txt': 'new text\n',
  'usr/share/doc/mode.txt': { content: 'same bytes\n', mode: 0o600 },
  'usr/share/doc/owner.txt': { content: 'same bytes\n', uid: 1000, gid: 1000 },
  'usr/share/doc/added.txt': 'new\n',
  'usr/share/new/x.txt': 'x\n',
  'usr/share/new/y/z.txt': 'z\n',
  'usr/share/new/y/w': { symlink: 'z.txt' },
  'usr/share/file-to-dir/inner.txt': 'now a directory\n',
  'usr/share/dir-to-file': 'now a file\n',
  'usr/share/link': { symlink: 'target-b' },
  'usr/share/file-to-link': { symlink: 'elsewhere' },
  'usr/share/locked': { dir: true, mode: 0o700 },
  'usr/share/locked/inside.txt': 'same\n',
};

describe('file counts between two commits, read from the repository', () => {
  let root = '';
  let fx: SysrootFixture;
  let a = '';
  let b = '';
  let same = '';
  before(() => {
    root = tempFixtureRoot();
    fx = createSysroot(root);
    a = commitTree(fx, { version: '1', timestamp: '2025-01-01T00:00:00Z', files: before1 });
    b = commitTree(fx, { version: '2', timestamp: '2025-02-01T00:00:00Z', files: after1 });
    same = commitTree(fx, { version: '3', timestamp: '2025-03-01T00:00:00Z', files: after1 });
  });
  after(() => removeFixture(root));

  it('counts exactly what ostree diff prints, in both directions', () => {
    const forward = ostreeDiffCounts(fx.repo, a, b);
    assert.ok(forward.added >= 5 && forward.removed >= 2 && forward.modified >= 8, JSON.stringify(forward));
    assert.deepEqual(commitTreeCounts(fx.repo, a, b), forward);
    assert.deepEqual(commitTreeCounts(fx.repo, b, a), ostreeDiffCounts(fx.repo, b, a));
  });

  it('skips identical subtrees: commits that differ in one file count one file', () => {
    // The fixture builder writes the version into usr/lib/os-release; nothing else differs.
    assert.deepEqual(ostreeDiffCounts(fx.repo, b, same), { added: 0, removed: 0, modified: 1 });
    assert.deepEqual(commitTreeCounts(fx.repo, b, same), { added: 0, removed: 0, modified: 1 });
    assert.deepEqual(commitTreeCounts(fx.repo, a, a), { added: 0, removed: 0, modified: 0 });
  });

  it('fails on a commit the repository does not hold, so callers can ask ostree instead', () => {
    assert.throws(() => commitTreeCounts(fx.repo, a, '0'.repeat(64)), { code: 'no-such-commit' });
  });
});
