import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { HindsightError } from '../../../shared/errors.ts';
import { requireProgram, runSyncChecked } from '../exec.ts';
import { buildRpms, DEFAULT_RPMDB_DIR, installRpmDatabase, type RpmSpec } from '../fixtures/rpm-fixture.ts';
import {
  parseDpkgConffiles,
  readConfigFiles,
  readPacmanBackupFiles,
  rpmHeaderConfigFiles,
} from './config-files.ts';

const base = mkdtempSync(join(tmpdir(), 'hindsight-conffiles-'));
after(() => rmSync(base, { recursive: true, force: true }));

const ENV = { ...process.env, LC_ALL: 'C' };

describe('config files of a real rpm database', () => {
  const root = join(base, 'rpm');
  const specs: RpmSpec[] = [
    {
      name: 'alpha',
      version: '1',
      release: '1',
      files: {
        '/etc/alpha.conf': 'a\n',
        '/etc/alpha.d/one.conf': 'one\n',
        '/etc/alpha plain.conf': 'a plain config\n',
        '/usr/share/alpha/README': 'not config\n',
      },
      config: ['/etc/alpha.conf', '/etc/alpha.d/one.conf'],
    },
    {
      name: 'bravo',
      version: '2',
      release: '1',
      epoch: 1,
      files: { '/var/lib/bravo/state.conf': 'b\n' },
      config: ['/var/lib/bravo/state.conf'],
    },
    { name: 'charlie', version: '1', release: '1', files: { '/usr/bin/charlie-fx': 'x\n' } },
  ];

  before(() => {
    installRpmDatabase(root, buildRpms(specs, join(base, 'rpm-work')), DEFAULT_RPMDB_DIR);
  });

  it('lists what rpm -qa lists as %config, with the same digest, algorithm, mode, user and group', () => {
    const text = runSyncChecked(
      requireProgram('rpm'),
      [
        '--root',
        root,
        '--dbpath',
        `/${DEFAULT_RPMDB_DIR}`,
        '-qa',
        '--qf',
        '[%{FILEFLAGS}\\t%{=NAME}\\t%{FILENAMES}\\t%{=FILEDIGESTALGO}\\t%{FILEDIGESTS}\\t%{FILEMODES}\\t%{FILEUSERNAME}\\t%{FILEGROUPNAME}\\n]',
      ],
      { env: ENV },
    ).toString('utf8');
    const algo: Record<string, string> = { '1': 'md5', '8': 'sha256' };
    const theirs = text
      .split('\n')
      .filter((l) => l !== '' && Number(l.split('\t')[0]) & 1)
      .map((l) => {
        const [flags, name, path, a, digest, mode, user, group] = l.split('\t');
        return [
          path,
          name,
          algo[a as string],
          digest,
          Number(mode) & 0o7777,
          user,
          group,
          (Number(flags) & 16) !== 0,
        ];
      })
      .sort();
    const list = readConfigFiles(root);
    assert.ok(list);
    assert.equal(list.format, 'rpm');
    const mine = list.files.map((f) => [
      f.path,
      f.package,
      f.digest?.algo,
      f.digest?.hex,
      f.mode,
      f.user,
      f.group,
      f.noreplace === true,
    ]);
    assert.equal(theirs.length, 3, text);
    assert.deepEqual(mine, theirs);
    assert.deepEqual(
      list.files.map((f) => f.path),
      ['/etc/alpha.conf', '/etc/alpha.d/one.conf', '/var/lib/bravo/state.conf'],
    );
    // --justdb: rpm records every file as installed all the same.
    assert.ok(list.files.every((f) => f.state === 'normal' && !f.ghost));
  });

  it('random damage to a real header never escapes as anything but unreadable', () => {
    const db = new Database(join(root, DEFAULT_RPMDB_DIR, 'rpmdb.sqlite'), { readonly: true });
    const blobs = (db.prepare('SELECT blob FROM Packages').all() as { blob: Buffer }[]).map((r) => r.blob);
    db.close();
    let seed = 7;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    let survived = 0;
    for (let round = 0; round < 3000; round++) {
      const blob = Buffer.from(blobs[round % blobs.length] as Buffer);
      for (let k = 0; k <= random(4); k++) blob[random(blob.length)] = random(256);
      try {
        rpmHeaderConfigFiles(blob, 'damaged');
        survived++;
      } catch (error) {
        assert.ok(error instanceof HindsightError && error.code === 'unreadable', String(error));
      }
    }
    assert.ok(survived > 0);
  });

  it('is null for a root without any package database', () => {
    const empty = join(base, 'empty');
    mkdirSync(empty, { recursive: true });
    assert.equal(readConfigFiles(empty), null);
  });
});

describe("dpkg's Conffiles field", () => {
  const md5a = '0123456789abcdef0123456789abcdef';
  const md5b = 'fedcba9876543210fedcba9876543210';

  it('reads every installed and config-files package, with flags, names with spaces, and newconffile', () => {
    const status = [
      'Package: one',
      'Status: install ok installed',
      'Conffiles:',
      ` /etc/one.conf ${md5a}`,
      ` /etc/with space.conf ${md5b} obsolete`,
      ` /etc/old.conf ${md5a} remove-on-upgrade`,
      ' /etc/fresh.conf newconffile',
      'Description: x',
      ' continuation that is not a conffile',
      '',
      'Package: removed',
      'Status: deinstall ok config-files',
      'Conffiles:',
      ` /etc/removed.conf ${md5a}`,
      '',
      'Package: gone',
      'Status: purge ok not-installed',
      'Conffiles:',
      ` /etc/gone.conf ${md5a}`,
      '',
    ].join('\n');
    const { files, problems } = parseDpkgConffiles(status);
    assert.deepEqual(problems, []);
    assert.deepEqual(
      files.map((f) => [
        f.path,
        f.package,
        f.digest?.hex ?? null,
        !!f.obsolete,
        !!f.removeOnUpgrade,
        !!f.configOnly,
      ]),
      [
        ['/etc/one.conf', 'one', md5a, false, false, false],
        ['/etc/with space.conf', 'one', md5b, true, false, false],
        ['/etc/old.conf', 'one', md5a, false, true, false],
        ['/etc/fresh.conf', 'one', null, false, false, false],
        ['/etc/removed.conf', 'removed', md5a, false, false, true],
      ],
    );
    assert.deepEqual(
      files.filter((f) => f.newConffile).map((f) => f.path),
      ['/etc/fresh.conf'],
    );
  });

  it('matches dpkg-query on a root dpkg installed into', () => {
    const root = join(base, 'dpkg');
    const tree = join(base, 'deb-tree');
    mkdirSync(join(tree, 'DEBIAN'), { recursive: true });
    mkdirSync(join(tree, 'etc/x'), { recursive: true });
    writeFileSync(
      join(tree, 'DEBIAN/control'),
      'Package: xray\nVersion: 1\nArchitecture: all\nMaintainer: H <h@example.invalid>\nDescription: test\n',
    );
    writeFileSync(join(tree, 'DEBIAN/conffiles'), '/etc/x/a.conf\n/etc/x/b c.conf\n');
    writeFileSync(join(tree, 'etc/x/a.conf'), 'a\n');
    writeFileSync(join(tree, 'etc/x/b c.conf'), 'b\n');
    runSyncChecked(requireProgram('dpkg-deb'), [
      '--root-owner-group',
      '-Znone',
      '--build',
      tree,
      `${tree}.deb`,
    ]);
    for (const d of ['info', 'updates', 'triggers'])
      mkdirSync(join(root, 'var/lib/dpkg', d), { recursive: true });
    writeFileSync(join(root, 'var/lib/dpkg/status'), '');
    runSyncChecked(
      requireProgram('dpkg'),
      [
        `--root=${root}`,
        '--force-not-root',
        '--force-script-chrootless',
        '--log=/dev/null',
        '-i',
        `${tree}.deb`,
      ],
      { env: ENV },
    );
    const theirs = runSyncChecked(
      requireProgram('dpkg-query'),
      // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax
      [`--admindir=${join(root, 'var/lib/dpkg')}`, '-W', '-f', '${Conffiles}\n', 'xray'],
    )
      .toString('utf8')
      .split('\n')
      .filter((l) => l.startsWith(' /'))
      .map((l) => {
        const words = l.trim().split(' ');
        const hash = words.pop();
        return [words.join(' '), hash];
      })
      .sort();
    const list = readConfigFiles(root);
    assert.ok(list);
    assert.equal(list.format, 'dpkg');
    assert.equal(theirs.length, 2);
    assert.deepEqual(
      list.files.map((f) => [f.path, f.digest?.hex]),
      theirs,
    );
  });
});

describe("pacman's %BACKUP%", () => {
  it('reads each package backup file with its md5, and says which packages have no files list', () => {
    const db = join(base, 'pacman/var/lib/pacman/local');
    mkdirSync(join(db, 'one-1.0-1'), { recursive: true });
    mkdirSync(join(db, 'two-2-1'), { recursive: true });
    writeFileSync(join(db, 'one-1.0-1/desc'), '%NAME%\none\n\n%VERSION%\n1.0-1\n\n');
    writeFileSync(
      join(db, 'one-1.0-1/files'),
      '%FILES%\netc/\netc/one.conf\n\n%BACKUP%\netc/one.conf\t0123456789abcdef0123456789abcdef\netc/odd.conf\t\n\n',
    );
    const { files, problems } = readPacmanBackupFiles(db);
    assert.deepEqual(
      files.map((f) => [f.path, f.package, f.digest?.hex ?? null]),
      [
        ['/etc/one.conf', 'one', '0123456789abcdef0123456789abcdef'],
        ['/etc/odd.conf', 'one', null],
      ],
    );
    assert.deepEqual(problems, [
      'one: backup file /etc/odd.conf has no md5 recorded',
      'two-2-1: no files list (its backup files are unknown)',
    ]);
  });

  it('an unreadable database folder is an error, not an empty list', () => {
    assert.throws(
      () => readPacmanBackupFiles(join(base, 'no-such-db')),
      (e: unknown) => e instanceof HindsightError && e.code === 'unreadable',
    );
  });
});
