import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PackageEntry } from '../../shared/types.ts';
import { requireProgram, runSyncChecked } from '../core/exec.ts';
import {
  commitTree,
  createSysroot,
  DPKG_STATUS_PATH,
  deploy,
  dpkgStatusText,
  editEtc,
  type FileSpec,
  removeFixture,
  type SysrootFixture,
  writeSpec,
} from '../core/fixtures/sysroot-fixture.ts';

/**
 * The benchmark's sysroots, built with the project's fixture builder from fixed seeds, so every run
 * (and every machine) measures the same trees. They are cached under bench/fixtures/, keyed by a hash
 * of the code that builds them: change the builder and the next run rebuilds.
 */

export interface BenchFixture {
  name: string;
  root: string;
  sysroot: string;
  stateroot: string;
  ref: string;
  /** Commits on the ref, oldest first. */
  commits: number;
  deployments: number;
  etcFiles: number;
  /** Edit operations applied to the default deployment's /etc (writes, removals, additions). */
  localEdits: number;
  packages: number;
  buildSeconds: number;
}

const HERE = dirname(fileURLToPath(import.meta.url));
export const PROJECT_ROOT = join(HERE, '..', '..');
export const FIXTURES_DIR = join(PROJECT_ROOT, 'bench', 'fixtures');

/** The sources whose change invalidates the cached fixtures. */
const BUILDER_SOURCES = [
  join(HERE, 'fixtures.ts'),
  join(PROJECT_ROOT, 'electron/core/fixtures/sysroot-fixture.ts'),
];

export function builderHash(): string {
  const hash = createHash('sha256');
  for (const file of BUILDER_SOURCES) hash.update(readFileSync(file));
  // A different ostree may lay trees out differently; treat it as a different builder.
  hash.update(runSyncChecked(requireProgram('ostree', 'ostree-missing'), ['--version']));
  return hash.digest('hex').slice(0, 12);
}

/** mulberry32: small, fast, and the same sequence on every platform. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(r: () => number, list: readonly T[]): T => list[Math.floor(r() * list.length)] as T;
const int = (r: () => number, min: number, max: number): number => min + Math.floor(r() * (max - min + 1));

// ---------------------------------------------------------------------------------------------------
// /etc trees

const TOP_DIRS = [
  'apt',
  'systemd/system',
  'systemd/user',
  'ssh',
  'default',
  'security',
  'pam.d',
  'profile.d',
  'X11/xorg.conf.d',
  'xdg/autostart',
  'udev/rules.d',
  'NetworkManager/conf.d',
  'dbus-1/system.d',
  'fonts/conf.d',
  'logrotate.d',
  'cron.d',
  'sysctl.d',
  'modprobe.d',
  'apparmor.d/abstractions',
  'ssl/certs',
  'ca-certificates',
  'init.d',
  'polkit-1/rules.d',
  'gconf/2',
  'libreoffice/registry',
  'alternatives',
  'ld.so.conf.d',
  'bash_completion.d',
  'cups',
  'php/8.2/mods-available',
];
const WORDS = [
  'enable',
  'timeout',
  'path',
  'user',
  'group',
  'level',
  'cache',
  'listen',
  'allow',
  'deny',
  'socket',
  'device',
  'driver',
  'font',
  'locale',
  'proxy',
  'limit',
  'retry',
  'mode',
  'policy',
];

interface EtcFile {
  text: string;
  mode: number;
  uid: number;
  gid: number;
}
type EtcNode = EtcFile | { symlink: string };
/** The image's /etc as the builder tracks it across commits: path → file or symlink. */
export type EtcMap = Map<string, EtcNode>;

function configText(r: () => number, bytes: number): string {
  const lines: string[] = [`# generated configuration, ${bytes} bytes`];
  let size = lines[0]?.length ?? 0;
  while (size < bytes) {
    const line =
      r() < 0.2
        ? `# ${pick(r, WORDS)} ${pick(r, WORDS)} ${pick(r, WORDS)} is set below`
        : `${pick(r, WORDS)}_${int(r, 0, 99)} = ${pick(r, WORDS)}-${int(r, 0, 9999)}`;
    lines.push(line);
    size += line.length + 1;
  }
  return `${lines.join('\n')}\n`;
}

/** Sizes like a real /etc: mostly a few hundred bytes, some kilobytes, a few large files. */
function fileSize(r: () => number): number {
  const x = r();
  if (x < 0.7) return int(r, 60, 1500);
  if (x < 0.97) return int(r, 1500, 8000);
  return int(r, 8000, 60000);
}

export function buildEtc(count: number, seed: number): EtcMap {
  const r = rng(seed);
  const etc: EtcMap = new Map();
  const dirs: string[] = [''];
  for (const top of TOP_DIRS) dirs.push(top);
  // Deeper folders appear as the tree grows, as on a real system with many packages.
  while (dirs.length < Math.max(40, count / 25)) {
    const parent = pick(r, dirs);
    const depth = parent.split('/').length;
    if (depth >= 4) continue;
    const dir = `${parent ? `${parent}/` : ''}${pick(r, WORDS)}${int(r, 0, 999)}.d`;
    if (!dirs.includes(dir)) dirs.push(dir);
  }
  let n = 0;
  while (etc.size < count) {
    const dir = pick(r, dirs);
    const path = `${dir ? `${dir}/` : ''}${pick(r, WORDS)}-${n++}.conf`;
    if (r() < 0.03 && etc.size > 0) {
      etc.set(path, { symlink: `../${pick(r, WORDS)}/${pick(r, WORDS)}-${int(r, 0, 999)}` });
      continue;
    }
    const secret = r() < 0.02;
    etc.set(path, {
      text: configText(r, fileSize(r)),
      mode: secret ? 0o640 : 0o644,
      uid: 0,
      gid: secret ? 42 : 0,
    });
  }
  return etc;
}

function toSpec(node: EtcNode): FileSpec {
  if ('symlink' in node) return { symlink: node.symlink };
  return { content: node.text, mode: node.mode, uid: node.uid, gid: node.gid };
}

function etcSpec(etc: EtcMap): Record<string, FileSpec> {
  const out: Record<string, FileSpec> = {};
  for (const [path, node] of etc) out[path] = toSpec(node);
  return out;
}

/** An image update's changes to /etc: a few files edited, sometimes one added. */
function upstreamEtcChanges(etc: EtcMap, r: () => number, files: number, tag: string): Map<string, EtcNode> {
  const paths = [...etc.keys()];
  const changes = new Map<string, EtcNode>();
  for (let i = 0; i < files; i++) {
    const path = pick(r, paths);
    const node = etc.get(path);
    if (!node || 'symlink' in node) continue;
    const lines = node.text.split('\n');
    lines.splice(int(r, 1, Math.max(1, lines.length - 1)), 0, `${pick(r, WORDS)}_${tag} = updated-${i}`);
    changes.set(path, { ...node, text: lines.join('\n') });
  }
  if (r() < 0.3)
    changes.set(`${pick(r, TOP_DIRS)}/new-in-${tag}.conf`, {
      text: configText(r, 300),
      mode: 0o644,
      uid: 0,
      gid: 0,
    });
  for (const [path, node] of changes) etc.set(path, node);
  return changes;
}

/** What a user and package hooks do to a deployment's /etc: every kind of change config-diff knows. */
export function localEdits(
  etc: EtcMap,
  count: number,
  seed: number,
  avoid: ReadonlySet<string> = new Set(),
): Record<string, FileSpec> {
  const r = rng(seed);
  const paths = [...etc.keys()].filter((p) => !avoid.has(p));
  const edits: Record<string, FileSpec> = {};
  let made = 0;
  while (made < count) {
    const path = pick(r, paths);
    if (path in edits) continue;
    const node = etc.get(path) as EtcNode;
    const kind = r();
    made++;
    if ('symlink' in node) {
      edits[path] = kind < 0.5 ? { symlink: `${node.symlink}.local` } : null;
      continue;
    }
    const dir = path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '';
    const under = (name: string): string => (dir ? `${dir}/${name}` : name);
    if (kind < 0.25) {
      // Same size, one byte different: only a content comparison can see it.
      const at = Math.floor(node.text.length / 2);
      const ch = node.text[at] === 'x' ? 'y' : 'x';
      const content = node.text.slice(0, at) + ch + node.text.slice(at + 1);
      edits[path] = { content, mode: node.mode, uid: node.uid, gid: node.gid };
    } else if (kind < 0.5) {
      edits[path] = {
        content: `${node.text}# local change ${made}\n`,
        mode: node.mode,
        uid: node.uid,
        gid: node.gid,
      };
    } else if (kind < 0.6) edits[path] = { content: node.text, mode: 0o600, uid: node.uid, gid: node.gid };
    else if (kind < 0.65) edits[path] = { content: node.text, mode: node.mode, uid: 1000, gid: 1000 };
    else if (kind < 0.75) edits[path] = null;
    else if (kind < 0.92) edits[under(`local-${made}.conf`)] = `# added by the admin\nsetting = ${made}\n`;
    else {
      const added = under(`local-${made}.d`);
      for (let i = 0; i < 3; i++) edits[`${added}/part-${i}.conf`] = `part ${i} of ${made}\n`;
    }
  }
  return edits;
}

// ---------------------------------------------------------------------------------------------------
// Package lists

const STEMS = [
  'lib',
  'python3-',
  'gir1.2-',
  'fonts-',
  'gnome-',
  'x11-',
  'perl-',
  'node-',
  'golang-',
  'ruby-',
];
const PKG_WORDS = ['gtk', 'glib', 'xml', 'ssl', 'curl', 'z', 'png', 'jpeg', 'pango', 'cairo', 'dbus', 'nss'];

function version(r: () => number): string {
  const epoch = r() < 0.05 ? `${int(r, 1, 3)}:` : '';
  const pre = r() < 0.05 ? `~rc${int(r, 1, 4)}` : '';
  const deb = r() < 0.2 ? `+deb12u${int(r, 1, 5)}` : '';
  return `${epoch}${int(r, 0, 40)}.${int(r, 0, 30)}.${int(r, 0, 12)}${pre}-${int(r, 1, 6)}${deb}`;
}

export function buildPackages(count: number, seed: number): PackageEntry[] {
  const r = rng(seed);
  const out: PackageEntry[] = [];
  for (let i = 0; out.length < count; i++) {
    const name = `${pick(r, STEMS)}${pick(r, PKG_WORDS)}${i}`;
    const arch = r() < 0.2 ? 'all' : 'amd64';
    out.push({ name, version: version(r), arch });
    // A few multiarch pairs, as on a desktop with 32-bit libraries.
    if (arch === 'amd64' && r() < 0.01 && out.length < count)
      out.push({ name, version: version(r), arch: 'i386' });
  }
  return out;
}

/** An image update's package changes: mostly upgrades, a few additions and removals, now and then a downgrade. */
function updatePackages(list: PackageEntry[], r: () => number, changes: number, tag: string): PackageEntry[] {
  const next = list.map((p) => ({ ...p }));
  for (let i = 0; i < changes; i++) {
    const p = pick(r, next);
    p.version = r() < 0.05 ? `0.${int(r, 0, 9)}-1` : `${p.version.replace(/\+bench\d+$/, '')}+bench${tag}`;
  }
  const removed = int(r, 0, Math.ceil(changes / 20));
  for (let i = 0; i < removed; i++) next.splice(Math.floor(r() * next.length), 1);
  const added = int(r, 0, Math.ceil(changes / 10));
  for (let i = 0; i < added; i++) next.push({ name: `new-${tag}-${i}`, version: version(r), arch: 'amd64' });
  return next;
}

// ---------------------------------------------------------------------------------------------------
// Building

function timestamp(day: number): string {
  return new Date(Date.UTC(2025, 0, 1) + day * 86_400_000).toISOString().replace('.000Z', 'Z');
}

function newSysroot(root: string): SysrootFixture {
  const fx = createSysroot(root, { stateroot: 'debian', ref: 'debian/bookworm/bench' });
  // Reads are what is measured; skipping fsync only speeds up building.
  runSyncChecked(requireProgram('ostree', 'ostree-missing'), [
    'config',
    `--repo=${fx.repo}`,
    'set',
    'core.fsync',
    'false',
  ]);
  return fx;
}

/**
 * A cheap history commit: the parent's tree with a small overlay (the new package database, the
 * changed /etc files), as an image pipeline's incremental compose produces. Generating 20,000 files
 * 200 times would take most of an hour and measure nothing more.
 */
function overlayCommit(
  fx: SysrootFixture,
  parent: string,
  overlay: { version: string; day: number; packages: PackageEntry[]; etc: Map<string, EtcNode> },
): string {
  const dir = mkdtempSync(join(fx.root, 'overlay-'));
  try {
    writeSpec(join(dir, DPKG_STATUS_PATH), dpkgStatusText(overlay.packages));
    writeSpec(
      join(dir, 'usr/lib/os-release'),
      `ID=debian\nNAME="Debian GNU/Linux"\nPRETTY_NAME="Debian GNU/Linux (Hindsight ${overlay.version})"\nVERSION_ID=${overlay.version}\n`,
    );
    for (const [path, node] of overlay.etc) writeSpec(join(dir, 'usr/etc', path), toSpec(node));
    const out = runSyncChecked(requireProgram('ostree', 'ostree-missing'), [
      'commit',
      `--repo=${fx.repo}`,
      `--branch=${fx.ref}`,
      `--subject=Hindsight bench image ${overlay.version}`,
      `--add-metadata-string=version=${overlay.version}`,
      `--timestamp=${timestamp(overlay.day)}`,
      `--tree=ref=${parent}`,
      `--tree=dir=${dir}`,
    ]);
    const checksum = out.toString('utf8').trim();
    fx.commits.push(checksum);
    return checksum;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * `ostree admin deploy` without the repository prune that normally follows, so the commits between
 * deployments stay: the stress history is 200 commits, not the 10 a pruned repository keeps.
 */
function deployKeepingHistory(fx: SysrootFixture): void {
  runSyncChecked(requireProgram('ostree', 'ostree-missing'), [
    'admin',
    'deploy',
    `--sysroot=${fx.sysroot}`,
    `--os=${fx.stateroot}`,
    '--retain',
    '--no-prune',
    fx.ref,
  ]);
}

function applyEdits(fx: SysrootFixture, etc: EtcMap, edits: Record<string, FileSpec>): void {
  editEtc(fx, 0, edits);
  // What the deployment's /etc now holds, so later edits start from it.
  for (const path of Object.keys(edits)) {
    if (edits[path] === null) etc.delete(path);
  }
}

interface Built {
  fx: SysrootFixture;
  etcFiles: number;
  localEdits: number;
  packages: number;
  deployments: number;
}

/** Desktop: 3 deployments, ~3,000 packages, ~2,500 files in /etc, ~100 local edits. */
function buildDesktop(root: string): Built {
  const fx = newSysroot(root);
  const r = rng(11);
  const etc = buildEtc(2500, 12);
  let packages = buildPackages(3000, 13);
  const image = (v: number) => ({
    version: `12.${v}`,
    subject: `Hindsight bench desktop 12.${v}`,
    timestamp: timestamp(v * 30),
    kernel: `6.1.0-${20 + v}-amd64`,
    dpkg: packages,
    etc: etcSpec(etc),
  });
  commitTree(fx, image(1));
  deploy(fx);
  const first = localEdits(etc, 50, 14);
  applyEdits(fx, etc, first);
  for (const v of [2, 3]) {
    upstreamEtcChanges(etc, r, 30, `v${v}`);
    packages = updatePackages(packages, r, 60, `${v}`);
    commitTree(fx, image(v));
    deploy(fx);
  }
  applyEdits(fx, etc, localEdits(etc, 50, 15, new Set(Object.keys(first))));
  return { fx, etcFiles: 2500, localEdits: 100, packages: packages.length, deployments: 3 };
}

/** Stress: 200 commits of history, 10 deployments, 20,000 files in /etc, 400 local edits, 6,000 packages. */
function buildStress(root: string, log: (line: string) => void): Built {
  const fx = newSysroot(root);
  const r = rng(21);
  const etc = buildEtc(20000, 22);
  let packages = buildPackages(6000, 23);
  let head = commitTree(fx, {
    version: '1',
    subject: 'Hindsight bench stress 1',
    timestamp: timestamp(0),
    kernel: '6.1.0-20-amd64',
    dpkg: packages,
    etc: etcSpec(etc),
  });
  let first: Record<string, FileSpec> = {};
  for (let n = 2; n <= 200; n++) {
    const changed = upstreamEtcChanges(etc, r, 5, `c${n}`);
    packages = updatePackages(packages, r, 12, `${n}`);
    head = overlayCommit(fx, head, { version: `${n}`, day: n, packages, etc: changed });
    if (n % 20 === 0) {
      deployKeepingHistory(fx);
      log(`  stress: commit ${n}/200, deployment ${n / 20}/10`);
    }
    if (n === 100) {
      first = localEdits(etc, 200, 24);
      applyEdits(fx, etc, first);
    }
  }
  applyEdits(fx, etc, localEdits(etc, 200, 25, new Set(Object.keys(first))));
  return { fx, etcFiles: etc.size, localEdits: 400, packages: packages.length, deployments: 10 };
}

export const GROWTH_SIZES = [2500, 5000, 10000, 20000] as const;

/** One deployment with N files in /etc and 2% of them edited, for the growth curve. */
function buildGrowth(root: string, files: number): Built {
  const fx = newSysroot(root);
  const etc = buildEtc(files, 31);
  commitTree(fx, {
    version: `${files}`,
    timestamp: timestamp(1),
    dpkg: buildPackages(100, 32),
    etc: etcSpec(etc),
  });
  deploy(fx);
  const edits = files / 50;
  applyEdits(fx, etc, localEdits(etc, edits, 33));
  return { fx, etcFiles: files, localEdits: edits, packages: 100, deployments: 1 };
}

export type FixtureName = 'desktop' | 'stress' | `growth-${number}`;

function builderFor(name: FixtureName, log: (line: string) => void): (root: string) => Built {
  if (name === 'desktop') return buildDesktop;
  if (name === 'stress') return (root) => buildStress(root, log);
  const files = Number(name.slice('growth-'.length));
  return (root) => buildGrowth(root, files);
}

const MARKER = 'bench-fixture.json';

/** The fixture, built now or reused from bench/fixtures/ when the builder has not changed. */
export function ensureFixture(name: FixtureName, hash: string, log: (line: string) => void): BenchFixture {
  mkdirSync(FIXTURES_DIR, { recursive: true });
  const root = join(FIXTURES_DIR, `${name}-${hash}`);
  const marker = join(root, MARKER);
  if (existsSync(marker)) return JSON.parse(readFileSync(marker, 'utf8')) as BenchFixture;
  // Stale builds of this fixture (another hash, or an interrupted build) go first.
  for (const entry of readdirSync(FIXTURES_DIR)) {
    if (entry.startsWith(`${name}-`) && /^[0-9a-f]{12}$/.test(entry.slice(name.length + 1))) {
      removeFixture(join(FIXTURES_DIR, entry));
    }
  }
  mkdirSync(root, { recursive: true });
  log(`building fixture ${name}…`);
  const started = performance.now();
  const built = builderFor(name, log)(root);
  const info: BenchFixture = {
    name,
    root,
    sysroot: built.fx.sysroot,
    stateroot: built.fx.stateroot,
    ref: built.fx.ref,
    commits: built.fx.commits.length,
    deployments: built.deployments,
    etcFiles: built.etcFiles,
    localEdits: built.localEdits,
    packages: built.packages,
    buildSeconds: Math.round((performance.now() - started) / 100) / 10,
  };
  writeFileSync(marker, `${JSON.stringify(info, null, 2)}\n`);
  log(`  ${name} built in ${info.buildSeconds} s`);
  return info;
}
