import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { requireProgram, runSyncChecked } from '../exec.ts';
import { buildDemo, type DemoInfo } from '../fixtures/demo.ts';
import {
  commitTree,
  createSysroot,
  removeFixture,
  type SysrootFixture,
  tempFixtureRoot,
} from '../fixtures/sysroot-fixture.ts';
import { tool } from '../fixtures/test-support.ts';
import { readCommitFile } from './commit-file.ts';

/** `ostree cat`'s bytes, exactly. */
function ostreeCat(repo: string, commit: string, path: string): Buffer {
  return runSyncChecked(requireProgram('ostree'), ['cat', `--repo=${repo}`, commit, path]);
}

/** What `ostree ls -d` says of one path: type letter, mode, uid, gid, size, link target. */
function ostreeLs(repo: string, commit: string, path: string): string {
  const line = tool('ostree', ['ls', '-d', `--repo=${repo}`, commit, path]).trim();
  const m = /^([-dl])(\d{5}) (\d+) (\d+) +(\d+) \/.*?(?: -> (.*))?$/.exec(line);
  assert.ok(m, line);
  return [m[1], Number.parseInt(m[2] as string, 8), m[3], m[4], m[1] === '-' ? m[5] : '', m[6] ?? ''].join(
    ' ',
  );
}

function described(meta: {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  target?: string;
}) {
  const letter = meta.type === 'directory' ? 'd' : meta.type === 'symlink' ? 'l' : '-';
  return [letter, meta.mode, meta.uid, meta.gid, letter === '-' ? meta.size : '', meta.target ?? ''].join(
    ' ',
  );
}

function commitsOf(repo: string, ref: string): string[] {
  return [...tool('ostree', ['log', `--repo=${repo}`, ref]).matchAll(/^commit ([0-9a-f]{64})$/gm)].map(
    (m) => m[1] as string,
  );
}

describe('one file of a commit, read from the repository', () => {
  let root = '';
  let demo: DemoInfo;
  let fx: SysrootFixture;
  let linked = '';
  const repos: { name: string; repo: string; commits: string[] }[] = [];

  before(() => {
    root = tempFixtureRoot();
    demo = buildDemo(join(root, 'demo'));
    const bare = join(demo.sysroot, 'ostree', 'repo');
    repos.push({ name: 'bare', repo: bare, commits: commitsOf(bare, `${demo.remote}:${demo.ref}`) });
    repos.push({ name: 'archive', repo: demo.remoteRepo, commits: commitsOf(demo.remoteRepo, demo.ref) });
    fx = createSysroot(join(root, 'links'));
    linked = commitTree(fx, {
      version: '1',
      files: {
        'usr/share/real/inside.txt': 'inside\n',
        'usr/share/to-dir': { symlink: 'real' },
        'usr/share/to-file': { symlink: 'real/inside.txt' },
        'usr/share/secret': { content: 'mode and owner\n', mode: 0o640, uid: 1000, gid: 1001 },
      },
    });
  });
  after(() => removeFixture(root));

  it('gives the bytes ostree cat gives and the metadata ostree ls gives, in bare and archive repositories', () => {
    const paths = [
      '/usr/etc/passwd',
      '/usr/etc/ssh/sshd_config',
      '/usr/lib/os-release',
      'usr/share/dpkg/database/status',
      '/usr/share/dpkg/database/available',
    ];
    for (const { name, repo, commits } of repos) {
      assert.ok(commits.length >= 3, name);
      for (const commit of commits) {
        for (const path of paths) {
          const file = readCommitFile(repo, commit, path);
          assert.ok(file.content, `${name} ${path}`);
          assert.ok(
            file.content.equals(ostreeCat(repo, commit, path)),
            `${name} ${commit.slice(0, 8)} ${path}`,
          );
          assert.equal(described(file.meta), ostreeLs(repo, commit, path), `${name} ${path}`);
        }
        const link = readCommitFile(repo, commit, '/usr/etc/os-release');
        assert.deepEqual(link, {
          meta: { type: 'symlink', mode: 0o777, uid: 0, gid: 0, size: 21, target: '../usr/lib/os-release' },
          content: null,
        });
        for (const dir of ['/', '/usr/etc', '/usr/lib/modules/']) {
          const folder = readCommitFile(repo, commit, dir);
          assert.equal(folder.content, null);
          assert.equal(
            described(folder.meta),
            ostreeLs(repo, commit, dir.replace(/(.)\/$/, '$1')),
            `${name} ${dir}`,
          );
        }
      }
    }
  });

  it('gives mode and owner as committed', () => {
    const file = readCommitFile(fx.repo, linked, '/usr/share/secret');
    assert.deepEqual(file.meta, { type: 'file', mode: 0o640, uid: 1000, gid: 1001, size: 15 });
    assert.equal(file.content?.toString(), 'mode and owner\n');
  });

  it('reads no content over the size limit, and still gives the metadata', () => {
    for (const { repo, commits } of repos) {
      const commit = commits[0] as string;
      const path = '/usr/share/dpkg/database/status';
      const whole = readCommitFile(repo, commit, path);
      const size = whole.meta.size;
      assert.ok(size > 100_000);
      assert.deepEqual(readCommitFile(repo, commit, path, { maxSize: size - 1 }), {
        meta: whole.meta,
        content: null,
      });
      assert.equal(readCommitFile(repo, commit, path, { maxSize: size }).content?.length, size);
    }
  });

  it('refuses a path through a symlink, "..", ".", a file taken for a folder, and a missing path', () => {
    const bad = (path: string, message: RegExp) =>
      assert.throws(
        () => readCommitFile(fx.repo, linked, path),
        (error: Error & { code?: string }) => {
          assert.equal(error.code, 'bad-path', error.message);
          assert.match(error.message, message);
          return true;
        },
      );
    // The link itself is fine: it is what the commit holds under that name.
    assert.equal(readCommitFile(fx.repo, linked, '/usr/share/to-dir').meta.target, 'real');
    assert.equal(
      readCommitFile(fx.repo, linked, '/usr/share/real/inside.txt').content?.toString(),
      'inside\n',
    );
    bad('/usr/share/to-dir/inside.txt', /\/usr\/share\/to-dir is a symbolic link/);
    bad('/usr/share/to-file/x', /symbolic link/);
    bad('/usr/share/real/../secret', /"\.\."|\.\./);
    bad('/usr/./share/secret', /"\."/);
    bad('/usr/share/secret/x', /\/usr\/share\/secret is not a folder/);
    bad('/usr/share/nothing', /no \/usr\/share\/nothing in commit/);
    assert.throws(() => readCommitFile(fx.repo, '0'.repeat(64), '/usr'), { code: 'no-such-commit' });
  });
});
