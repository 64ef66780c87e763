import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { HindsightError } from '../../../shared/errors.ts';
import { requireProgram, runSyncChecked } from '../exec.ts';
import {
  commitObjectPath,
  commitPackageList,
  readCommitDetachedMetadata,
  readCommitHistory,
  readCommitObject,
  readRefs,
} from './commit-object.ts';
import { parseGVariant } from './gvariant.ts';

const OSTREE = requireProgram('ostree', 'ostree-missing');
// ostree prints dates in the local zone; UTC keeps its output comparable to ISO strings.
const ENV = { ...process.env, TZ: 'UTC', LC_ALL: 'C.UTF-8' };

function ostree(repo: string, args: string[]): string {
  return runSyncChecked(OSTREE, [...args, `--repo=${repo}`], { env: ENV }).toString('utf8');
}

interface ShownCommit {
  checksum: string;
  parent: string | null;
  timestamp: string;
  version: string | null;
  subject: string;
  body: string;
}

/** Parses one commit block as `ostree show` / `ostree log` print it. */
function parseShowBlock(block: string): ShownCommit {
  const lines = block.split('\n');
  const header = new Map<string, string>();
  let i = 0;
  for (; i < lines.length && lines[i] !== ''; i++) {
    const line = lines[i] ?? '';
    const commit = /^commit ([0-9a-f]{64})$/.exec(line);
    if (commit?.[1]) header.set('commit', commit[1]);
    const field = /^(\w+):\s+(.*)$/.exec(line);
    if (field?.[1] && field[2] !== undefined) header.set(field[1], field[2]);
  }
  const message = lines.slice(i + 1).map((l) => l.replace(/^ {4}/, ''));
  while (message.length && message[message.length - 1] === '') message.pop();
  const date = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d) \+0000$/.exec(header.get('Date') ?? '');
  assert.ok(date, `unexpected Date line in: ${block}`);
  return {
    checksum: header.get('commit') ?? '',
    parent: header.get('Parent') ?? null,
    timestamp: `${date[1]}T${date[2]}.000Z`,
    version: header.get('Version') ?? null,
    subject: message[0] ?? '',
    body: message.slice(2).join('\n'),
  };
}

function showCommit(repo: string, checksum: string): ShownCommit {
  return parseShowBlock(ostree(repo, ['show', checksum]));
}

/** `ostree ls -C -d` prints a directory's dirtree and dirmeta checksums. */
function rootChecksums(repo: string, checksum: string): { tree: string; meta: string } {
  const line = ostree(repo, ['ls', '-C', '-d', checksum, '/']).trim();
  const match = /([0-9a-f]{64}) ([0-9a-f]{64}) \/$/.exec(line);
  assert.ok(match?.[1] && match[2], `unexpected ls output: ${line}`);
  return { tree: match[1], meta: match[2] };
}

function expectCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof HindsightError, `expected a HindsightError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return true;
  });
}

/** Puts arbitrary bytes where a commit object named by their own SHA-256 would live. */
function plantObject(repo: string, bytes: Buffer): string {
  const checksum = createHash('sha256').update(bytes).digest('hex');
  const path = commitObjectPath(repo, checksum);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, bytes);
  return checksum;
}

/** A small deterministic generator, so fuzz failures reproduce. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const work = mkdtempSync(join(tmpdir(), 'hindsight-commit-object-'));
after(() => rmSync(work, { recursive: true, force: true }));

function makeTree(name: string, files: Record<string, string>): string {
  const dir = join(work, name);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

const CHAIN = [
  {
    subject: 'First import',
    body: 'Initial tree\nwith two lines',
    version: '1.2.1',
    when: '2023-03-04 05:06:07 UTC',
  },
  { subject: 'Second — ünïcode', body: '', version: '1.2.2', when: '2024-01-02T03:04:05Z' },
  { subject: 'Third', body: 'Body three', version: '1.2.3', when: '2025-11-30 23:59:59 UTC' },
];

for (const mode of ['bare', 'archive'] as const) {
  describe(`a ${mode} repository`, () => {
    const repo = join(work, `repo-${mode}`);
    const checksums: string[] = [];

    before(() => {
      ostree(repo, ['init', `--mode=${mode}`]);
      CHAIN.forEach((step, i) => {
        const tree = makeTree(`tree-${mode}-${i}`, {
          'etc/os-release': `VERSION=${step.version}\n`,
          [`usr/f${i}`]: 'x',
        });
        const args = [
          'commit',
          '-b',
          'test/ref',
          `--subject=${step.subject}`,
          `--add-metadata-string=version=${step.version}`,
          `--add-metadata-string=other=x${i}`,
          `--timestamp=${step.when}`,
          `--tree=dir=${tree}`,
        ];
        if (step.body) args.push(`--body=${step.body}`);
        if (i === 2) args.push('--add-detached-metadata-string=note=signed off');
        checksums.push(ostree(repo, args).trim());
      });
      ostree(repo, ['refs', `--create=origin:debian/stable`, checksums[0] ?? '']);
      ostree(repo, ['refs', `--create=other/branch`, checksums[1] ?? '']);
      ostree(repo, ['refs', '--alias', '--create=alias/latest', 'test/ref']);
    });

    test('each commit matches ostree show', () => {
      assert.equal(checksums.length, 3);
      for (const checksum of checksums) {
        const info = readCommitObject(repo, checksum);
        const shown = showCommit(repo, checksum);
        assert.equal(info.checksum, shown.checksum);
        assert.equal(info.parent, shown.parent);
        assert.equal(info.timestamp, shown.timestamp);
        assert.equal(info.version, shown.version);
        assert.equal(info.subject, shown.subject);
        assert.equal(info.body, shown.body);
        const roots = rootChecksums(repo, checksum);
        assert.equal(info.rootTree, roots.tree);
        assert.equal(info.rootMeta, roots.meta);
        for (const key of ['version', 'other']) {
          const printed = ostree(repo, ['show', `--print-metadata-key=${key}`, checksum]).trim();
          assert.equal(`'${info.metadata[key]}'`, printed);
        }
        // ostree records the branch the commit was made on.
        assert.deepEqual(info.metadata['ostree.ref-binding'], ['test/ref']);
      }
      const first = readCommitObject(repo, checksums[0] ?? '');
      assert.equal(first.parent, null);
      assert.equal(first.timestamp, '2023-03-04T05:06:07.000Z');
    });

    test('history follows parents like ostree log', () => {
      const head = checksums[2] ?? '';
      const history = readCommitHistory(repo, head);
      const logged = ostree(repo, ['log', 'test/ref'])
        .split(/\n(?=commit [0-9a-f]{64}\n)/)
        .map(parseShowBlock);
      assert.deepEqual(
        history.map((c) => c.checksum),
        logged.map((c) => c.checksum),
      );
      assert.deepEqual(
        history.map((c) => [c.subject, c.body, c.timestamp, c.version, c.parent]),
        logged.map((c) => [c.subject, c.body, c.timestamp, c.version, c.parent]),
      );
      assert.deepEqual(
        readCommitHistory(repo, head, 2).map((c) => c.checksum),
        checksums.slice(1).reverse(),
      );
    });

    test('refs match ostree refs and rev-parse', () => {
      const refs = readRefs(repo);
      const listed = ostree(repo, ['refs']).split('\n').filter(Boolean).sort();
      assert.deepEqual(Object.keys(refs).sort(), listed);
      assert.ok(listed.includes('origin:debian/stable') && listed.includes('alias/latest'));
      for (const name of listed) assert.equal(refs[name], ostree(repo, ['rev-parse', name]).trim(), name);
    });

    test('detached metadata matches ostree show', () => {
      const head = checksums[2] ?? '';
      const detached = readCommitDetachedMetadata(repo, head);
      const printed = ostree(repo, ['show', '--print-detached-metadata-key=note', head]).trim();
      assert.equal(`'${detached?.note}'`, printed);
      assert.equal(readCommitDetachedMetadata(repo, checksums[0] ?? ''), null);
    });
  });
}

describe('metadata of every type', () => {
  const repo = join(work, 'repo-types');
  const many = Array.from({ length: 6000 }, (_, i) => `item-${String(i).padStart(5, '0')}-xx`);
  const some = many.slice(0, 500);
  // GVariant text given to ostree → the plain value readCommitObject must give back.
  const cases: Record<string, [string, unknown]> = {
    bool: ['true', true],
    byte: ['byte 0x2a', 42],
    int16: ['int16 -3', -3],
    uint16: ['uint16 65535', 65535],
    int32: ['-70000', -70000],
    uint32: ['uint32 4000000000', 4000000000],
    int64: ['int64 -5', -5],
    int64min: ['int64 -9223372036854775808', '-9223372036854775808'],
    uint64max: ['uint64 18446744073709551615', '18446744073709551615'],
    double: ['3.25', 3.25],
    string: ["'héllo wörld ✓'", 'héllo wörld ✓'],
    objectpath: ["objectpath '/org/example/Obj'", '/org/example/Obj'],
    signature: ["signature 'a{sv}(ii)'", 'a{sv}(ii)'],
    bytestring: ["b'abc'", '61626300'],
    bytes: ['[byte 0x01, 0xff]', '01ff'],
    strings: ["['a', 'bb', '']", ['a', 'bb', '']],
    empty: ['@as []', []],
    ints: ['[1, -2, 3]', [1, -2, 3]],
    justInt: ['@mi 5', 5],
    nothingInt: ['@mi nothing', null],
    justString: ["@ms 'x'", 'x'],
    nothingString: ['@ms nothing', null],
    mixedTuple: ["('a', uint64 7, [byte 1], true, int16 2, 'z')", ['a', 7, '01', true, 2, 'z']],
    fixedTuple: ['(byte 1, int32 2, true)', [1, 2, true]],
    unit: ['()', []],
    fixedTuples: [
      '[(byte 1, int32 2), (byte 3, int32 4)]',
      [
        [1, 2],
        [3, 4],
      ],
    ],
    dict: ["{'a': <1>, 'b': <'two'>, 'c': <<int64 3>>}", { a: 1, b: 'two', c: 3 }],
    intKeys: ["{1: 'one', 2: 'two'}", { 1: 'one', 2: 'two' }],
    nested: ["[['a'], @as [], ['b', 'c']]", [['a'], [], ['b', 'c']]],
    byteArrays: ["[@ay [], b'x']", ['', '7800']],
    some: [`[${some.map((s) => `'${s}'`).join(', ')}]`, some],
    many: [`[${many.map((s) => `'${s}'`).join(', ')}]`, many],
    'rpmostree.rpmdb.pkglist': [
      "[('bash', uint64 0, '5.2', '1.fc39', 'x86_64'), ('zsh', uint64 1, '5.9', '2', 'x86_64'), ('kernel', uint64 0, '6.5.6', '300.fc39', 'x86_64')]",
      [
        ['bash', 0, '5.2', '1.fc39', 'x86_64'],
        ['zsh', 1, '5.9', '2', 'x86_64'],
        ['kernel', 0, '6.5.6', '300.fc39', 'x86_64'],
      ],
    ],
  };
  let checksum = '';
  let small = '';

  before(() => {
    ostree(repo, ['init', '--mode=bare']);
    const tree = makeTree('tree-types', { 'usr/lib/os-release': 'ID=test\n' });
    const args = ['commit', '-b', 'types', '--subject=typed', `--tree=dir=${tree}`];
    for (const [key, [text]] of Object.entries(cases)) args.push(`--add-metadata=${key}=${text}`);
    checksum = ostree(repo, args).trim();
    // The same values without the long lists, small enough to fuzz quickly.
    const smallArgs = ['commit', '-b', 'types-small', '--subject=small', `--tree=dir=${tree}`];
    for (const [key, [text]] of Object.entries(cases)) {
      if (key !== 'many' && key !== 'some') smallArgs.push(`--add-metadata=${key}=${text}`);
    }
    small = ostree(repo, smallArgs).trim();
  });

  test('every value reads back as given', () => {
    const info = readCommitObject(repo, checksum);
    for (const [key, [, expected]] of Object.entries(cases)) {
      assert.deepEqual(info.metadata[key], expected, key);
    }
    assert.equal(info.version, null);
  });

  test('numbers agree with ostree show --print-metadata-key', () => {
    const info = readCommitObject(repo, checksum);
    for (const key of ['int16', 'uint16', 'int64', 'int64min', 'uint64max', 'uint32']) {
      // -B: ostree 2022.7 byteswaps non-string values it prints unless told not to.
      const printed = ostree(repo, ['show', '-B', `--print-metadata-key=${key}`, checksum]).trim();
      assert.equal(printed.replace(/^\w+ /, ''), String(info.metadata[key]), key);
    }
  });

  test('the package list matches what ostree prints', () => {
    const info = readCommitObject(repo, checksum);
    const printed = ostree(repo, ['show', '-B', '--print-metadata-key=rpmostree.rpmdb.pkglist', checksum]);
    const fromCli = Array.from(
      printed.matchAll(/\('([^']*)', (?:uint64 )?(\d+), '([^']*)', '([^']*)', '([^']*)'\)/g),
      ([, name, epoch, version, release, arch]) => ({
        name,
        version: `${epoch === '0' ? '' : `${epoch}:`}${version}-${release}`,
        arch,
      }),
    );
    assert.equal(fromCli.length, 3);
    assert.deepEqual(commitPackageList(info), fromCli);
    assert.deepEqual(commitPackageList(info)?.[1], { name: 'zsh', version: '1:5.9-2', arch: 'x86_64' });
    const plain = readCommitObject(repo, readRefs(repo).types ?? '');
    assert.equal(plain.checksum, checksum);
  });

  test('a commit without a package list has none', () => {
    const other = join(work, 'repo-bare');
    const head = readRefs(other)['test/ref'] ?? '';
    assert.equal(commitPackageList(readCommitObject(other, head)), null);
  });

  test('corrupt bytes never escape as anything but unreadable', () => {
    const bytes = readFileSync(commitObjectPath(repo, small));
    const type = '(a{sv}aya(say)sstayay)';
    assert.ok(Array.isArray(parseGVariant(type, bytes)));
    const outcomes = { parsed: 0, rejected: 0 };
    const attempt = (candidate: Buffer): void => {
      try {
        parseGVariant(type, candidate);
        outcomes.parsed++;
      } catch (error) {
        assert.ok(error instanceof HindsightError, `non-Hindsight error: ${String(error)}`);
        assert.equal(error.code, 'unreadable');
        outcomes.rejected++;
      }
    };

    for (let cut = 0; cut < bytes.length; cut++) attempt(bytes.subarray(0, cut));
    const random = prng(1234);
    for (let round = 0; round < 3000; round++) {
      const mutated = Buffer.from(bytes);
      const flips = 1 + Math.floor(random() * 3);
      for (let f = 0; f < flips; f++) {
        // Bias towards the tail, where a flip moves framing offsets.
        const at =
          random() < 0.5
            ? mutated.length - 1 - Math.floor(random() * 64)
            : Math.floor(random() * mutated.length);
        mutated[at] = Math.floor(random() * 256);
      }
      attempt(mutated);
    }
    for (let round = 0; round < 300; round++) {
      const junk = Buffer.alloc(Math.floor(random() * 300));
      for (let i = 0; i < junk.length; i++) junk[i] = Math.floor(random() * 256);
      attempt(junk);
    }
    assert.ok(outcomes.rejected > 500, JSON.stringify(outcomes));
  });
});

describe('bad, missing and damaged objects', () => {
  const repo = join(work, 'repo-damage');
  const checksums: string[] = [];

  before(() => {
    ostree(repo, ['init', '--mode=archive']);
    const tree = makeTree('tree-damage', { 'usr/a': 'a' });
    for (const subject of ['one', 'two', 'three']) {
      checksums.push(
        ostree(repo, ['commit', '-b', 'damage/line', `--subject=${subject}`, `--tree=dir=${tree}`]).trim(),
      );
    }
  });

  test('a checksum that is not one is a bad selector', () => {
    for (const bad of ['abc', 'A'.repeat(64), `../../${'a'.repeat(58)}`, `${'a'.repeat(64)}\n`, '']) {
      expectCode(() => readCommitObject(repo, bad), 'bad-selector');
      expectCode(() => commitObjectPath(repo, bad), 'bad-selector');
    }
  });

  test('a missing object is no-such-commit', () => {
    const absent = 'f'.repeat(64);
    expectCode(() => readCommitObject(repo, absent), 'no-such-commit');
    expectCode(() => readCommitHistory(repo, absent), 'no-such-commit');
    expectCode(() => readCommitObject(join(work, 'no-repo-here'), absent), 'no-such-commit');
    assert.throws(() => readCommitObject(repo, absent), /no commit ffffffffff in the repository/);
  });

  test('a truncated object is unreadable', () => {
    const original = readFileSync(commitObjectPath(repo, checksums[2] ?? ''));
    const truncated = original.subarray(0, original.length - 5);
    const copy = join(work, 'repo-truncated');
    ostree(copy, ['init', '--mode=archive']);
    const path = commitObjectPath(copy, checksums[2] ?? '');
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, truncated);
    expectCode(() => readCommitObject(copy, checksums[2] ?? ''), 'unreadable');
    // Named by its own checksum, the same bytes get past the checksum and must fail in the parser.
    expectCode(() => readCommitObject(copy, plantObject(copy, truncated)), 'unreadable');
  });

  test('random bytes are unreadable', () => {
    const random = prng(99);
    for (const size of [0, 1, 7, 64, 333]) {
      const junk = Buffer.alloc(size);
      for (let i = 0; i < size; i++) junk[i] = Math.floor(random() * 256);
      expectCode(() => readCommitObject(repo, plantObject(repo, junk)), 'unreadable');
    }
  });

  test('history stops where the repository ends, as ostree log does', () => {
    const [oldest, middle, head] = checksums;
    unlinkSync(commitObjectPath(repo, oldest ?? ''));
    const history = readCommitHistory(repo, head ?? '');
    assert.deepEqual(
      history.map((c) => c.checksum),
      [head, middle],
    );
    assert.equal(history[1]?.parent, oldest);
    const log = ostree(repo, ['log', 'damage/line']);
    assert.match(log, /History beyond this commit not fetched/);
    assert.equal(log.match(/^commit /gm)?.length, 2);
  });
});

describe('the GVariant reader on the specification examples', () => {
  const hex = (text: string) => Buffer.from(text.replace(/\s/g, ''), 'hex');

  test('reads normal-form data', () => {
    assert.deepEqual(parseGVariant('(si)', hex('666f6f00 ffffffff 04')), ['foo', -1]);
    assert.deepEqual(parseGVariant('as', hex('6900 63616e00 68617300 737472696e67733f00 02060a13')), [
      'i',
      'can',
      'has',
      'strings?',
    ]);
    assert.deepEqual(parseGVariant('a{sv}', Buffer.alloc(0)), new Map());
    assert.deepEqual(parseGVariant('v', hex('01000000 00 69')), { type: 'i', value: 1 });
    assert.equal(parseGVariant('ms', hex('0000')), '');
    assert.equal(parseGVariant('ms', hex('6100 00')), 'a');
    assert.equal(parseGVariant('ms', Buffer.alloc(0)), null);
  });

  test('rejects data that is not in normal form', () => {
    const cases: [string, string][] = [
      ['b', '02'],
      ['s', '616263'],
      ['s', '610062 00'],
      ['s', ''],
      ['i', '010000'],
      ['ai', '0100000002'],
      ['(si)', '666f6f00 ffffffff 0a'],
      ['(ii)', '01000000'],
      ['as', '6900 63616e00 68617300 737472696e67733f00 020a0613'],
      ['as', '6900 ff'],
      ['v', '01000000'],
      ['v', '01000000 00 28'],
      ['mi', '010000'],
      ['ms', '61'],
      ['ms', '00'],
      ['s', 'c3 28 00'],
    ];
    for (const [type, bytes] of cases) {
      expectCode(() => parseGVariant(type, hex(bytes)), 'unreadable');
    }
  });

  test("variants nested past GLib's limit are refused, not a stack overflow", () => {
    const nest = (levels: number): Buffer => {
      let bytes = hex('01000000 00 69');
      for (let i = 0; i < levels; i++) bytes = Buffer.concat([bytes, hex('00 76')]);
      return bytes;
    };
    let value = parseGVariant('v', nest(100));
    for (let i = 0; i < 100; i++) value = (value as { value: typeof value }).value;
    assert.deepEqual(value, { type: 'i', value: 1 });
    expectCode(() => parseGVariant('v', nest(5000)), 'unreadable');
  });

  test('an invalid type argument is a programming error', () => {
    for (const type of ['', 'a', '(s', '{vs}', 'a{sv}x(', 'r', 'z']) {
      expectCode(() => parseGVariant(type, Buffer.alloc(0)), 'internal');
    }
  });
});
