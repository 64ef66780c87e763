import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { PackageEntry } from '../../shared/types.ts';
import { requireProgram, runSyncChecked } from '../core/exec.ts';
import {
  commitTree,
  createSysroot,
  DPKG_STATUS_PATH,
  deploy,
  removeFixture,
} from '../core/fixtures/sysroot-fixture.ts';
import { FIXTURES_DIR, PROJECT_ROOT, rng } from './fixtures.ts';

/**
 * The "upgrade" fixture of the files and changelog rows: two deployments of one image before and
 * after a 300-package upgrade. Each tree holds ~100,000 files laid out as packages lay them out
 * (binaries, man pages, locales, a private library folder, data, docs, dpkg's file lists); the
 * upgrade rewrites, adds and removes ~5,000 of them, all in the upgraded packages, and ships each
 * upgraded package's changelog.Debian.gz with the entries since the version it replaces.
 *
 * The changelogs are real ones when the Debian trees of electron/core/fixtures/debian-trees.ts are
 * cached (bench/fixtures/debian/…): each package carries the text of one of them, its versions
 * those the file names, so both Hindsight and dpkg-parsechangelog read real Debian changelogs.
 * Without that cache they are generated in the same shape. Cached in bench/fixtures/upgrade-<hash>/
 * (its own hash, so it never invalidates the other fixtures, nor they it).
 */

export interface UpgradeFixture {
  name: 'upgrade';
  root: string;
  sysroot: string;
  stateroot: string;
  ref: string;
  /** Commit checksums: before (deployment 1) and after (deployment 0). */
  from: string;
  to: string;
  /** Files (non-directories) in the tree before the upgrade. */
  files: number;
  /** Lines `ostree diff` prints for the pair (its M, A and D lines). */
  ostreeDiffLines: number;
  packages: number;
  upgraded: number;
  /** Changelog entries between the two versions, summed over the upgraded packages. */
  changelogEntries: number;
  /** Where the changelog texts came from. */
  changelogSource: string;
  /** `PACKAGE FROM-VERSION` per line, for the dpkg-parsechangelog loop. */
  upgradesList: string;
  buildSeconds: number;
}

const HERE = dirname(fileURLToPath(import.meta.url));
const BUILDER_SOURCES = [
  join(HERE, 'upgrade-fixture.ts'),
  join(PROJECT_ROOT, 'electron/core/fixtures/sysroot-fixture.ts'),
];
const MARKER = 'bench-fixture.json';
const DEBIAN_CACHE = join(FIXTURES_DIR, 'debian');

const PACKAGES = 1250;
const UPGRADED = 300;
/** Per package: 2 doc files, the binary, a man page, 4 locales, 45 library files, 27 data files. */
const LOCALES_PER_PACKAGE = 4;
const LIB_DIRS = 3;
const LIB_FILES = 15;
const DATA_DIRS = 3;
const DATA_FILES = 9;
const MODIFIED_LIB_FILES = 10;
const LANGS = [
  'ar',
  'bg',
  'ca',
  'cs',
  'da',
  'de',
  'el',
  'eo',
  'es',
  'et',
  'eu',
  'fi',
  'fr',
  'gl',
  'hu',
  'id',
  'it',
  'ja',
  'ko',
  'lt',
  'nb',
  'nl',
  'pl',
  'pt',
  'pt_BR',
  'ro',
  'ru',
  'sk',
  'sv',
  'tr',
  'uk',
  'vi',
  'zh_CN',
  'zh_TW',
];
const STEMS = ['lib', 'python3-', 'gir1.2-', 'fonts-', 'gnome-', 'x11-', 'perl-', 'node-', 'ruby-', ''];
const WORDS = ['gtk', 'glib', 'xml', 'ssl', 'curl', 'png', 'jpeg', 'pango', 'cairo', 'dbus', 'nss', 'sql'];
const LIB_SUBDIRS = ['plugins', 'modules', 'private', 'backends', 'filters'];
const DATA_SUBDIRS = ['icons', 'schemas', 'ui', 'templates', 'examples', 'sounds'];

// ---------------------------------------------------------------------------------------------------
// Changelogs

interface Changelog {
  /** Entries newest first: their version and text (header to trailer, with the blank line after). */
  entries: { version: string; text: string }[];
  origin: string;
}

const HEADER_RE = /^(\w[-+0-9a-z.]*) \(([^() \t]+)\)((?:\s+[-+0-9a-z.]+)+);/i;

/** A Debian changelog split into entries; null when it does not start with one. */
function splitChangelog(text: string, origin: string): Changelog | null {
  const entries: Changelog['entries'] = [];
  let current: { version: string; lines: string[] } | null = null;
  for (const line of text.split('\n')) {
    const header = HEADER_RE.exec(line);
    if (header) {
      if (current) entries.push({ version: current.version, text: current.lines.join('\n') });
      current = { version: header[2] as string, lines: [] };
    } else if (!current) return null;
    current.lines.push(line);
  }
  if (current) entries.push({ version: current.version, text: current.lines.join('\n') });
  return entries.length ? { entries, origin } : null;
}

/** The real changelogs of the cached Debian trees (their own folders, not links), sorted by package. */
function realChangelogs(): Changelog[] {
  const out: Changelog[] = [];
  if (!existsSync(DEBIAN_CACHE)) return out;
  for (const recipe of readdirSync(DEBIAN_CACHE).sort()) {
    const doc = join(DEBIAN_CACHE, recipe, 'b', 'usr', 'share', 'doc');
    if (!existsSync(doc)) continue;
    for (const name of readdirSync(doc).sort()) {
      const file = join(doc, name, 'changelog.Debian.gz');
      try {
        if (lstatSync(join(doc, name)).isSymbolicLink() || !lstatSync(file).isFile()) continue;
        const parsed = splitChangelog(gunzipSync(readFileSync(file)).toString('utf8'), `${recipe}/${name}`);
        // At least three entries, so that an upgrade can span several.
        if (parsed && parsed.entries.length >= 3) out.push(parsed);
      } catch {
        // unreadable: not a template
      }
    }
    if (out.length) break;
  }
  return out;
}

const CHANGE_LINES = [
  'New upstream release',
  'Fix a crash when the configuration file is empty',
  'Refresh patches for the new upstream release',
  'Bump Standards-Version to 4.6.2, no changes needed',
  'Update debian/copyright',
  'Build-depend on debhelper-compat (= 13)',
  'Backport upstream fix for a memory leak in the parser',
  'Drop obsolete Breaks/Replaces',
  'Install the systemd unit with dh_installsystemd',
  'Add autopkgtest smoke test',
];
const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** A changelog in Debian's format with realistic entries, for machines without the Debian cache. */
function generatedChangelog(source: string, seed: number): Changelog {
  const r = rng(seed);
  const entries: Changelog['entries'] = [];
  const count = 6 + Math.floor(r() * 20);
  const major = 1 + Math.floor(r() * 9);
  let day = 9000;
  for (let k = count; k >= 1; k--) {
    const version = `${major}.${Math.floor(k / 3)}.${k % 3}-${1 + (k % 2)}`;
    const lines = [`${source} (${version}) unstable; urgency=medium`, ''];
    const n = 1 + Math.floor(r() * 5);
    for (let i = 0; i < n; i++) {
      const base = CHANGE_LINES[Math.floor(r() * CHANGE_LINES.length)] as string;
      const cve = r() < 0.15 ? ` (CVE-2024-${10000 + Math.floor(r() * 50000)})` : '';
      lines.push(
        `  * ${base}${cve}.${r() < 0.3 ? ` (Closes: #${1_000_000 + Math.floor(r() * 90_000)})` : ''}`,
      );
    }
    const date = new Date(Date.UTC(1970, 0, 1) + (day + k * 40) * 86_400_000);
    const stamp = `${DAYS[(date.getUTCDay() + 6) % 7]}, ${String(date.getUTCDate()).padStart(2, '0')} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()} 10:${String(k % 60).padStart(2, '0')}:00 +0100`;
    lines.push('', ` -- Hindsight Maintainer <maint@example.invalid>  ${stamp}`, '');
    entries.push({ version, text: lines.join('\n') });
    day -= 1;
  }
  return { entries, origin: 'generated' };
}

/** Entries from `from` to the end, as the file of that version holds them. */
function changelogText(log: Changelog, from: number): string {
  return `${log.entries
    .slice(from)
    .map((e) => e.text)
    .join('\n')
    .replace(/\n+$/, '')}\n`;
}

// ---------------------------------------------------------------------------------------------------
// Trees

interface Pkg {
  name: string;
  arch: string;
  log: Changelog;
  /** Index of the entry installed before the upgrade (0 = the newest, for packages not upgraded). */
  fromEntry: number;
  upgraded: boolean;
  langs: string[];
  libDirs: string[];
  dataDirs: string[];
}

/** FNV-1a of a string: a seed per path. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

function filler(r: () => number, min: number, max: number): string {
  const words: string[] = [];
  let size = 0;
  const target = min + Math.floor(r() * (max - min));
  while (size < target) {
    const w = WORDS[Math.floor(r() * WORDS.length)] as string;
    words.push(`${w}${Math.floor(r() * 1000)}`);
    size += w.length + 4;
  }
  return words.join(' ');
}

/** One package's files in one version: relative path → content. */
function packageFiles(p: Pkg, version: string, upgradedSide: boolean): Map<string, string | Buffer> {
  const files = new Map<string, string | Buffer>();
  // Each file's filler from its own seed: the same bytes on both sides unless the version is in it.
  const stamp = (path: string, changed: boolean) =>
    `${path}\n${changed ? version : 'unchanged'}\n${filler(rng(fnv1a(path)), 60, 600)}\n`;
  files.set(`usr/share/doc/${p.name}/copyright`, stamp(`copyright of ${p.name}`, false));
  files.set(
    `usr/share/doc/${p.name}/changelog.Debian.gz`,
    gzipSync(changelogText(p.log, upgradedSide ? 0 : p.fromEntry), { level: 9 }),
  );
  files.set(`usr/bin/${p.name}`, stamp(`binary ${p.name}`, true));
  files.set(`usr/share/man/man1/${p.name}.1.gz`, stamp(`man page ${p.name}`, true));
  for (const [k, lang] of p.langs.entries())
    files.set(`usr/share/locale/${lang}/LC_MESSAGES/${p.name}.mo`, stamp(`${lang} ${p.name}`, k === 0));
  let lib = 0;
  for (const dir of p.libDirs) {
    for (let f = 0; f < LIB_FILES; f++, lib++) {
      // The upgrade drops the first library file and adds one under a new name.
      if (lib === 0 && upgradedSide) continue;
      files.set(
        `usr/lib/x86_64-linux-gnu/${p.name}/${dir}/${dir}-${f}.so`,
        stamp(`${p.name} ${dir} ${f}`, lib <= MODIFIED_LIB_FILES),
      );
    }
  }
  if (upgradedSide)
    files.set(`usr/lib/x86_64-linux-gnu/${p.name}/${p.libDirs[0]}/new-in-${version}.so`, stamp('new', true));
  for (const dir of p.dataDirs)
    for (let f = 0; f < DATA_FILES; f++)
      files.set(`usr/share/${p.name}/${dir}/${dir}-${f}.dat`, stamp(`${p.name} ${dir} ${f}`, false));
  return files;
}

function version(p: Pkg, after: boolean): string {
  return (p.log.entries[after || !p.upgraded ? 0 : p.fromEntry] as { version: string }).version;
}

/** dpkg's `info/NAME.list`: the package's folders and files, each once, in the order dpkg writes them. */
function listFile(paths: Iterable<string>): string {
  const all = new Set<string>(['/.']);
  for (const path of paths) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) all.add(`/${parts.slice(0, i).join('/')}`);
    all.add(`/${path}`);
  }
  return `${[...all].join('\n')}\n`;
}

function writeTree(root: string, pkgs: Pkg[], after: boolean): number {
  const info = join(root, dirname(DPKG_STATUS_PATH), 'info');
  mkdirSync(info, { recursive: true });
  const made = new Set<string>();
  let count = 0;
  for (const p of pkgs) {
    const files = packageFiles(p, version(p, after), after && p.upgraded);
    for (const [rel, content] of files) {
      const dir = dirname(rel);
      if (!made.has(dir)) {
        mkdirSync(join(root, dir), { recursive: true });
        made.add(dir);
      }
      writeFileSync(join(root, rel), content, { mode: 0o644 });
      count++;
    }
    writeFileSync(join(info, `${p.name}.list`), listFile(files.keys()), { mode: 0o644 });
    count++;
  }
  return count;
}

function buildPackageSet(templates: Changelog[]): Pkg[] {
  const r = rng(51);
  const names = new Set<string>();
  const pkgs: Pkg[] = [];
  for (let i = 0; pkgs.length < PACKAGES; i++) {
    const name = `${STEMS[Math.floor(r() * STEMS.length)]}${WORDS[Math.floor(r() * WORDS.length)]}${i}`;
    if (names.has(name)) continue;
    names.add(name);
    const upgraded = pkgs.length % Math.floor(PACKAGES / UPGRADED) === 0 && pkgs.length / 4 < UPGRADED;
    const log = templates.length
      ? (templates[pkgs.length % templates.length] as Changelog)
      : generatedChangelog(name, 1000 + i);
    // 2 to 6 entries between the two versions, as far as the changelog goes back.
    const fromEntry = upgraded ? Math.min(log.entries.length - 1, 2 + Math.floor(r() * 5)) : 0;
    const langs = new Set<string>();
    while (langs.size < LOCALES_PER_PACKAGE) langs.add(LANGS[Math.floor(r() * LANGS.length)] as string);
    const pickDirs = (from: string[], n: number) => {
      const list = [...from];
      const out: string[] = [];
      while (out.length < n) out.push(list.splice(Math.floor(r() * list.length), 1)[0] as string);
      return out;
    };
    pkgs.push({
      name,
      arch: r() < 0.2 ? 'all' : 'amd64',
      log,
      fromEntry,
      upgraded,
      langs: [...langs],
      libDirs: pickDirs(LIB_SUBDIRS, LIB_DIRS),
      dataDirs: pickDirs(DATA_SUBDIRS, DATA_DIRS),
    });
  }
  const count = pkgs.filter((p) => p.upgraded).length;
  if (count !== UPGRADED) throw new Error(`upgrade fixture: ${count} packages upgraded, not ${UPGRADED}`);
  return pkgs;
}

export function upgradeFixtureHash(): { hash: string; templates: Changelog[] } {
  const templates = realChangelogs();
  const hash = createHash('sha256');
  for (const file of BUILDER_SOURCES) hash.update(readFileSync(file));
  hash.update(runSyncChecked(requireProgram('ostree', 'ostree-missing'), ['--version']));
  // The texts used: the Debian cache appearing (or changing) builds the fixture anew.
  for (const t of templates) hash.update(`${t.origin}:${t.entries.length}:${t.entries[0]?.version}\n`);
  return { hash: hash.digest('hex').slice(0, 12), templates };
}

const timestamp = (day: number): string =>
  new Date(Date.UTC(2025, 0, 1) + day * 86_400_000).toISOString().replace('.000Z', 'Z');

function buildUpgrade(
  root: string,
  templates: Changelog[],
  log: (line: string) => void,
): Omit<UpgradeFixture, 'buildSeconds'> {
  const ostree = requireProgram('ostree', 'ostree-missing');
  const fx = createSysroot(root, { stateroot: 'debian', ref: 'debian/bookworm/bench' });
  runSyncChecked(ostree, ['config', `--repo=${fx.repo}`, 'set', 'core.fsync', 'false']);
  const pkgs = buildPackageSet(templates);
  const dpkg = (after: boolean): PackageEntry[] =>
    pkgs.map((p) => ({ name: p.name, version: version(p, after), arch: p.arch }));
  let files = 0;
  const commits: string[] = [];
  for (const after of [false, true]) {
    commits.push(
      commitTree(fx, {
        version: after ? '12.9' : '12.8',
        subject: `Hindsight bench upgrade ${after ? 'after' : 'before'}`,
        timestamp: timestamp(after ? 30 : 0),
        kernel: '6.1.0-30-amd64',
        dpkg: dpkg(after),
        populate: (tree) => {
          const n = writeTree(tree, pkgs, after);
          if (!after) files = n;
        },
      }),
    );
    deploy(fx);
    log(`  upgrade: ${after ? 'after' : 'before'} committed and deployed`);
  }
  const [from, to] = commits as [string, string];
  const diff = runSyncChecked(ostree, ['diff', `--repo=${fx.repo}`, from, to])
    .toString('utf8')
    .split('\n')
    .filter(Boolean).length;
  const upgraded = pkgs.filter((p) => p.upgraded);
  const upgradesList = join(root, 'upgrades.txt');
  writeFileSync(upgradesList, upgraded.map((p) => `${p.name} ${version(p, false)}\n`).join(''));
  return {
    name: 'upgrade',
    root,
    sysroot: fx.sysroot,
    stateroot: fx.stateroot,
    ref: fx.ref,
    from,
    to,
    files,
    ostreeDiffLines: diff,
    packages: pkgs.length,
    upgraded: upgraded.length,
    changelogEntries: upgraded.reduce((n, p) => n + p.fromEntry, 0),
    changelogSource: templates.length
      ? `real: ${templates.length} changelog.Debian.gz of the cached Debian trees (${DEBIAN_CACHE}), reused in turn`
      : 'generated (no Debian tree cache under bench/fixtures/debian)',
    upgradesList,
  };
}

/** The fixture, built now or reused from bench/fixtures/upgrade-<hash>/ when its builder has not changed. */
export function ensureUpgradeFixture(log: (line: string) => void): UpgradeFixture {
  const { hash, templates } = upgradeFixtureHash();
  mkdirSync(FIXTURES_DIR, { recursive: true });
  const root = join(FIXTURES_DIR, `upgrade-${hash}`);
  const marker = join(root, MARKER);
  if (existsSync(marker)) return JSON.parse(readFileSync(marker, 'utf8')) as UpgradeFixture;
  for (const entry of readdirSync(FIXTURES_DIR)) {
    if (/^upgrade-[0-9a-f]{12}$/.test(entry)) removeFixture(join(FIXTURES_DIR, entry));
  }
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  log('building fixture upgrade (~100,000 files, two commits, two deployments)…');
  const started = performance.now();
  const built = buildUpgrade(root, templates, log);
  const info: UpgradeFixture = {
    ...built,
    buildSeconds: Math.round((performance.now() - started) / 100) / 10,
  };
  writeFileSync(marker, `${JSON.stringify(info, null, 2)}\n`);
  log(
    `  upgrade built in ${info.buildSeconds} s (${info.files} files, ${info.ostreeDiffLines} lines of ostree diff)`,
  );
  return info;
}
