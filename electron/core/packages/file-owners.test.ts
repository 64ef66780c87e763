import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { requireProgram, runSync } from '../exec.ts';
import { buildRpms, installRpmDatabase } from '../fixtures/rpm-fixture.ts';
import { fileOwners } from './file-owners.ts';

/** What the package manager itself answers for a path: the owner names, or [] for "not owned". */
function rpmQf(tree: string, path: string): string[] {
  const r = runSync(requireProgram('rpm'), [
    '--root',
    tree,
    '--dbpath',
    '/usr/lib/sysimage/rpm',
    '-qf',
    '--qf',
    '%{NAME}\\n',
    path,
  ]);
  return r.code === 0 ? r.stdout.toString().trim().split('\n').sort() : [];
}

function dpkgS(admindir: string, path: string): string[] {
  const r = runSync(requireProgram('dpkg'), [`--admindir=${admindir}`, '-S', path]);
  if (r.code !== 0) return [];
  const line = r.stdout
    .toString()
    .split('\n')
    .find((l) => l.endsWith(`: ${path}`) && !l.startsWith('diversion '));
  if (!line) return [];
  return line
    .slice(0, -`: ${path}`.length)
    .split(', ')
    .map((n) => n.split(':')[0] as string)
    .sort();
}

describe('rpm file owners, against rpm -qf', () => {
  let dir = '';
  let tree = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'hindsight-owners-rpm-'));
    const rpms = buildRpms(
      [
        {
          name: 'alpha',
          version: '1',
          release: '1',
          files: { '/usr/bin/alpha': 'a', '/etc/alpha.conf': 'c' },
        },
        { name: 'beta', version: '2', release: '1', files: { '/usr/share/beta/data file': 'b' } },
        { name: 'gamma', version: '3', release: '1', files: { '/usr/share/beta/gamma': 'g' } },
      ],
      join(dir, 'work'),
    );
    tree = join(dir, 'tree');
    installRpmDatabase(tree, rpms);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('each path has the owner rpm names', () => {
    const owners = fileOwners(tree, 'rpm');
    assert.ok(owners);
    assert.equal(owners.source, 'usr/lib/sysimage/rpm/rpmdb.sqlite');
    const paths = [
      '/usr/bin/alpha',
      '/etc/alpha.conf',
      '/usr/share/beta/data file',
      '/usr/share/beta/gamma',
      '/usr/bin/none',
    ];
    for (const path of paths) {
      assert.deepEqual(owners.owners(path).sort(), rpmQf(tree, path), path);
      assert.equal(owners.lookup(path), rpmQf(tree, path)[0] ?? null, path);
    }
    // OSTree keeps /etc as /usr/etc; a diff of the tree names it there.
    mkdirSync(join(tree, 'usr/etc'), { recursive: true });
    assert.equal(fileOwners(tree, 'rpm')?.lookup('/usr/etc/alpha.conf'), 'alpha');
  });
});

describe('dpkg file owners, against dpkg -S', () => {
  let tree = '';
  const admindir = (): string => join(tree, 'usr/share/dpkg/database');
  before(() => {
    tree = mkdtempSync(join(tmpdir(), 'hindsight-owners-dpkg-'));
    const info = join(admindir(), 'info');
    mkdirSync(info, { recursive: true });
    mkdirSync(join(admindir(), 'updates'));
    // Database format 1: Multi-Arch: same packages' lists are named NAME:ARCH.list.
    writeFileSync(join(info, 'format'), '1\n');
    const status = (name: string, arch: string, multi = false) =>
      `Package: ${name}\nStatus: install ok installed\nArchitecture: ${arch}\nVersion: 1\n${multi ? 'Multi-Arch: same\n' : ''}\n`;
    writeFileSync(join(admindir(), 'status'), status('coreutils', 'amd64') + status('libfoo', 'amd64', true));
    writeFileSync(
      join(info, 'coreutils.list'),
      '/.\n/bin\n/bin/ls\n/usr\n/usr/share\n/usr/share/doc/coreutils\n',
    );
    writeFileSync(join(info, 'libfoo:amd64.list'), '/.\n/usr\n/usr/lib/x86_64-linux-gnu/libfoo.so.1\n');
    // Debian 12 is merged-/usr: /bin is a link, though packages still list /bin/ls.
    mkdirSync(join(tree, 'usr/bin'), { recursive: true });
    symlinkSync('usr/bin', join(tree, 'bin'));
  });
  after(() => rmSync(tree, { recursive: true, force: true }));

  test('each listed path has the owner dpkg names; merged-/usr spellings find it too', () => {
    const owners = fileOwners(tree, 'dpkg');
    assert.ok(owners);
    assert.equal(owners.source, 'usr/share/dpkg/database/info');
    for (const path of [
      '/bin/ls',
      '/usr',
      '/usr/lib/x86_64-linux-gnu/libfoo.so.1',
      '/usr/share/doc/coreutils',
      '/nope',
    ]) {
      assert.deepEqual(owners.owners(path).sort(), dpkgS(admindir(), path), path);
    }
    assert.equal(owners.lookup('/usr/bin/ls'), 'coreutils');
    assert.equal(owners.lookup('/'), 'coreutils');
  });
});

test('pacman file owners, from local/*/files', () => {
  const root = mkdtempSync(join(tmpdir(), 'hindsight-owners-pacman-'));
  try {
    const entry = join(root, 'var/lib/pacman/local/bash-5.2.026-2');
    mkdirSync(entry, { recursive: true });
    writeFileSync(join(entry, 'desc'), '%NAME%\nbash\n\n%VERSION%\n5.2.026-2\n\n');
    writeFileSync(
      join(entry, 'files'),
      '%FILES%\netc/\netc/bash.bashrc\nusr/\nusr/bin/\nusr/bin/bash\n\n%BACKUP%\netc/bash.bashrc\t0123\n\n',
    );
    const owners = fileOwners(root, 'pacman');
    assert.equal(owners?.lookup('/usr/bin/bash'), 'bash');
    assert.equal(owners?.lookup('/usr/bin/'), 'bash');
    assert.equal(owners?.lookup('/etc/bash.bashrc'), 'bash');
    assert.equal(owners?.lookup('/usr/bin/zsh'), null);
    assert.equal(fileOwners(root, 'dpkg'), null);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

const DEBIAN = join(import.meta.dirname, '../../../bench/fixtures/debian/bookworm-minbase-r2/b');

test('a real Debian 12 tree: owners as dpkg -S gives them, built fast', {
  skip:
    process.env.HINDSIGHT_DEBIAN !== '1' || !existsSync(DEBIAN)
      ? 'opt-in: HINDSIGHT_DEBIAN=1 with the cached Debian trees'
      : false,
}, () => {
  const t0 = performance.now();
  const owners = fileOwners(DEBIAN, 'dpkg');
  const ms = performance.now() - t0;
  assert.ok(owners && owners.size > 5000);
  const admindir = join(DEBIAN, 'usr/share/dpkg/database');
  for (const path of [
    '/bin/ls',
    '/usr/bin/apt',
    '/lib/x86_64-linux-gnu/libc.so.6',
    '/usr/share/doc',
    '/usr/sbin/sshd',
    '/etc/ssh/sshd_config',
  ]) {
    assert.deepEqual(owners.owners(path).sort(), dpkgS(admindir, path), path);
  }
  // dpkg -S misses these (the lists say /bin, /lib); a diff of the merged tree names them so.
  assert.equal(owners.lookup('/usr/bin/ls'), 'coreutils');
  assert.equal(owners.lookup('/usr/lib/x86_64-linux-gnu/libc.so.6'), 'libc6');
  console.log(`debian: ${owners.size} paths in ${ms.toFixed(1)} ms`);
});
