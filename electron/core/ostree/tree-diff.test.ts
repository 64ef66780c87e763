import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  cpSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { HindsightError } from '../../../shared/errors.ts';
import type { FileChangeEntry, FileCounts, FileMeta } from '../../../shared/types.ts';
import { buildDebianTrees } from '../fixtures/debian-trees.ts';
import { buildDemo, type DemoInfo } from '../fixtures/demo.ts';
import {
  commitDirectory,
  commitTree,
  createSysroot,
  type FileSpec,
  removeFixture,
  type SysrootFixture,
  tempFixtureRoot,
} from '../fixtures/sysroot-fixture.ts';
import { tool } from '../fixtures/test-support.ts';
import { loadDirTree, readCommitFile } from './commit-file.ts';
import { readCommitObject } from './commit-object.ts';
import { commitTreeCounts, commitTreeDiff } from './tree-diff.ts';

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

// ---------------------------------------------------------------------------------------------
// Every path, on the demo's real repositories

/** `ostree diff`'s own lines as "L /path" (latin1 keeps every byte), in its order. */
function ostreeDiffLines(repo: string, from: string, to: string, prefixes?: string[]): string[] {
  const lines = tool('ostree', ['diff', `--repo=${repo}`, from, to])
    .split('\n')
    .filter((l) => l !== '')
    .map((line) => {
      const m = /^([AMD]) {4}(\/.*)$/.exec(line);
      assert.ok(m, `an ostree diff line: ${line}`);
      return `${m[1]} ${m[2]}`;
    });
  if (!prefixes) return lines;
  return lines.filter((l) => prefixes.some((p) => l.slice(2) === p || l.slice(2).startsWith(`${p}/`)));
}

const LETTER = { added: 'A', removed: 'D', modified: 'M' } as const;

function entryPath(e: FileChangeEntry): Buffer {
  return e.pathBase64 !== undefined ? Buffer.from(e.pathBase64, 'base64') : Buffer.from(e.path, 'utf8');
}

function lettersOf(entries: FileChangeEntry[]): string[] {
  return entries.map((e) => `${LETTER[e.status]} ${entryPath(e).toString('latin1')}`);
}

/** Tree order: component by component, bytewise, a folder before what is under it. */
function treeOrder(paths: string[]): string[] {
  const split = (p: string) => p.split('/');
  return [...paths].sort((x, y) => {
    const [a, b] = [split(x), split(y)];
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      if (a[i] !== b[i]) return (a[i] as string) < (b[i] as string) ? -1 : 1;
    }
    return a.length - b.length;
  });
}

/** Asserts the engine lists exactly ostree diff's lines, letter for letter, in tree order. */
function assertSameAsOstree(repo: string, from: string, to: string, paths?: string[]): FileChangeEntry[] {
  const diff = commitTreeDiff(repo, from, to, paths ? { paths } : {});
  const ours = lettersOf(diff.entries);
  const theirs = ostreeDiffLines(repo, from, to, paths);
  assert.deepEqual([...ours].sort(), [...theirs].sort(), `${from.slice(0, 8)} → ${to.slice(0, 8)}`);
  const bare = ours.map((l) => l.slice(2));
  assert.deepEqual(bare, treeOrder(bare), 'entries come in tree order');
  const count = (letter: string) => theirs.filter((l) => l[0] === letter).length;
  assert.deepEqual(diff.counts, { added: count('A'), removed: count('D'), modified: count('M') });
  if (!paths) assert.deepEqual(commitTreeCounts(repo, from, to), diff.counts);
  return diff.entries;
}

/** `ostree ls -R` of a whole commit: path (latin1) → what it says of the entry. */
function ostreeLs(repo: string, commit: string): Map<string, FileMeta> {
  const found = new Map<string, FileMeta>();
  for (const line of tool('ostree', ['ls', '-R', `--repo=${repo}`, commit]).split('\n')) {
    const m = /^([-dl])(\d{5}) (\d+) (\d+) +(\d+) (\/.*?)(?: -> (.*))?$/.exec(line);
    if (!m) continue;
    const type = m[1] === 'd' ? 'directory' : m[1] === 'l' ? 'symlink' : 'file';
    const meta: FileMeta = {
      type,
      mode: Number.parseInt(m[2] as string, 8),
      uid: +(m[3] as string),
      gid: +(m[4] as string),
      size: +(m[5] as string),
    };
    if (type === 'symlink') meta.target = Buffer.from(m[7] as string, 'latin1').toString('utf8');
    found.set(m[6] as string, meta);
  }
  return found;
}

/** from/to metadata as ostree ls gives it (a symlink's size aside: ostree ls says 0, lstat its length). */
function assertMetaAsOstree(repo: string, from: string, to: string, entries: FileChangeEntry[]): void {
  const sides = [
    [ostreeLs(repo, from), 'from'],
    [ostreeLs(repo, to), 'to'],
  ] as const;
  for (const e of entries) {
    const path = entryPath(e).toString('latin1');
    for (const [ls, side] of sides) {
      const meta = e[side];
      const expected = ls.get(path);
      assert.equal(meta === null, expected === undefined, `${side} of ${path}`);
      if (!meta || !expected) continue;
      const size = meta.type === 'symlink' ? Buffer.byteLength(meta.target ?? '') : expected.size;
      assert.deepEqual(meta, { ...expected, size }, `${side} of ${path}`);
    }
  }
}

function commitsOf(repo: string, ref: string): string[] {
  return [...tool('ostree', ['log', `--repo=${repo}`, ref]).matchAll(/^commit ([0-9a-f]{64})$/gm)].map(
    (m) => m[1] as string,
  );
}

function pairs<T>(items: T[]): [T, T][] {
  return items.flatMap((a) => items.filter((b) => b !== a).map((b) => [a, b] as [T, T]));
}

/** Writes a metadata object under the checksum of its bytes, as ostree would. */
function writeObject(repo: string, bytes: Buffer, suffix: string): string {
  const sum = createHash('sha256').update(bytes).digest('hex');
  mkdirSync(join(repo, 'objects', sum.slice(0, 2)), { recursive: true });
  writeFileSync(join(repo, 'objects', sum.slice(0, 2), `${sum.slice(2)}.${suffix}`), bytes);
  return sum;
}

function replaceOnce(bytes: Buffer, from: Buffer, to: Buffer): Buffer {
  const at = bytes.indexOf(from);
  assert.ok(at >= 0 && bytes.indexOf(from, at + 1) < 0, 'the bytes to patch are there once');
  assert.equal(from.length, to.length, 'a patch keeps the length, so GVariant framing holds');
  return Buffer.concat([bytes.subarray(0, at), to, bytes.subarray(at + from.length)]);
}

/**
 * ostree commit refuses names that are not UTF-8, but a repository can hold them (written by
 * another tool, or an older ostree). Patches a name in a commit's dirtree byte for byte and
 * rewrites the checksums up to a new commit object.
 */
function commitWithRawName(repo: string, commit: string, dirs: string[], from: Buffer, to: Buffer): string {
  const info = readCommitObject(repo, commit);
  const chain = [info.rootTree];
  for (const name of dirs) {
    const next = loadDirTree(repo, chain[chain.length - 1] as string).dirs.get(name);
    assert.ok(next, name);
    chain.push(next.tree);
  }
  const read = (sum: string, suffix: string) =>
    readFileSync(join(repo, 'objects', sum.slice(0, 2), `${sum.slice(2)}.${suffix}`));
  let old = chain.pop() as string;
  let now = writeObject(repo, replaceOnce(read(old, 'dirtree'), from, to), 'dirtree');
  for (const parent of chain.reverse()) {
    const patched = replaceOnce(read(parent, 'dirtree'), Buffer.from(old, 'hex'), Buffer.from(now, 'hex'));
    [old, now] = [parent, writeObject(repo, patched, 'dirtree')];
  }
  return writeObject(
    repo,
    replaceOnce(read(commit, 'commit'), Buffer.from(old, 'hex'), Buffer.from(now, 'hex')),
    'commit',
  );
}

describe('files between two commits, path by path as ostree diff lists them', () => {
  let root = '';
  let demo: DemoInfo;
  let bare = '';
  let archive = '';
  /** The remote's commits, newest first: 4.0 (never deployed), 3.0, 2.0, 1.0. */
  let commits: string[] = [];
  /** The deployments' commits, in the sysroot's bare repository. */
  let deployed: string[] = [];
  /** 3.0 with one change of every kind (see before()), committed to both repositories. */
  let changed = '';
  const ostree = (args: string[]) => tool('ostree', args);

  before(() => {
    root = tempFixtureRoot();
    demo = buildDemo(join(root, 'demo'));
    bare = join(demo.sysroot, 'ostree', 'repo');
    archive = demo.remoteRepo;
    commits = commitsOf(archive, demo.ref);
    deployed = commitsOf(bare, `${demo.remote}:${demo.ref}`);
    const three = commits[1] as string;
    // A copy, never hard links: editing a hard-linked checkout would edit the repository's objects.
    const tree = join(root, 'changed');
    ostree(['checkout', `--repo=${bare}`, '--force-copy', three, tree]);
    const etc = join(tree, 'usr/etc');
    chmodSync(join(etc, 'motd'), 0o600);
    rmSync(join(etc, 'os-release'));
    symlinkSync('../lib/os-release', join(etc, 'os-release'));
    chownSync(join(etc, 'hosts'), 1000, 1001);
    writeFileSync(join(etc, 'hostname'), 'another-name\n');
    chmodSync(join(etc, 'hostname'), 0o640);
    // Same size, one byte different: only the bytes themselves tell.
    const fstab = readFileSync(join(etc, 'fstab'), 'utf8');
    writeFileSync(join(etc, 'fstab'), fstab.replace('ext4', 'xfs4'));
    rmSync(join(etc, 'apt/sources.list'));
    symlinkSync('/dev/null', join(etc, 'apt/sources.list'));
    chmodSync(join(etc, 'ssh'), 0o700);
    const available = join(tree, 'usr/share/dpkg/database/available');
    rmSync(available);
    mkdirSync(available);
    writeFileSync(join(available, 'inside'), 'hidden by the type change\n');
    const modules = join(tree, 'usr/lib/modules');
    rmSync(join(modules, readdirSync(modules)[0] as string), { recursive: true });
    mkdirSync(join(tree, 'usr/share/new-dir/a'), { recursive: true });
    writeFileSync(join(tree, 'usr/share/new-dir/a/b.txt'), 'b\n');
    symlinkSync('a/b.txt', join(tree, 'usr/share/new-dir/link'));
    writeFileSync(join(tree, 'usr/share/zz-name-XY'), 'an odd name\n');
    for (const repo of [bare, archive]) {
      changed = ostree([
        'commit',
        `--repo=${repo}`,
        '--branch=hindsight-test/changed',
        `--tree=dir=${tree}`,
        '--timestamp=2025-08-01T00:00:00Z',
        '--subject=changed',
      ]).trim();
    }
  });
  after(() => removeFixture(root));

  it('lists what ostree diff lists between every two deployments (bare repository)', () => {
    assert.equal(ostree(['config', `--repo=${bare}`, 'get', 'core.mode']).trim(), 'bare');
    assert.equal(deployed.length, 3);
    for (const [a, b] of pairs(deployed)) assertMetaAsOstree(bare, a, b, assertSameAsOstree(bare, a, b));
  });

  it('lists what ostree diff lists between every two commits, 4.0 (not deployed) too (archive repository)', () => {
    assert.match(ostree(['config', `--repo=${archive}`, 'get', 'core.mode']).trim(), /^archive(-z2)?$/);
    assert.equal(commits.length, 4);
    assert.ok(!deployed.includes(commits[0] as string), '4.0 is not deployed');
    for (const [a, b] of pairs(commits)) assertMetaAsOstree(archive, a, b, assertSameAsOstree(archive, a, b));
  });

  it('says what changed: content, target, type, mode, owner, group', () => {
    const three = commits[1] as string;
    for (const repo of [bare, archive]) {
      const entries = assertSameAsOstree(repo, three, changed);
      assertMetaAsOstree(repo, three, changed, entries);
      const changes = new Map(entries.map((e) => [e.path, `${LETTER[e.status]} ${e.changes.join(',')}`]));
      const expected: Record<string, string> = {
        '/usr/etc/motd': 'M mode',
        '/usr/etc/os-release': 'M target',
        '/usr/etc/hosts': 'M owner,group',
        '/usr/etc/hostname': 'M content,mode',
        '/usr/etc/fstab': 'M content',
        '/usr/etc/apt/sources.list': 'M type',
        '/usr/etc/ssh': 'M mode',
        '/usr/share/dpkg/database/available': 'M type',
        '/usr/share/new-dir': 'A ',
        '/usr/share/new-dir/a': 'A ',
        '/usr/share/new-dir/a/b.txt': 'A ',
        '/usr/share/new-dir/link': 'A ',
      };
      for (const [path, what] of Object.entries(expected))
        assert.equal(changes.get(path), what, `${repo}: ${path}`);
      // A removed folder is listed once; a type change hides what is under it, as in ostree diff.
      assert.equal(entries.filter((e) => e.status === 'removed').length, 1);
      assert.ok(!changes.has('/usr/share/dpkg/database/available/inside'));
      const link = entries.find((e) => e.path === '/usr/etc/os-release');
      assert.equal(link?.from?.target, '../usr/lib/os-release');
      assert.equal(link?.to?.target, '../lib/os-release');
      const hosts = entries.find((e) => e.path === '/usr/etc/hosts');
      assert.deepEqual([hosts?.to?.uid, hosts?.to?.gid], [1000, 1001]);
      // The way back says the same, mirrored.
      const back = new Map(assertSameAsOstree(repo, changed, three).map((e) => [e.path, e]));
      assert.deepEqual(back.get('/usr/etc/hostname')?.changes, ['content', 'mode']);
      assert.equal(back.get('/usr/share/new-dir')?.status, 'removed');
    }
  });

  it('restricts to the given subtrees exactly as ostree diff filtered to them', () => {
    const three = commits[1] as string;
    const selections = [
      ['/usr/etc'],
      ['/usr/lib/modules', '/usr/etc/hosts', '/nonexistent'],
      ['usr/share/dpkg/database/status'],
      ['/usr/share/dpkg/database/available/inside', '/usr/share/new-dir/a/b.txt'],
      ['/usr/etc/ssh/sshd_config', '/usr/etc', '/usr/etc/apt'],
      ['/'],
    ];
    for (const paths of selections) {
      const prefixes = paths.map((p) => `/${p.replace(/^\/+|\/+$/g, '')}`.replace(/^\/$/, ''));
      for (const [repo, a, b] of [
        [archive, commits[3], commits[0]],
        [archive, commits[0], commits[2]],
        [bare, three, changed],
        [bare, changed, three],
      ] as [string, string, string][]) {
        const diff = commitTreeDiff(repo, a, b, { paths });
        assert.deepEqual(
          lettersOf(diff.entries).sort(),
          ostreeDiffLines(repo, a, b)
            .filter((l) => prefixes.some((p) => l.slice(2) === p || l.slice(2).startsWith(`${p}/`)))
            .sort(),
          JSON.stringify(paths),
        );
      }
    }
    assert.throws(
      () => commitTreeDiff(archive, commits[0] as string, commits[1] as string, { paths: ['/usr/../etc'] }),
      {
        code: 'bad-path',
      },
    );
  });

  it('prunes the walk to the given subtrees: objects elsewhere are never opened', () => {
    // A copy of the archive repository without 4.0's /usr/share/dpkg dirtree: only a walk that
    // goes there can notice.
    const copy = join(root, 'pruned-repo');
    cpSync(archive, copy, { recursive: true });
    const newest = readCommitObject(copy, commits[0] as string);
    let tree = newest.rootTree;
    for (const name of ['usr', 'share', 'dpkg'])
      tree = loadDirTree(copy, tree).dirs.get(name)?.tree as string;
    rmSync(join(copy, 'objects', tree.slice(0, 2), `${tree.slice(2)}.dirtree`));
    const from = commits[1] as string;
    const to = commits[0] as string;
    assert.deepEqual(
      lettersOf(commitTreeDiff(copy, from, to, { paths: ['/usr/etc', '/usr/lib'] }).entries).sort(),
      ostreeDiffLines(archive, from, to, ['/usr/etc', '/usr/lib']).sort(),
    );
    assert.throws(() => commitTreeDiff(copy, from, to), { code: 'unreadable' });
  });

  it('reads a commit pulled in part where it is downloaded, and says "not downloaded" elsewhere', () => {
    // What an update check leaves: `ostree pull --subpath` marks the commits commitpartial.
    const partial = join(root, 'partial-repo');
    ostree(['init', `--repo=${partial}`, '--mode=archive']);
    ostree(['remote', 'add', `--repo=${partial}`, '--no-gpg-verify', 'demo', `file://${archive}`]);
    ostree(['pull', `--repo=${partial}`, '--depth=1', '--subpath=/usr/etc', 'demo', demo.ref]);
    const [to, from] = commits as [string, string];
    assert.deepEqual(
      lettersOf(commitTreeDiff(partial, from, to, { paths: ['/usr/etc'] }).entries).sort(),
      ostreeDiffLines(archive, from, to, ['/usr/etc']).sort(),
    );
    assert.equal(
      readCommitFile(partial, to, '/usr/etc/passwd').content?.toString(),
      ostree(['cat', `--repo=${archive}`, to, '/usr/etc/passwd']),
    );
    assert.throws(() => commitTreeDiff(partial, from, to), { code: 'not-downloaded' });
    assert.throws(() => readCommitFile(partial, to, '/usr/lib/os-release'), { code: 'not-downloaded' });
  });

  it('keeps names that are not UTF-8 byte for byte (pathBase64), and reads them back', () => {
    const odd = Buffer.from([0x7a, 0x7a, 0x2d, 0x6e, 0x61, 0x6d, 0x65, 0x2d, 0xff, 0xfe]); // "zz-name-" + 2 bytes
    const raw = commitWithRawName(bare, changed, ['usr', 'share'], Buffer.from('zz-name-XY'), odd);
    const entries = commitTreeDiff(bare, commits[1] as string, raw, { paths: ['/usr/share'] }).entries;
    const entry = entries.find((e) => e.pathBase64 !== undefined);
    assert.ok(entry, JSON.stringify(entries.map((e) => e.path)));
    const bytes = Buffer.concat([Buffer.from('/usr/share/'), odd]);
    assert.equal(entry.pathBase64, bytes.toString('base64'));
    assert.equal(entry.path, bytes.toString('utf8'));
    assert.equal(entry.status, 'added');
    assert.equal(readCommitFile(bare, raw, entryPath(entry)).content?.toString(), 'an odd name\n');
    // Between the two, only the name differs: the old name goes, the new one comes.
    assert.deepEqual(
      commitTreeDiff(bare, changed, raw).entries.map((e) => [e.status, e.pathBase64 ?? e.path]),
      [
        ['removed', '/usr/share/zz-name-XY'],
        ['added', bytes.toString('base64')],
      ],
    );
  });

  it('reads bare-user-only repositories, and refuses modes whose metadata Node cannot read', () => {
    const userOnly = join(root, 'bare-user-only');
    ostree(['init', `--repo=${userOnly}`, '--mode=bare-user-only']);
    ostree(['pull-local', `--repo=${userOnly}`, '--depth=-1', archive, demo.ref]);
    for (const [a, b] of pairs(commits))
      assertMetaAsOstree(userOnly, a, b, assertSameAsOstree(userOnly, a, b));
    const user = join(root, 'bare-user');
    ostree(['init', `--repo=${user}`, '--mode=bare-user']);
    ostree(['pull-local', `--repo=${user}`, '--depth=-1', archive, demo.ref]);
    const [a, b] = commits as [string, string];
    assert.throws(
      () => commitTreeDiff(user, a, b),
      (error: HindsightError) => {
        assert.equal(error.code, 'unsupported');
        assert.match(error.message, /bare-user/);
        return true;
      },
    );
    // Counting needs no file object, so it works in any mode.
    assert.deepEqual(commitTreeCounts(user, a, b), ostreeDiffCounts(user, a, b));
  });

  it('takes about as long as ostree diff on the pair with the most changes (timings logged, not asserted)', () => {
    const sized = pairs(commits).map(([x, y]) => ({ x, y, n: ostreeDiffLines(archive, x, y).length }));
    const { x: a, y: b } = sized.sort((p, q) => q.n - p.n)[0] as { x: string; y: string };
    const time = (run: () => unknown): number => {
      const started = process.hrtime.bigint();
      run();
      return Number(process.hrtime.bigint() - started) / 1e6;
    };
    const ours = [1, 2].map(() => time(() => commitTreeDiff(archive, a, b)));
    const theirs = time(() => ostreeDiffLines(archive, a, b));
    process.stderr.write(
      `# tree-diff: ${ostreeDiffLines(archive, a, b).length} paths; commitTreeDiff (objects already read by earlier tests) ${ours.map((t) => t.toFixed(2)).join(' ms, then ')} ms; ostree diff ${theirs.toFixed(1)} ms\n`,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// The debootstrapped Debian trees (opt-in, as in debian-trees.test.ts)

const DEBIAN = process.env.HINDSIGHT_DEBIAN === '1' && process.getuid?.() === 0;
const DEBIAN_CACHE =
  process.env.HINDSIGHT_DEBIAN_CACHE ||
  join(resolve(fileURLToPath(import.meta.url), '../../../..'), 'bench/fixtures/debian');

describe('files between two real Debian 12 trees', {
  skip: DEBIAN ? false : 'opt-in: HINDSIGHT_DEBIAN=1, as root',
}, () => {
  let root = '';
  let fx: SysrootFixture;
  let a = '';
  let b = '';
  before(() => {
    const trees = buildDebianTrees(DEBIAN_CACHE);
    root = tempFixtureRoot('hindsight-debian-diff-');
    fx = createSysroot(root);
    tool('ostree', ['config', `--repo=${fx.repo}`, 'set', 'core.fsync', 'false']);
    a = commitDirectory(fx, trees.a, { version: 'a' });
    b = commitDirectory(fx, trees.b, { version: 'b' });
  });
  after(() => removeFixture(root));

  it('lists what ostree diff lists, both ways, with the metadata ostree ls gives', () => {
    for (const [from, to] of [
      [a, b],
      [b, a],
    ] as const) {
      const started = process.hrtime.bigint();
      const entries = assertSameAsOstree(fx.repo, from, to);
      process.stderr.write(
        `# tree-diff (Debian): ${entries.length} paths, checked against ostree in ${(Number(process.hrtime.bigint() - started) / 1e6).toFixed(0)} ms\n`,
      );
      assertMetaAsOstree(fx.repo, from, to, entries);
    }
  });
});
