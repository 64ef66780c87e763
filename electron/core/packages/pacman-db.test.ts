import assert from 'node:assert/strict';
import {
  chmodSync,
  chownSync,
  cpSync,
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
import { HindsightError } from '../../../shared/errors.ts';
import { findProgram, requireProgram, runChecked, runSync, runSyncChecked } from '../exec.ts';
import {
  builderIds,
  buildPacmanPackages,
  type PacmanSpec,
  pacmanEvr,
  pacmanFixtureUnavailable,
  pacmanInstall,
  pacmanLocalDb,
  pacmanQuery,
  pacmanRemove,
  runPacman,
} from '../fixtures/pacman-fixture.ts';
import { treePackageDiff } from './package-delta.ts';
import { readTreePackages } from './package-source.ts';
import { descValue, parsePacmanDesc, readPacmanLocalDb, splitPacmanEntryName } from './pacman-db.ts';

const DESC = `%NAME%
linux

%VERSION%
1:6.6.1.arch1-1

%BASE%
linux

%DESC%


%ARCH%
x86_64

%INSTALLDATE%
1700000000

%SIZE%
131072

%DEPENDS%
coreutils
kmod
initramfs

`;

function entry(db: string, folder: string, desc: string | null): void {
  mkdirSync(join(db, folder), { recursive: true });
  if (desc !== null) writeFileSync(join(db, folder, 'desc'), desc);
}

function descFor(name: string, version: string, arch = 'any'): string {
  return `%NAME%\n${name}\n\n%VERSION%\n${version}\n\n%ARCH%\n${arch}\n\n`;
}

describe('pacman local database, by hand', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'hindsight-pacman-db-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a desc file parses into sections, list sections keep every line', () => {
    const desc = parsePacmanDesc(DESC.replaceAll('\n', '\r\n'));
    assert.equal(descValue(desc, 'NAME'), 'linux');
    assert.equal(descValue(desc, 'VERSION'), '1:6.6.1.arch1-1');
    assert.equal(descValue(desc, 'ARCH'), 'x86_64');
    assert.equal(descValue(desc, 'INSTALLDATE'), '1700000000');
    assert.equal(descValue(desc, 'SIZE'), '131072');
    assert.equal(descValue(desc, 'DESC'), null, 'an empty value is no value');
    assert.deepEqual(desc.get('DEPENDS'), ['coreutils', 'kmod', 'initramfs']);
    assert.equal(descValue(desc, 'URL'), null);
  });

  test('folder names split as _alpm_splitname does', () => {
    assert.deepEqual(splitPacmanEntryName('linux-1:6.6.1.arch1-1'), {
      name: 'linux',
      version: '1:6.6.1.arch1-1',
    });
    assert.deepEqual(splitPacmanEntryName('lib32-gcc-libs-13.2.1-3'), {
      name: 'lib32-gcc-libs',
      version: '13.2.1-3',
    });
    assert.equal(splitPacmanEntryName('badname'), null);
    assert.equal(splitPacmanEntryName('only-1'), null);
    assert.equal(splitPacmanEntryName('-1-2'), null);
  });

  test('faults pacman survives are listed by folder name with a reason; what pacman skips is skipped', () => {
    const db = join(dir, 'faults', 'local');
    entry(db, 'linux-1:6.6.1.arch1-1', DESC);
    entry(db, 'nodesc-1.0-1', null);
    entry(db, 'garbled-2.0-1', '\u0000\u00ff%NAME\nnot a desc file at all');
    entry(db, 'mismatch-1.0-1', descFor('other', '9.9-9'));
    entry(db, 'fifo-1.0-1', null);
    runSyncChecked(requireProgram('mkfifo'), [join(db, 'fifo-1.0-1', 'desc')]);
    entry(db, 'dirdesc-1.0-1', null);
    mkdirSync(join(db, 'dirdesc-1.0-1', 'desc'));
    entry(db, 'linkdesc-1.0-1', null);
    symlinkSync('/etc/passwd', join(db, 'linkdesc-1.0-1', 'desc'));
    entry(db, 'dup-1.0-1', descFor('dup', '1.0-1'));
    entry(db, 'dup-1.0-2', descFor('dup', '1.0-2'));
    entry(db, 'badname', descFor('badname', '1'));
    symlinkSync(join(db, 'linux-1:6.6.1.arch1-1'), join(db, 'linked-1.0-1'));
    writeFileSync(join(db, 'ALPM_DB_VERSION'), '9\n');

    const read = readPacmanLocalDb(db);
    assert.deepEqual(read.packages, [
      { name: 'dirdesc', version: '1.0-1', arch: '' },
      { name: 'dup', version: '1.0-2', arch: 'any' },
      { name: 'fifo', version: '1.0-1', arch: '' },
      { name: 'garbled', version: '2.0-1', arch: '' },
      { name: 'linkdesc', version: '1.0-1', arch: '' },
      { name: 'linux', version: '1:6.6.1.arch1-1', arch: 'x86_64' },
      { name: 'mismatch', version: '1.0-1', arch: 'any' },
      { name: 'nodesc', version: '1.0-1', arch: '' },
    ]);
    const reasons = read.problems.join('\n');
    for (const expected of [
      /^badname: not a NAME-VERSION-RELEASE entry/m,
      /^dirdesc-1\.0-1: desc is not a file/m,
      /^dup-1\.0-1: a second entry for dup \(kept dup-1\.0-2\)/m,
      /^fifo-1\.0-1: desc is not a file/m,
      /^garbled-2\.0-1: desc has no %NAME% or %VERSION%/m,
      /^linkdesc-1\.0-1: desc is a symbolic link, not followed/m,
      /^mismatch-1\.0-1: desc names other 9\.9-9/m,
      /^nodesc-1\.0-1: no desc file/m,
      /^linked-1\.0-1: a symbolic link, not followed/m,
    ]) {
      assert.match(reasons, expected);
    }
    assert.equal(read.problems.length, 9, reasons);
  });

  test('no database is no-package-database; a root with one is detected as pacman', () => {
    assert.throws(
      () => readPacmanLocalDb(join(dir, 'nothing-here')),
      (e) => e instanceof HindsightError && e.code === 'no-package-database',
    );
    const root = join(dir, 'root');
    entry(join(root, 'var/lib/pacman/local'), 'bash-5.2.026-2', descFor('bash', '5.2.026-2', 'x86_64'));
    const list = readTreePackages(root);
    assert.equal(list?.format, 'pacman');
    assert.equal(list?.source, 'var/lib/pacman/local');
    assert.deepEqual(list?.packages, [{ name: 'bash', version: '5.2.026-2', arch: 'x86_64' }]);
    assert.equal(list?.problems, undefined);
    // An empty dpkg status beside it (dpkg from the AUR) does not hide pacman's database.
    mkdirSync(join(root, 'var/lib/dpkg'), { recursive: true });
    writeFileSync(join(root, 'var/lib/dpkg/status'), '');
    assert.equal(readTreePackages(root)?.format, 'pacman');
  });

  test('an unreadable desc is an error, not a missing package', async (t) => {
    const db = join(dir, 'locked', 'local');
    entry(db, 'secret-1.0-1', descFor('secret', '1.0-1'));
    chmodSync(join(db, 'secret-1.0-1', 'desc'), 0);
    const expected = {
      code: 'unreadable',
      message: `cannot read ${join(db, 'secret-1.0-1', 'desc')}: EACCES`,
    };
    if (process.getuid?.() !== 0) {
      assert.throws(() => readPacmanLocalDb(db), expected);
      return;
    }
    // Root reads every file whatever its mode: the reader runs as nobody instead.
    const ids = builderIds();
    const setpriv = findProgram('setpriv');
    if (!ids || !setpriv) {
      t.skip('running as root, and no setpriv or user nobody to read as someone else');
      return;
    }
    chmodSync(dir, 0o755);
    // tsx keeps a cache in the temporary folder: one of the test's own, which goes away with it.
    const scratch = join(dir, 'scratch');
    mkdirSync(scratch);
    chownSync(scratch, ids.uid, ids.gid);
    const script = `import(${JSON.stringify(new URL('./pacman-db.ts', import.meta.url).href)}).then((m) => {
      try { m.readPacmanLocalDb(${JSON.stringify(db)}); console.log('{}'); }
      catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }
    })`;
    const out = await runChecked(
      requireProgram('setpriv'),
      [
        '--reuid=nobody',
        '--regid=nogroup',
        '--clear-groups',
        '--',
        process.execPath,
        '--import',
        'tsx',
        '-e',
        script,
      ],
      { env: { PATH: '/usr/bin:/bin', HOME: scratch, TMPDIR: scratch } },
    );
    assert.deepEqual(JSON.parse(out.toString('utf8')), expected);
  });
});

/**
 * Real packages from makepkg, installed and changed by pacman. Versions are chosen so that each
 * change is one pacman's order settles differently from a naive one: 1.0rc1 → 1.0 is an upgrade,
 * and an epoch beats a higher version. Read backwards, the same two roots give the downgrades.
 * Every package costs makepkg some 300 greps (twice), so there are only six.
 */
const OLD: PacmanSpec[] = [
  { name: 'alpha', version: '1.0rc1', release: '1', files: { '/usr/share/alpha/readme': 'alpha\n' } },
  {
    name: 'beta',
    version: '1.0rc1',
    release: '1',
    arch: 'native',
    files: { '/etc/beta.conf': 'mode=old\n' },
  },
  { name: 'steady', version: '1.0', release: '1', files: { '/usr/share/steady/a': 'x'.repeat(1000) } },
];
const NEW: PacmanSpec[] = [
  { name: 'alpha', version: '1.0', release: '1', files: { '/usr/share/alpha/readme': 'alpha 1.0\n' } },
  {
    name: 'beta',
    version: '0.9',
    release: '1',
    epoch: 1,
    arch: 'native',
    files: { '/etc/beta.conf': 'mode=new\n' },
  },
  { name: 'epsilon', version: '1.0', release: '1' },
];

const UNAVAILABLE = pacmanFixtureUnavailable();

describe('pacman local database, from real packages', { skip: UNAVAILABLE ?? false }, () => {
  let work = '';
  let before1 = '';
  let after1 = '';
  let built = new Map<PacmanSpec, string>();
  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'hindsight-pacman-'));
    const specs = [...OLD, ...NEW];
    const files = await buildPacmanPackages(work, specs);
    built = new Map(specs.map((s, i) => [s, files[i] as string]));
    before1 = join(work, 'before');
    after1 = join(work, 'after');
    for (const root of [before1, after1]) {
      pacmanInstall(
        work,
        root,
        OLD.map((s) => built.get(s) as string),
      );
    }
    // The change a `pacman -Syu` would make, done by pacman itself.
    pacmanInstall(
      work,
      after1,
      NEW.map((s) => built.get(s) as string),
    );
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  test('the list of a root is what pacman -Qi lists (name, version, architecture)', () => {
    for (const root of [before1, after1]) {
      const list = readTreePackages(root);
      assert.equal(list?.format, 'pacman');
      assert.equal(list?.problems, undefined, list?.problems?.join('\n'));
      assert.deepEqual(list?.packages, pacmanQuery(work, root));
    }
    const names = readTreePackages(after1)?.packages.map((p) => `${p.name} ${p.version}`);
    assert.deepEqual(names, ['alpha 1.0-1', 'beta 1:0.9-1', 'epsilon 1.0-1', 'steady 1.0-1']);
    const beta = readTreePackages(after1)?.packages.find((p) => p.name === 'beta');
    assert.notEqual(beta?.arch, 'any', 'a native package carries the machine architecture');
  });

  test('desc details are pacman’s own: installed size in bytes, an install date', () => {
    const steady = OLD.find((s) => s.name === 'steady') as PacmanSpec;
    const desc = parsePacmanDesc(
      readFileSync(join(pacmanLocalDb(before1), `steady-${pacmanEvr(steady)}`, 'desc'), 'utf8'),
    );
    assert.equal(descValue(desc, 'SIZE'), '1000');
    const installed = Number(descValue(desc, 'INSTALLDATE'));
    assert.ok(Math.abs(installed - Date.now() / 1000) < 3600, `install date ${installed} is recent`);
  });

  test('the delta between the two roots follows pacman’s order, and vercmp agrees on each change', () => {
    const vercmp = findProgram('vercmp');
    assert.ok(vercmp, 'vercmp comes with makepkg');
    const forward = treePackageDiff(before1, after1);
    assert.equal(forward.format, 'pacman');
    assert.equal(forward.from.packages.length, 3);
    assert.equal(forward.to.packages.length, 4);
    const summary = (d: ReturnType<typeof treePackageDiff>) => ({
      added: d.added.map((p) => p.name),
      removed: d.removed.map((p) => p.name),
      upgraded: d.upgraded.map((c) => `${c.name} ${c.from} → ${c.to}`),
      downgraded: d.downgraded.map((c) => `${c.name} ${c.from} → ${c.to}`),
    });
    assert.deepEqual(summary(forward), {
      added: ['epsilon'],
      removed: [],
      upgraded: ['alpha 1.0rc1-1 → 1.0-1', 'beta 1.0rc1-1 → 1:0.9-1'],
      downgraded: [],
    });
    const backward = treePackageDiff(after1, before1);
    assert.deepEqual(summary(backward), {
      added: [],
      removed: ['epsilon'],
      upgraded: [],
      downgraded: ['alpha 1.0-1 → 1.0rc1-1', 'beta 1:0.9-1 → 1.0rc1-1'],
    });
    const trimmed = join(work, 'trimmed');
    cpSync(before1, trimmed, { recursive: true });
    pacmanRemove(work, trimmed, ['steady']);
    assert.deepEqual(summary(treePackageDiff(before1, trimmed)), {
      added: [],
      removed: ['steady'],
      upgraded: [],
      downgraded: [],
    });
    for (const change of [...forward.upgraded, ...backward.downgraded]) {
      const answer = runSync(vercmp, [change.from, change.to]).stdout.toString().trim();
      assert.equal(
        answer,
        forward.upgraded.includes(change) ? '-1' : '1',
        `vercmp ${change.from} ${change.to}`,
      );
    }
  });

  test('a garbled or missing desc still lists the package, as pacman -Q does', () => {
    const root = join(work, 'damaged');
    cpSync(before1, root, { recursive: true });
    const db = pacmanLocalDb(root);
    writeFileSync(join(db, 'alpha-1.0rc1-1', 'desc'), '\u0000garbage\n');
    rmSync(join(db, 'steady-1.0-1', 'desc'));
    const list = readTreePackages(root);
    const query = runPacman(work, root, ['-Q']).toString('utf8').trim().split('\n');
    assert.deepEqual(
      list?.packages.map((p) => `${p.name} ${p.version}`),
      query,
    );
    assert.equal(list?.packages.find((p) => p.name === 'alpha')?.arch, '');
    assert.deepEqual(
      list?.problems?.map((p) => p.split(':')[0]),
      ['alpha-1.0rc1-1', 'steady-1.0-1'],
    );
  });
});
