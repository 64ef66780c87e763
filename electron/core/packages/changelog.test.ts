import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { requireProgram, runSyncChecked } from '../exec.ts';
import { installRpmDatabase } from '../fixtures/rpm-fixture.ts';
import {
  changelogBetween,
  cveIds,
  deltaChangelogs,
  MAX_ENTRIES,
  parseDebianChangelog,
  resolveInTree,
  rpmChangelogVersion,
} from './changelog.ts';
import { treePackageDiff } from './package-delta.ts';

const UTC = { ...process.env, LC_ALL: 'C', TZ: 'UTC' };

// ---------------------------------------------------------------------------------------------
// rpm: real packages from rpmbuild, real databases from rpm --root

interface LogEntry {
  day: string;
  who: string;
  lines: string[];
}

function specText(name: string, version: string, release: string, epoch: number | null, log: LogEntry[]) {
  const lines = [
    `Name: ${name}`,
    `Version: ${version}`,
    `Release: ${release}`,
    ...(epoch === null ? [] : [`Epoch: ${epoch}`]),
    'Summary: changelog fixture',
    'License: MIT',
    'BuildArch: noarch',
    '%description',
    'changelog fixture',
    '%files',
  ];
  if (log.length > 0) {
    lines.push('%changelog');
    for (const e of log) lines.push(`* ${e.day} ${e.who}`, ...e.lines, '');
  }
  return lines.join('\n');
}

function rpmbuild(top: string, spec: string): string {
  const file = join(top, `${Math.random().toString(36).slice(2)}.spec`);
  writeFileSync(file, spec);
  runSyncChecked(
    requireProgram('rpmbuild'),
    [
      '-bb',
      '--quiet',
      '--define',
      `_topdir ${top}`,
      '--define',
      `_dbpath ${top}/db`,
      '--define',
      '_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.rpm',
      '--define',
      '_binary_payload w.ufdio',
      file,
    ],
    { env: UTC },
  );
  const [, name, version, release] = /Name: (.*)\nVersion: (.*)\nRelease: (.*)\n/.exec(spec) ?? [];
  return join(top, 'RPMS', `${name}-${version}-${release}.rpm`);
}

/** `rpm -q --changelog` entries: `* DAY WHO` then the text up to a blank line. */
function rpmChangelog(tree: string, name: string): { day: string; who: string; text: string }[] {
  const out = runSyncChecked(
    requireProgram('rpm'),
    ['--root', tree, '--dbpath', '/usr/lib/sysimage/rpm', '-q', '--changelog', name],
    { env: UTC },
  ).toString('utf8');
  const entries: { day: string; who: string; text: string }[] = [];
  for (const block of out.split(/\n\n(?=\* )/)) {
    const [head = '', ...body] = block.replace(/\n+$/, '').split('\n');
    const m = /^\* (\w{3} \w{3} \d{2} \d{4}) (.*)$/.exec(head);
    if (m) entries.push({ day: m[1] as string, who: m[2] as string, text: body.join('\n') });
  }
  return entries;
}

function rpmVercmp(a: string, b: string): number {
  const out = runSyncChecked(requireProgram('rpm'), ['--eval', `%{lua:print(rpm.vercmp("${a}", "${b}"))}`]);
  return Number(out.toString().trim());
}

function dayOf(iso: string | null): string {
  const d = new Date(iso ?? 0);
  const wd = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][d.getUTCDay()];
  const mo = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][
    d.getUTCMonth()
  ];
  return `${wd} ${mo} ${String(d.getUTCDate()).padStart(2, '0')} ${d.getUTCFullYear()}`;
}

/**
 * What a person gets from rpm itself: the new package's changelog, entries newer than `from` by
 * rpm.vercmp (a missing epoch read as the installed one's), an entry without a version kept when it
 * is dated after the newest entry at or below `from`.
 */
function expectedRpm(tree: string, name: string, from: string) {
  const all = rpmChangelog(tree, name);
  const epoch = /^(\d+):/.exec(from)?.[1];
  const versionOf = (who: string) => rpmChangelogVersion(who).version;
  const boundary = all.findIndex((e) => {
    const v = versionOf(e.who);
    if (v === null) return false;
    return rpmVercmp(v.includes(':') || !epoch ? v : `${epoch}:${v}`, from) <= 0;
  });
  const head = boundary < 0 ? all : all.slice(0, boundary);
  const boundaryDay = boundary < 0 ? null : Date.parse(`${all[boundary]?.day} UTC`);
  return head.filter(
    (e) => versionOf(e.who) !== null || boundaryDay === null || Date.parse(`${e.day} UTC`) > boundaryDay,
  );
}

const TOOL_LOG: LogEntry[] = [
  {
    day: 'Fri Mar 01 2024',
    who: 'Alice Packager <alice@example.org> - 3.0-1',
    lines: ['- Update to 3.0', '- Fix CVE-2024-3333 and cve-2024-3334', '- Mention CVE-2024-2222 again'],
  },
  {
    day: 'Tue Feb 20 2024',
    who: 'Release Bot <bot@example.org>',
    lines: ['- Rebuilt for the new toolchain'],
  },
  {
    day: 'Thu Feb 01 2024',
    who: 'Bob <bob@example.org> - 2.0-1',
    lines: ['- Update to 2.0', '- Fix CVE-2024-2222 (heap overflow)'],
  },
  { day: 'Mon Jan 15 2024', who: 'Release Bot <bot@example.org>', lines: ['- Rebuilt, nothing else'] },
  {
    day: 'Mon Jan 01 2024',
    who: 'Alice Packager <alice@example.org> - 1.0-1',
    lines: ['- First CVE-2023-1111'],
  },
];
/** Entries by `Name <mail> EVR` (no dash) and EVRs without the dist tag the release carries. */
const LIB_LOG: LogEntry[] = [
  { day: 'Sat Jun 01 2024', who: 'Carol <carol@example.org> 2.0-1', lines: ['- CVE-2024-5555'] },
  { day: 'Wed May 01 2024', who: 'Carol <carol@example.org> 1.1-1', lines: ['- CVE-2024-4444'] },
  { day: 'Mon Apr 01 2024', who: 'Carol <carol@example.org> 1.0-1', lines: ['- initial'] },
];

describe('rpm changelogs, against rpm -q --changelog', () => {
  let dir = '';
  let treeA = '';
  let treeB = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'hindsight-changelog-rpm-'));
    const top = join(dir, 'build');
    mkdirSync(top);
    const tool = (v: string, upTo: number) =>
      rpmbuild(top, specText('cvetool', v, '1', 1, TOOL_LOG.slice(upTo)));
    const lib = (v: string, upTo: number) =>
      rpmbuild(top, specText('cvelib', v, '1.fc40', null, LIB_LOG.slice(upTo)));
    const nolog = (v: string) => rpmbuild(top, specText('nolog', v, '1', null, []));
    treeA = join(dir, 'a');
    treeB = join(dir, 'b');
    installRpmDatabase(treeA, [tool('2.0', 2), lib('1.0', 2), nolog('1.0')]);
    installRpmDatabase(treeB, [tool('3.0', 0), lib('2.0', 0), nolog('2.0')]);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('upgrades: the entries newer than the old version, as rpm prints them', () => {
    const delta = treePackageDiff(treeA, treeB);
    assert.equal(delta.upgraded.length, 3);
    for (const change of delta.upgraded) {
      const mine = changelogBetween(treeB, 'rpm', change);
      if (change.name === 'nolog') {
        assert.equal(mine, null);
        continue;
      }
      assert.ok(mine);
      const theirs = expectedRpm(treeB, change.name, change.from);
      // rpm prints the stored name: the author, then the version when the entry has one.
      assert.deepEqual(
        mine.entries.map((e) => ({ day: dayOf(e.date), author: e.author, version: e.version, text: e.text })),
        theirs.map((e) => ({ day: e.day, ...rpmChangelogVersion(e.who), text: e.text })),
        change.name,
      );
    }
    const tool = changelogBetween(treeB, 'rpm', delta.upgraded.find((c) => c.name === 'cvetool') as never);
    assert.deepEqual(
      tool?.entries.map((e) => e.version),
      ['3.0-1', null],
    );
    assert.deepEqual(tool?.cves, ['CVE-2024-3333', 'CVE-2024-3334', 'CVE-2024-2222']);
    const lib = changelogBetween(treeB, 'rpm', delta.upgraded.find((c) => c.name === 'cvelib') as never);
    assert.deepEqual(
      lib?.entries.map((e) => e.version),
      ['2.0-1', '1.1-1'],
    );
  });

  test('a delta: CVEs counted once overall; a downgrade reads what it loses from the older tree', () => {
    const forward = deltaChangelogs(treeA, treeB, treePackageDiff(treeA, treeB));
    assert.deepEqual(forward.problems, []);
    assert.deepEqual(
      forward.cvesFixed.sort(),
      ['CVE-2024-2222', 'CVE-2024-3333', 'CVE-2024-3334', 'CVE-2024-4444', 'CVE-2024-5555'].sort(),
    );
    const back = deltaChangelogs(treeB, treeA, treePackageDiff(treeB, treeA));
    assert.equal(back.cvesFixed.length, 0);
    assert.deepEqual(back.cvesLost.sort(), forward.cvesFixed.sort());
    const tool = back.packages.find((p) => p.name === 'cvetool');
    assert.equal(tool?.direction, 'downgrade');
    assert.deepEqual(
      tool?.changelog?.entries.map((e) => e.version),
      ['3.0-1', null],
    );
  });

  test('a package absent from the tree, or a tree without a database, has no changelog', () => {
    assert.equal(
      changelogBetween(treeB, 'rpm', { name: 'absent', arch: 'noarch', from: '1-1', to: '2-1' }),
      null,
    );
    assert.equal(
      changelogBetween(dir, 'rpm', { name: 'cvetool', arch: 'noarch', from: '1-1', to: '2-1' }),
      null,
    );
  });
});

test('rpm changelog names: the version at the end, in the forms packagers write', () => {
  assert.deepEqual(rpmChangelogVersion('A B <a@b> - 1.2-3'), { author: 'A B <a@b>', version: '1.2-3' });
  assert.deepEqual(rpmChangelogVersion('A B <a@b> 1:1.2-3'), { author: 'A B <a@b>', version: '1:1.2-3' });
  assert.deepEqual(rpmChangelogVersion('A B <a@b> - [1.2-3]'), { author: 'A B <a@b>', version: '1.2-3' });
  assert.deepEqual(rpmChangelogVersion('A B <a@b>'), { author: 'A B <a@b>', version: null });
  assert.deepEqual(rpmChangelogVersion('A B <a@b> - rebuilt'), {
    author: 'A B <a@b> - rebuilt',
    version: null,
  });
  assert.deepEqual(rpmChangelogVersion('Release Engineering 2'), {
    author: 'Release Engineering 2',
    version: null,
  });
  assert.deepEqual(rpmChangelogVersion('Someone - 4.1-2'), { author: 'Someone', version: '4.1-2' });
});

// ---------------------------------------------------------------------------------------------
// dpkg: real gzip files, against dpkg-parsechangelog

function debEntry(source: string, version: string, lines: string[], date: string, dist = 'unstable') {
  return [
    `${source} (${version}) ${dist}; urgency=medium`,
    '',
    ...lines,
    '',
    ` -- Dee Maintainer <dee@example.org>  ${date}`,
    '',
  ].join('\n');
}

const FOO_CHANGELOG = [
  debEntry(
    'foo',
    '2.0-1',
    [
      '  * New upstream release.',
      '    - Fixes CVE-2024-9001: a long',
      '      description.',
      '',
      '  * Second paragraph. Closes: #1000',
    ],
    'Sat, 01 Jun 2024 10:00:00 +0200',
  ),
  debEntry(
    'foo',
    '1.2-1+deb12u1',
    ['  * Security: CVE-2024-9000, CVE-2024-9001.'],
    'Wed, 01 May 2024 12:00:00 +0000',
    'bookworm-security',
  ),
  debEntry('foo', '0.9-1', ['  * An old entry.'], 'Mon, 01 Jan 2024 09:30:00 -0500'),
].join('\n');

/** dpkg-parsechangelog's entries (rfc822) from `--since from --to to`. */
function dpkgParse(file: string, from: string, to: string) {
  const out = runSyncChecked(
    requireProgram('dpkg-parsechangelog'),
    ['-l', file, '--since', from, '--to', to, '--format', 'rfc822'],
    { env: UTC },
  ).toString('utf8');
  return out
    .split(/\n\n(?=Source:)/)
    .filter((p) => p.trim() !== '')
    .map((para) => {
      const field = (name: string) => new RegExp(`^${name}: (.*)$`, 'm').exec(para)?.[1] ?? null;
      const changes = para.split(/^Changes:\n/m)[1] ?? '';
      const lines = changes.replace(/\n+$/, '').split('\n').slice(2); // the header and its " ."
      return {
        version: field('Version'),
        author: field('Maintainer'),
        date: new Date(Number(field('Timestamp')) * 1000).toISOString(),
        text: lines.map((l) => (l === ' .' ? '' : l.slice(1))).join('\n'),
      };
    });
}

describe('dpkg changelogs, against dpkg-parsechangelog', () => {
  let tree = '';
  before(() => {
    tree = mkdtempSync(join(tmpdir(), 'hindsight-changelog-dpkg-'));
    const doc = join(tree, 'usr/share/doc');
    mkdirSync(join(doc, 'foo'), { recursive: true });
    writeFileSync(join(doc, 'foo/changelog.Debian.gz'), gzipSync(FOO_CHANGELOG));
    // dpkg's doc link: a package of the same source points at the other's folder.
    symlinkSync('foo', join(doc, 'foo-data'));
    // An absolute link is the tree's own path, not the host's.
    symlinkSync('/usr/share/doc/foo', join(doc, 'foo-abs'));
    mkdirSync(join(doc, 'native'));
    writeFileSync(
      join(doc, 'native/changelog.gz'),
      gzipSync(
        debEntry('native', '3', ['  * three'], 'Sat, 01 Jun 2024 10:00:00 +0000') +
          '\n' +
          debEntry('native', '2', ['  * two'], 'Fri, 31 May 2024 10:00:00 +0000'),
      ),
    );
    mkdirSync(join(doc, 'upstream'));
    writeFileSync(
      join(doc, 'upstream/changelog.gz'),
      gzipSync('2024-06-01  Someone\n\n\t* src/x.c: fixed CVE-2024-1\n'),
    );
    mkdirSync(join(doc, 'bomb'));
    writeFileSync(join(doc, 'bomb/changelog.Debian.gz'), gzipSync(Buffer.alloc(200 * 1024 * 1024)));
  });
  after(() => rmSync(tree, { recursive: true, force: true }));

  const cases = [
    { name: 'foo', from: '0.9-1', to: '2.0-1' },
    { name: 'foo', from: '1.2-1+deb12u1', to: '2.0-1' },
    { name: 'foo', from: '1.2-1', to: '2.0-1' }, // not in the changelog: the newest entry below it
    { name: 'foo', from: '0.9-1', to: '1.2-1+deb12u1' },
  ];
  for (const c of cases) {
    test(`foo ${c.from} → ${c.to} reads as dpkg-parsechangelog --since/--to`, () => {
      const file = join(tree, 'plain.changelog');
      writeFileSync(file, gunzipSync(readFileSync(join(tree, 'usr/share/doc/foo/changelog.Debian.gz'))));
      const theirs = dpkgParse(file, c.from, c.to);
      for (const name of ['foo', 'foo-data', 'foo-abs']) {
        const mine = changelogBetween(tree, 'dpkg', { name, arch: 'amd64', from: c.from, to: c.to });
        assert.ok(mine, name);
        assert.deepEqual(
          mine.entries.map((e) => ({ ...e, text: e.text })),
          theirs,
        );
      }
    });
  }

  test('CVE ids are collected once per package; a native package uses changelog.gz', () => {
    const foo = changelogBetween(tree, 'dpkg', { name: 'foo', arch: 'all', from: '0.9-1', to: '2.0-1' });
    assert.deepEqual(foo?.cves, ['CVE-2024-9001', 'CVE-2024-9000']);
    const native = changelogBetween(tree, 'dpkg', { name: 'native', arch: 'all', from: '2', to: '3' });
    assert.deepEqual(
      native?.entries.map((e) => e.version),
      ['3'],
    );
    assert.equal(native?.source, 'usr/share/doc/native/changelog.gz');
  });

  test('no changelog, an upstream changelog, a gzip bomb: null, quickly', () => {
    const t0 = performance.now();
    for (const name of ['absent', 'upstream', 'bomb', '../../etc']) {
      assert.equal(changelogBetween(tree, 'dpkg', { name, arch: 'all', from: '1', to: '2' }), null, name);
    }
    assert.ok(performance.now() - t0 < 2000);
  });

  test('a huge changelog is read in part and capped', () => {
    const entries: string[] = [];
    // Random padding, so the file stays large once compressed: more than the reader takes at most.
    for (let i = 5000; i >= 1; i--) {
      const lines = [
        `  * change ${i} for CVE-2020-${10000 + i}`,
        `  * ${randomBytes(240).toString('base64')}`,
      ];
      entries.push(debEntry('huge', `${i}.0-1`, lines, 'Sat, 01 Jun 2024 10:00:00 +0000'));
    }
    mkdirSync(join(tree, 'usr/share/doc/huge'), { recursive: true });
    const gz = gzipSync(entries.join('\n'));
    assert.ok(gz.length > 1024 * 1024, `${gz.length} bytes`);
    writeFileSync(join(tree, 'usr/share/doc/huge/changelog.Debian.gz'), gz);
    const top = changelogBetween(tree, 'dpkg', {
      name: 'huge',
      arch: 'all',
      from: '4990.0-1',
      to: '5000.0-1',
    });
    assert.equal(top?.entries.length, 10);
    assert.equal(top?.truncated, undefined);
    const deep = changelogBetween(tree, 'dpkg', { name: 'huge', arch: 'all', from: '1.0-1', to: '5000.0-1' });
    assert.equal(deep?.entries.length, MAX_ENTRIES);
    assert.equal(deep?.truncated, true);
  });

  test('links resolve inside the tree only', () => {
    mkdirSync(join(tree, 'etc'));
    writeFileSync(join(tree, 'etc/passwd'), 'tree\n');
    symlinkSync('../../../../../../../../etc', join(tree, 'usr/share/doc/escape'));
    assert.equal(resolveInTree(tree, 'usr/share/doc/escape/passwd'), join(tree, 'etc/passwd'));
    assert.equal(
      resolveInTree(tree, 'usr/share/doc/foo-abs/changelog.Debian.gz'),
      join(tree, 'usr/share/doc/foo/changelog.Debian.gz'),
    );
  });
});

test('parsing keeps what dpkg keeps: blank lines inside the changes, not around them', () => {
  const [entry] = parseDebianChangelog(FOO_CHANGELOG);
  assert.equal(entry?.version, '2.0-1');
  assert.equal(entry?.urgency, 'medium');
  assert.equal(entry?.date, '2024-06-01T08:00:00.000Z');
  assert.equal(entry?.text.split('\n').length, 5);
  assert.deepEqual(cveIds('cve-2024-1 CVE-2024-12345 CVE-2024-12345 xCVE-2024-99999'), ['CVE-2024-12345']);
});

// ---------------------------------------------------------------------------------------------
// Real Debian changelogs (opt-in: the debootstrapped trees of fixtures/debian-trees.ts)

const DEBIAN = join(import.meta.dirname, '../../../bench/fixtures/debian/bookworm-minbase-r2');

describe('real Debian 12 changelogs', {
  skip:
    process.env.HINDSIGHT_DEBIAN !== '1' || !existsSync(join(DEBIAN, 'manifest.json'))
      ? 'opt-in: HINDSIGHT_DEBIAN=1 with the cached Debian trees'
      : false,
}, () => {
  test('every upgrade and downgrade between tree A and B reads as dpkg-parsechangelog reads it', () => {
    const a = join(DEBIAN, 'a');
    const b = join(DEBIAN, 'b');
    const delta = treePackageDiff(a, b);
    const t0 = performance.now();
    const result = deltaChangelogs(a, b, delta);
    const ms = performance.now() - t0;
    assert.deepEqual(result.problems, []);
    let compared = 0;
    const work = mkdtempSync(join(tmpdir(), 'hindsight-changelog-deb-'));
    try {
      for (const p of result.packages) {
        if (!p.changelog) continue;
        const tree = p.direction === 'upgrade' ? b : a;
        const [from, to] = p.direction === 'upgrade' ? [p.from, p.to] : [p.to, p.from];
        const real = resolveInTree(tree, p.changelog.source) as string;
        const file = join(work, p.name);
        writeFileSync(file, gunzipSync(readFileSync(real)));
        assert.deepEqual(p.changelog.entries, dpkgParse(file, from, to), p.name);
        compared++;
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    assert.ok(compared >= 5, `${compared} compared`);
    console.log(
      `debian: ${result.packages.length} changes, ${compared} compared, fixes ${result.cvesFixed.length} CVEs, ${ms.toFixed(1)} ms`,
    );
  });
});
