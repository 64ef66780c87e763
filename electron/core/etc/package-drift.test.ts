import assert from 'node:assert/strict';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  symlinkSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { requireProgram, runSync, runSyncChecked } from '../exec.ts';
import { buildRpms, DEFAULT_RPMDB_DIR, installRpmDatabase, type RpmSpec } from '../fixtures/rpm-fixture.ts';
import { type ConfigDriftEntry, type PackageDriftReport, packageDrift } from './package-drift.ts';

/**
 * Drift of config files on roots made by the real package managers, held against their own
 * verifiers: `rpm -V`, `dpkg --verify` and `pacman -Qii` on the very same root.
 */

const base = mkdtempSync(join(tmpdir(), 'hindsight-pkgdrift-'));
after(() => rmSync(base, { recursive: true, force: true }));

const ENV = { ...process.env, LC_ALL: 'C' };

/** Per path, what a verifier says: `missing`, or the letters of what differs (5 content, M mode, O owner, L link). */
type Verdicts = Map<string, string>;

function ours(report: PackageDriftReport): Verdicts {
  const out: Verdicts = new Map();
  const letter = { content: '5', link: 'L', mode: 'M', owner: 'O' } as const;
  for (const e of report.entries) {
    if (e.status === 'missing' && !e.recorded.missingOk) out.set(e.path, 'missing');
    else if (e.status === 'modified')
      out.set(
        e.path,
        e.changes
          .map((c) => letter[c])
          .sort()
          .join(''),
      );
  }
  return out;
}

const byPath = (report: PackageDriftReport, path: string): ConfigDriftEntry => {
  const found = report.entries.find((e) => e.path === path);
  assert.ok(found, `drift lists ${path}`);
  return found;
};

describe('config file drift on an rpm root, against rpm -V', () => {
  const root = join(base, 'rpm');
  const work = join(base, 'rpm-work');
  const secret = join(base, 'outside-secret');
  const v1: RpmSpec[] = [
    {
      name: 'alpha',
      version: '1',
      release: '1',
      files: {
        '/etc/alpha.conf': 'setting = 1\n',
        '/etc/alpha-gone.conf': 'gone\n',
        '/etc/alpha-kept.conf': 'kept\n',
        '/etc/alpha-mode.conf': 'mode\n',
        '/usr/share/alpha/data': 'not config\n',
      },
      config: ['/etc/alpha.conf', '/etc/alpha-gone.conf', '/etc/alpha-kept.conf', '/etc/alpha-mode.conf'],
    },
    {
      name: 'beta',
      version: '1',
      release: '1',
      files: { '/etc/beta.conf': 'beta\n' },
      config: ['/etc/beta.conf'],
    },
    {
      name: 'delta',
      version: '1',
      release: '1',
      files: { '/etc/delta/delta.conf': 'delta\n', '/etc/delta/same.conf': 'same\n' },
      config: ['/etc/delta/delta.conf', '/etc/delta/same.conf'],
    },
    {
      name: 'echo',
      version: '1',
      release: '1',
      files: { '/etc/echo.conf': 'secret\n', '/etc/echo-big.conf': 'small\n' },
      config: ['/etc/echo.conf', '/etc/echo-big.conf'],
    },
    {
      name: 'foxtrot',
      version: '1',
      release: '1',
      files: { '/var/lib/foxtrot/state.conf': 'state\n' },
      config: ['/var/lib/foxtrot/state.conf'],
    },
  ];
  const alpha2: RpmSpec = {
    ...(v1[0] as RpmSpec),
    version: '2',
    files: { ...(v1[0] as RpmSpec).files, '/etc/alpha.conf': 'setting = 2\n' },
  };
  let report: PackageDriftReport;
  let rpmV: Verdicts;
  let rpmVText = '';

  before(async () => {
    const rpm = requireProgram('rpm');
    const db = ['--root', root, '--dbpath', `/${DEFAULT_RPMDB_DIR}`];
    const built = buildRpms([...v1, alpha2], work);
    installRpmDatabase(root, built.slice(0, v1.length), DEFAULT_RPMDB_DIR, { installFiles: true });
    // A local edit, then an upgrade that changes the file: rpm keeps the edit and writes .rpmnew.
    writeFileSync(join(root, 'etc/alpha.conf'), 'setting = mine\n');
    runSyncChecked(rpm, [...db, '-U', '--nodeps', '--noscripts', built[v1.length] as string], { env: ENV });
    unlinkSync(join(root, 'etc/alpha-gone.conf'));
    chmodSync(join(root, 'etc/alpha-mode.conf'), 0o600);
    // An edited config file of a package then erased: rpm keeps it as .rpmsave, owned by no one.
    writeFileSync(join(root, 'etc/beta.conf'), 'beta, edited\n');
    runSyncChecked(rpm, [...db, '-e', '--nodeps', '--noscripts', 'beta'], { env: ENV });
    // /etc/delta moved to /srv/delta, an absolute link left in its place: inside the root it leads
    // to /srv/delta, which does not exist on this machine.
    mkdirSync(join(root, 'srv'));
    renameSync(join(root, 'etc/delta'), join(root, 'srv/delta'));
    symlinkSync('/srv/delta', join(root, 'etc/delta'));
    writeFileSync(join(root, 'srv/delta/delta.conf'), 'delta, edited\n');
    // A link out of the root to a file with exactly the packaged content: followed, it would read as unchanged.
    writeFileSync(secret, 'secret\n');
    unlinkSync(join(root, 'etc/echo.conf'));
    symlinkSync(secret, join(root, 'etc/echo.conf'));
    // Larger than any one read: hashed in chunks.
    truncateSync(join(root, 'etc/echo-big.conf'), 48 * 1024 * 1024);
    // Merge files outside /etc are looked for beside the config files there.
    writeFileSync(join(root, 'var/lib/foxtrot/state.conf.rpmorig'), 'before the package\n');

    const result = runSync(rpm, [...db, '-V', '-a'], { env: ENV });
    rpmVText = result.stdout.toString('utf8');
    rpmV = new Map();
    for (const line of rpmVText.split('\n')) {
      const m = /^(missing|\S{9}) +(?:([cdglra]) )?(\/.*)$/.exec(line);
      if (m?.[2] !== 'c') continue;
      const flags = m[1] as string;
      if (flags === 'missing') {
        rpmV.set(m[3] as string, 'missing');
        continue;
      }
      const letters = new Set<string>();
      for (const ch of flags) {
        if (ch === '5') letters.add('5');
        else if (ch === 'M') letters.add('M');
        else if (ch === 'U' || ch === 'G') letters.add('O');
        else if (ch === 'L') letters.add('L');
      }
      rpmV.set(m[3] as string, [...letters].sort().join(''));
    }
    report = await packageDrift(root, { unchanged: true });
  });

  it('reads the config files rpm recorded, with sha256 digests and %config(noreplace)', () => {
    assert.equal(report.format, 'rpm');
    assert.equal(report.source, 'usr/lib/sysimage/rpm/rpmdb.sqlite');
    const alpha = byPath(report, '/etc/alpha.conf').recorded;
    assert.equal(alpha.package, 'alpha');
    assert.equal(alpha.digest?.algo, 'sha256');
    assert.equal(alpha.noreplace, true);
    assert.equal(alpha.mode, 0o644);
    assert.equal(alpha.user, 'root');
    assert.ok(!report.entries.some((e) => e.path === '/usr/share/alpha/data'), 'only config files');
    assert.ok(!report.entries.some((e) => e.path === '/etc/beta.conf'), 'an erased package has none');
  });

  it('finds the same modified and missing config files as rpm -V, with the same kinds of change', () => {
    // The file replaced by a link is a type change: rpm -V prints its own letters for it.
    const theirs = new Map([...rpmV].filter(([path]) => path !== '/etc/echo.conf'));
    const mine = new Map([...ours(report)].filter(([path]) => path !== '/etc/echo.conf'));
    assert.deepEqual(new Map([...mine].sort()), new Map([...theirs].sort()), rpmVText);
    assert.deepEqual([...mine.keys()].sort(), [
      '/etc/alpha-gone.conf',
      '/etc/alpha-mode.conf',
      '/etc/alpha.conf',
      '/etc/delta/delta.conf',
      '/etc/echo-big.conf',
    ]);
    assert.ok(rpmV.has('/etc/echo.conf'), 'rpm -V flags the replaced file too');
  });

  it('calls each file what it is', () => {
    assert.equal(byPath(report, '/etc/alpha.conf').status, 'modified');
    assert.deepEqual(byPath(report, '/etc/alpha.conf').changes, ['content']);
    assert.equal(byPath(report, '/etc/alpha-gone.conf').status, 'missing');
    assert.equal(byPath(report, '/etc/alpha-gone.conf').local, null);
    assert.deepEqual(byPath(report, '/etc/alpha-mode.conf').changes, ['mode']);
    assert.equal(byPath(report, '/etc/alpha-kept.conf').status, 'unchanged');
    assert.equal(byPath(report, '/etc/delta/same.conf').status, 'unchanged');
    const big = byPath(report, '/etc/echo-big.conf');
    assert.equal(big.local?.size, 48 * 1024 * 1024);
    assert.deepEqual(big.changes, ['content']);
    assert.equal(report.unchangedCount, 3);
  });

  it('never follows a link out of the root: a file replaced by one is replaced, its target unread', () => {
    const echo = byPath(report, '/etc/echo.conf');
    assert.equal(echo.status, 'replaced');
    assert.equal(echo.local?.type, 'symlink');
    assert.equal(echo.local?.target, secret);
    assert.equal(echo.local?.digest, undefined);
  });

  it('lists the .rpmnew rpm left beside the edited file, the .rpmsave of the erased package, and one outside /etc', () => {
    assert.deepEqual(
      report.pending.map((p) => [p.path, p.basePath, p.kind, p.holds, p.owners.join(','), p.baseStatus]),
      [
        ['/etc/alpha.conf.rpmnew', '/etc/alpha.conf', 'rpmnew', 'upstream', 'alpha', 'modified'],
        ['/etc/beta.conf.rpmsave', '/etc/beta.conf', 'rpmsave', 'previous', '', null],
        [
          '/var/lib/foxtrot/state.conf.rpmorig',
          '/var/lib/foxtrot/state.conf',
          'rpmorig',
          'previous',
          'foxtrot',
          'unchanged',
        ],
      ],
    );
  });

  it('lists only what drifted unless asked for everything', async () => {
    const short = await packageDrift(root);
    assert.equal(short.unchangedCount, 3);
    assert.ok(short.entries.every((e) => e.status !== 'unchanged'));
    assert.equal(short.entries.length, report.entries.length - 3);
  });
});

/** Builds a .deb with `dpkg-deb` from files (path → content) whose conffiles are `conffiles`. */
function buildDeb(
  dir: string,
  name: string,
  version: string,
  files: Record<string, string>,
  conffiles: string[],
): string {
  const tree = join(dir, `${name}_${version}`);
  mkdirSync(join(tree, 'DEBIAN'), { recursive: true });
  writeFileSync(
    join(tree, 'DEBIAN/control'),
    `Package: ${name}\nVersion: ${version}\nArchitecture: all\nMaintainer: Hindsight <test@example.invalid>\nDescription: Hindsight test package\n`,
  );
  writeFileSync(join(tree, 'DEBIAN/conffiles'), conffiles.map((c) => `${c}\n`).join(''));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(tree, path)), { recursive: true });
    writeFileSync(join(tree, path), content);
  }
  const deb = `${tree}.deb`;
  runSyncChecked(requireProgram('dpkg-deb'), ['--root-owner-group', '-Znone', '--build', tree, deb], {
    env: ENV,
  });
  return deb;
}

describe('conffile drift on a dpkg root, against dpkg --verify', () => {
  const root = join(base, 'dpkg');
  const debs = join(base, 'debs');
  let report: PackageDriftReport;
  let verify: Verdicts;
  let verifyText = '';

  before(async () => {
    const dpkg = requireProgram('dpkg');
    mkdirSync(debs, { recursive: true });
    for (const d of ['info', 'updates', 'triggers'])
      mkdirSync(join(root, 'var/lib/dpkg', d), { recursive: true });
    writeFileSync(join(root, 'var/lib/dpkg/status'), '');
    const install = (force: string[], ...files: string[]): void => {
      runSyncChecked(
        dpkg,
        [
          `--root=${root}`,
          '--force-not-root',
          '--force-script-chrootless',
          '--log=/dev/null',
          ...force,
          '-i',
          ...files,
        ],
        { env: ENV },
      );
    };
    const kilo = (v: string) => ({
      '/etc/kilo/kilo.conf': `kilo ${v}\n`,
      '/etc/kilo/gone.conf': 'gone\n',
      '/etc/kilo/kept.conf': 'kept\n',
      '/usr/share/kilo/data': 'not a conffile\n',
    });
    const lima = (v: string) => ({ '/etc/lima.conf': `lima ${v}\n` });
    install(
      [],
      buildDeb(debs, 'kilo', '1.0', kilo('1'), [
        '/etc/kilo/kilo.conf',
        '/etc/kilo/gone.conf',
        '/etc/kilo/kept.conf',
      ]),
      buildDeb(debs, 'lima', '1.0', lima('1'), ['/etc/lima.conf']),
    );
    writeFileSync(join(root, 'etc/kilo/kilo.conf'), 'kilo, mine\n');
    writeFileSync(join(root, 'etc/lima.conf'), 'lima, mine\n');
    // Keeping the edit leaves the package's new version as .dpkg-dist; taking the new one keeps the edit as .dpkg-old.
    install(
      ['--force-confold'],
      buildDeb(debs, 'kilo', '2.0', kilo('2'), [
        '/etc/kilo/kilo.conf',
        '/etc/kilo/gone.conf',
        '/etc/kilo/kept.conf',
      ]),
    );
    install(['--force-confnew'], buildDeb(debs, 'lima', '2.0', lima('2'), ['/etc/lima.conf']));
    unlinkSync(join(root, 'etc/kilo/gone.conf'));

    verifyText = runSync(dpkg, [`--root=${root}`, '--verify'], { env: ENV }).stdout.toString('utf8');
    verify = new Map();
    for (const line of verifyText.split('\n')) {
      const m = /^(missing|\S{9}) +c (\/.*?)(?: \(.*\))?$/.exec(line);
      if (m) verify.set(m[2] as string, m[1] === 'missing' ? 'missing' : m[1]?.includes('5') ? '5' : '');
    }
    report = await packageDrift(root, { unchanged: true });
  });

  it('reads the conffiles dpkg recorded, with md5 digests', () => {
    assert.equal(report.format, 'dpkg');
    assert.equal(report.source, 'var/lib/dpkg/status');
    assert.deepEqual(
      report.entries.map((e) => [e.path, e.package, e.recorded.digest?.algo]),
      [
        ['/etc/kilo/gone.conf', 'kilo', 'md5'],
        ['/etc/kilo/kept.conf', 'kilo', 'md5'],
        ['/etc/kilo/kilo.conf', 'kilo', 'md5'],
        ['/etc/lima.conf', 'lima', 'md5'],
      ],
    );
  });

  it('finds the same modified and missing conffiles as dpkg --verify', () => {
    assert.ok(verify.size >= 2, verifyText);
    assert.deepEqual(new Map([...ours(report)].sort()), new Map([...verify].sort()), verifyText);
    assert.equal(byPath(report, '/etc/kilo/kilo.conf').status, 'modified');
    assert.equal(byPath(report, '/etc/kilo/gone.conf').status, 'missing');
    assert.equal(byPath(report, '/etc/lima.conf').status, 'unchanged');
  });

  it('lists the .dpkg-dist and .dpkg-old dpkg left, with the owning package', () => {
    assert.deepEqual(
      report.pending.map((p) => [p.path, p.kind, p.holds, p.owners.join(','), p.baseStatus]),
      [
        ['/etc/kilo/kilo.conf.dpkg-dist', 'dpkg-dist', 'upstream', 'kilo', 'modified'],
        ['/etc/lima.conf.dpkg-old', 'dpkg-old', 'previous', 'lima', 'unchanged'],
      ],
    );
  });
});

describe('backup file drift on a pacman root, against pacman -Qii', () => {
  const root = join(base, 'pacman');
  const md5 = (text: string): string =>
    runSyncChecked(requireProgram('md5sum'), [], { input: text }).toString().slice(0, 32);
  let report: PackageDriftReport;

  before(async () => {
    // A local database written as pacman writes it; pacman reads and checks it itself below.
    const entry = join(root, 'var/lib/pacman/local/mike-1.0-1');
    mkdirSync(entry, { recursive: true });
    writeFileSync(join(root, 'var/lib/pacman/local/ALPM_DB_VERSION'), '9\n');
    writeFileSync(join(entry, 'desc'), '%NAME%\nmike\n\n%VERSION%\n1.0-1\n\n%ARCH%\nany\n\n');
    const backup = {
      'etc/mike.conf': 'same\n',
      'etc/mike-edited.conf': 'packaged\n',
      'etc/mike-gone.conf': 'x\n',
    };
    writeFileSync(
      join(entry, 'files'),
      `%FILES%\netc/\n${Object.keys(backup).join('\n')}\n\n%BACKUP%\n${Object.entries(backup)
        .map(([path, content]) => `${path}\t${md5(content)}`)
        .join('\n')}\n\n`,
    );
    mkdirSync(join(root, 'etc'));
    writeFileSync(join(root, 'etc/mike.conf'), 'same\n');
    writeFileSync(join(root, 'etc/mike-edited.conf'), 'edited\n');
    writeFileSync(join(root, 'etc/mike.conf.pacnew'), 'newer\n');
    report = await packageDrift(root, { unchanged: true });
  });

  it('holds %BACKUP% files to their md5 as pacman -Qii does', () => {
    const conf = join(base, 'pacman.conf');
    writeFileSync(conf, '[options]\nArchitecture = auto\nSigLevel = Never\n');
    const text = runSyncChecked(
      requireProgram('pacman'),
      ['--root', root, '--dbpath', join(root, 'var/lib/pacman'), '--config', conf, '-Qii', 'mike'],
      { env: ENV },
    ).toString('utf8');
    const theirs = new Map<string, string>();
    for (const m of text.matchAll(/^(UNMODIFIED|MODIFIED|MISSING)\t(.*)$/gm)) {
      theirs.set((m[2] as string).slice(root.length), (m[1] as string).toLowerCase());
    }
    const mine = new Map(
      report.entries.map((e) => [e.path, e.status === 'unchanged' ? 'unmodified' : e.status]),
    );
    assert.equal(theirs.size, 3, text);
    assert.deepEqual(new Map([...mine].sort()), new Map([...theirs].sort()), text);
    assert.deepEqual(
      report.pending.map((p) => [p.path, p.kind, p.owners.join(',')]),
      [['/etc/mike.conf.pacnew', 'pacnew', 'mike']],
    );
  });
});

describe('paths that cannot be read on a hand-written pacman root', () => {
  const root = join(base, 'pacman-odd');
  let report: PackageDriftReport;

  before(async () => {
    const entry = join(root, 'var/lib/pacman/local/november-1-1');
    mkdirSync(entry, { recursive: true });
    writeFileSync(join(entry, 'desc'), '%NAME%\nnovember\n\n%VERSION%\n1-1\n\n');
    const hash = '0123456789abcdef0123456789abcdef';
    writeFileSync(
      join(entry, 'files'),
      `%BACKUP%\netc/loop/x.conf\t${hash}\netc/escape/x.conf\t${hash}\netc/fifo.conf\t${hash}\netc/file/x.conf\t${hash}\n\n`,
    );
    mkdirSync(join(root, 'etc'));
    // A folder that is a link to itself, one that climbs far above the root, a FIFO, a file where a folder should be.
    symlinkSync('/etc/loop', join(root, 'etc/loop'));
    symlinkSync('../../../../../../../../etc/escape-target', join(root, 'etc/escape'));
    mkdirSync(join(root, 'etc/escape-target'));
    writeFileSync(join(root, 'etc/escape-target/x.conf'), 'inside\n');
    runSyncChecked(requireProgram('mkfifo'), [join(root, 'etc/fifo.conf')]);
    writeFileSync(join(root, 'etc/file'), 'a file\n');
    report = await packageDrift(root, { unchanged: true });
  });

  it('reports each as what it is, without hanging on the FIFO or leaving the root', () => {
    assert.deepEqual(
      report.entries.map((e) => [e.path, e.status, e.reason ?? '']),
      [
        ['/etc/escape/x.conf', 'modified', ''],
        ['/etc/fifo.conf', 'replaced', ''],
        ['/etc/file/x.conf', 'missing', ''],
        ['/etc/loop/x.conf', 'unreadable', '/etc/loop/x.conf: too many links in its folders'],
      ],
    );
    // `..` stops at the root, as in a chroot: the link leads to the root's own /etc/escape-target.
    assert.equal(byPath(report, '/etc/escape/x.conf').local?.size, 'inside\n'.length);
  });
});
