import assert from 'node:assert/strict';
import {
  chmodSync,
  chownSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { withConfinement } from '../confined-fs.ts';
import { parseSnapperStatus, snapperLetters } from './snapper-letters.ts';
import { compareTrees, countChanges, displayPath, type TreeChange } from './tree-compare.ts';

/**
 * The tree comparison on two plain folders built here, where every kind of change is made on
 * purpose and the expected answer is known exactly.
 */

const IS_ROOT = process.getuid?.() === 0;

function put(path: Buffer | string, content: string | Buffer, mode = 0o644): void {
  writeFileSync(path, content, { mode });
  chmodSync(path, mode);
}

function b(...parts: (string | Buffer)[]): Buffer {
  return Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));
}

/** A name that is not UTF-8 (0xff never is), and one with a newline in it. */
const LATIN1_NAME = Buffer.from([0x63, 0x61, 0x66, 0xe9, 0xff]);
const NEWLINE_NAME = 'two\nlines';

function summary(changes: Iterable<TreeChange>): string[] {
  return [...changes].map((c) =>
    `${snapperLetters(c)} ${displayPath(c.path)} ${c.changes.join(',')}`.trimEnd(),
  );
}

describe('compareTrees on plain folders', () => {
  let work = '';
  let a = '';
  let bRoot = '';
  let outside = '';

  before(() => {
    work = mkdtempSync(join(tmpdir(), 'hindsight-files-'));
    a = join(work, 'a');
    bRoot = join(work, 'b');
    outside = join(work, 'outside');
    mkdirSync(join(outside, 'deep'), { recursive: true });
    put(join(outside, 'deep/secret'), 'outside the trees\n');
    for (const root of [a, bRoot]) {
      mkdirSync(join(root, 'etc/sub'), { recursive: true });
      mkdirSync(join(root, 'usr/lib'), { recursive: true });
      put(join(root, 'etc/same'), 'unchanged\n');
      put(join(root, 'etc/sub/keep'), 'kept\n');
      put(join(root, 'usr/lib/perm'), 'mode\n', 0o644);
      put(join(root, 'usr/lib/owned'), 'owner\n');
      // The same link in both trees, pointing out of them: it must be compared, never entered.
      symlinkSync(outside, join(root, 'escape'));
      symlinkSync('/proc/self/root', join(root, 'proc-link'));
    }
    // content: same size, and the old mtime put back, so only the bytes tell.
    put(join(a, 'etc/samesize'), 'value=1\n');
    put(join(bRoot, 'etc/samesize'), 'value=2\n');
    const old = lstatSync(join(a, 'etc/samesize'));
    utimesSync(join(bRoot, 'etc/samesize'), old.atime, old.mtime);
    // content: another size.
    put(join(a, 'etc/grown'), 'x\n');
    put(join(bRoot, 'etc/grown'), 'xx\n');
    // mode only.
    chmodSync(join(bRoot, 'usr/lib/perm'), 0o4755);
    // owner and group (root only).
    if (IS_ROOT) {
      chownSync(join(bRoot, 'usr/lib/owned'), 1234, 0);
      chownSync(join(bRoot, 'etc/sub'), 0, 4321);
    }
    // symlink retarget, same length.
    symlinkSync('target-1', join(a, 'etc/link'));
    symlinkSync('target-2', join(bRoot, 'etc/link'));
    // a link to a folder outside that turns into another link to it: only the target differs.
    symlinkSync(outside, join(a, 'out'));
    symlinkSync(join(outside, 'deep'), join(bRoot, 'out'));
    // file → folder (with contents), and folder → symlink.
    put(join(a, 'etc/became-dir'), 'file\n');
    mkdirSync(join(bRoot, 'etc/became-dir'));
    put(join(bRoot, 'etc/became-dir/inner'), 'inner\n');
    mkdirSync(join(a, 'etc/was-dir/x'), { recursive: true });
    put(join(a, 'etc/was-dir/x/y'), 'y\n');
    symlinkSync('/etc', join(bRoot, 'etc/was-dir'));
    // added and removed nested trees.
    mkdirSync(join(bRoot, 'opt/new/deeper'), { recursive: true });
    put(join(bRoot, 'opt/new/deeper/file'), 'new\n');
    put(join(bRoot, 'opt/new/top'), 'top\n');
    mkdirSync(join(a, 'var/old/deeper'), { recursive: true });
    put(join(a, 'var/old/deeper/file'), 'old\n');
    // names that are not UTF-8 or hold a newline, changed in content.
    put(b(a, '/etc/', LATIN1_NAME), 'latin-1\n');
    put(b(bRoot, '/etc/', LATIN1_NAME), 'latin-2\n');
    put(join(a, 'etc', NEWLINE_NAME), 'one\n');
    put(join(bRoot, 'etc', NEWLINE_NAME), 'two\n');
    put(b(bRoot, '/etc/added-', LATIN1_NAME), 'new\n');
    // A hardlink shared by both trees: proven the same without reading it.
    put(join(a, 'usr/lib/shared'), 'shared object\n');
    linkSync(join(a, 'usr/lib/shared'), join(bRoot, 'usr/lib/shared'));
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  const expected = (): string[] =>
    [
      '+..... etc/added-caf\\xe9\\xff',
      // 0644 file, 0755 folder: snapper reports the permissions beside the type, and so does this.
      'tp.... etc/became-dir type,mode',
      '+..... etc/became-dir/inner',
      'c..... etc/caf\\xe9\\xff content',
      'c..... etc/grown content',
      'c..... etc/link target',
      'c..... etc/samesize content',
      IS_ROOT ? '...g.. etc/sub group' : '',
      'c..... etc/two\\nlines content',
      'tp.... etc/was-dir type,mode',
      '-..... etc/was-dir/x',
      '-..... etc/was-dir/x/y',
      '+..... opt',
      '+..... opt/new',
      '+..... opt/new/deeper',
      '+..... opt/new/deeper/file',
      '+..... opt/new/top',
      'c..... out target',
      IS_ROOT ? '..u... usr/lib/owned owner' : '',
      '.p.... usr/lib/perm mode',
      '-..... var',
      '-..... var/old',
      '-..... var/old/deeper',
      '-..... var/old/deeper/file',
    ].filter(Boolean);

  it('reports every kind of change exactly, in path order, never entering links', () => {
    const comparison = compareTrees(a, bRoot);
    const got = summary(comparison);
    assert.deepEqual(got, expected());
    assert.equal(comparison.stats.boundaries, 0);
    assert.deepEqual(summary(compareTrees(a, bRoot, { prefetch: true })), got, 'the same with prefetching');
    // No path of the outside folder appears: the links to it were read, not followed.
    assert.ok(!got.some((l) => l.includes('secret') || l.includes('deep/')));
  });

  it('keeps the bytes of odd names and link targets', () => {
    const changes = [...compareTrees(a, bRoot)];
    const latin = changes.find((c) => c.path.equals(b('etc/', LATIN1_NAME)));
    assert.ok(latin, 'the non-UTF-8 name is reported with its own bytes');
    assert.equal(latin.status, 'modified');
    const newline = changes.find((c) => c.path.toString() === `etc/${NEWLINE_NAME}`);
    assert.deepEqual(newline?.changes, ['content']);
    const link = changes.find((c) => c.path.toString() === 'etc/link');
    assert.equal(link?.from?.target?.toString(), 'target-1');
    assert.equal(link?.to?.target?.toString(), 'target-2');
    const typed = changes.find((c) => c.path.toString() === 'etc/became-dir');
    assert.equal(typed?.from?.kind, 'file');
    assert.equal(typed?.to?.kind, 'dir');
    assert.deepEqual(countChanges(changes), {
      added: 7,
      removed: 6,
      modified: IS_ROOT ? 11 : 9,
    });
  });

  it('reads same-size files unless an inode proves them the same', () => {
    const comparison = compareTrees(a, bRoot);
    [...comparison];
    // ext4 or tmpfs here: no snapshot proof, so every same-size pair but the hardlink is read.
    assert.equal(comparison.stats.provenSame, 1, 'the hardlinked file');
    assert.ok(comparison.stats.filesRead >= 5, `read ${comparison.stats.filesRead}`);
    // Equal trees compare empty, whatever is read.
    assert.deepEqual([...compareTrees(a, a)], []);
  });

  it('gives the same answer inside the root helper’s confinement', {
    skip: !IS_ROOT && 'needs root',
  }, async () => {
    const got = await withConfinement(async () => summary(compareTrees(a, bRoot)));
    assert.deepEqual(got, expected());
  });

  it('stops early when the caller stops reading', () => {
    const comparison = compareTrees(a, bRoot);
    for (const _ of comparison) break;
    assert.ok(comparison.stats.entries < 10, `stat'ed ${comparison.stats.entries} entries`);
  });
});

describe('snapper letters', () => {
  it('parses snapper status lines and writes the same letters', () => {
    const parsed = parseSnapperStatus('c..... /etc/motd\n+..... /etc/foo.conf\n.p.... /usr/bin/x\n\n');
    assert.deepEqual(parsed, [
      { letters: 'c.....', path: '/etc/motd' },
      { letters: '+.....', path: '/etc/foo.conf' },
      { letters: '.p....', path: '/usr/bin/x' },
    ]);
    const meta = { kind: 'file' as const, mode: 0o100644, uid: 0, gid: 0, size: 1 };
    const change = (changes: TreeChange['changes']): TreeChange => ({
      path: Buffer.from('x'),
      status: 'modified',
      changes,
      from: meta,
      to: meta,
    });
    assert.equal(snapperLetters(change(['content', 'mode', 'owner', 'group'])), 'cpug..');
    assert.equal(snapperLetters(change(['type', 'mode'])), 'tp....');
    assert.equal(snapperLetters(change(['target'])), 'c.....');
  });
});
