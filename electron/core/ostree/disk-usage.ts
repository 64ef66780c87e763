import {
  type BigIntStats,
  lstatSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  statfsSync,
  statSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import type {
  DeploymentDiskUsage,
  DiskUsageReport,
  FilesystemSpace,
  StatusReport,
} from '../../../shared/types.ts';
import { parseGVariant } from './gvariant.ts';
import { deploymentPath, repoPath } from './sysroot.ts';

/**
 * What each deployment costs on disk and what removing it frees, read from the files themselves.
 *
 * A bare repository's checkouts hardlink its file objects, so one inode is the repository object and
 * every deployment's copy of that file at once. Each deployment tree is walked once (lstat, never
 * following links, never leaving its filesystem) and every inode remembers which deployments hold it:
 * what only one deployment holds is its own, as `du` counts it when that tree is listed last.
 *
 * Whether removal frees those bytes is a second question: `ostree admin undeploy` prunes the
 * repository (sysroot cleanup, refs only, commit depth 0), which keeps every object a ref's commit
 * still reaches. So the refs' trees are read from their dirtree objects and what they reach is
 * marked kept; the deployment's own metadata objects (commit, dirtree, dirmeta) go with it.
 */

export type { DeploymentDiskUsage, DiskUsageReport, FilesystemSpace };

export const DISK_USAGE_NOTE =
  'Freed bytes count inodes only this deployment holds and no ref keeps in the repository: its folder ' +
  '(with its /etc copy), .origin, loader entry, boot link and deployment ref, its kernel folder in /boot ' +
  'unless another deployment boots the same one, and repository metadata (commit, dirtree, dirmeta) ' +
  'only its commit reaches. Not counted: the stateroot /var (shared by its deployments, never removed), ' +
  'objects nothing reached before the removal (any prune frees those), and files of its commit the ' +
  'checkout copied instead of hardlinking (a repository on another filesystem than the deployments).';

/** Where an inode was met. */
const TREE = 0;
/** Under /boot: the kernel folder, the loader entry. */
const BOOT = 1;
const META = 2;
/** The deployment's bookkeeping in the sysroot: .origin, boot link, deployment ref. */
const OWN = 3;

interface Inode {
  blocks: number;
  size: number;
  /** The one deployment holding it, -1 for none yet. */
  owner: number;
  /** Held by more than one deployment. */
  shared: boolean;
  /** Same, counting deployment folders only (du's view of the trees). */
  treeOwner: number;
  treeShared: boolean;
  /** A ref's commit reaches it, so pruning keeps it. */
  kept: boolean;
  inBoot: boolean;
  /** Also linked outside /boot: a kernel ostree hardlinked from the deployment when /boot is not separate. */
  outsideBoot: boolean;
}

const MAX_PROBLEMS = 50;
const DEPLOY_DIR = /^([0-9a-f]{64})\.(\d+)$/;
const DEPLOYMENT_REF = /^ostree\/\d+\/\d+\/\d+$/;

class Tally {
  readonly inodes = new Map<string, Inode>();
  readonly problems: string[] = [];
  private dropped = 0;

  problem(text: string): void {
    if (this.problems.length < MAX_PROBLEMS) this.problems.push(text);
    else this.dropped++;
  }

  finishProblems(): string[] {
    return this.dropped ? [...this.problems, `…and ${this.dropped} more`] : this.problems;
  }

  hold(key: string, st: BigIntStats, holder: number, where: number): void {
    let inode = this.inodes.get(key);
    if (!inode) {
      inode = {
        blocks: Number(st.blocks) * 512,
        size: Number(st.size),
        owner: -1,
        shared: false,
        treeOwner: -1,
        treeShared: false,
        kept: false,
        inBoot: false,
        outsideBoot: false,
      };
      this.inodes.set(key, inode);
    }
    if (inode.owner === -1) inode.owner = holder;
    else if (inode.owner !== holder) inode.shared = true;
    if (where === TREE) {
      if (inode.treeOwner === -1) inode.treeOwner = holder;
      else if (inode.treeOwner !== holder) inode.treeShared = true;
    }
    if (where === BOOT) inode.inBoot = true;
    else inode.outsideBoot = true;
  }
}

const inodeKey = (st: BigIntStats): string => `${st.dev}:${st.ino}`;

function errorText(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  return e.code ?? String(e.message ?? error).split('\n')[0] ?? 'error';
}

/**
 * Walks a folder without following links or crossing into other filesystems (a booted deployment's
 * /sysroot and /boot mount points are plain empty folders in its own tree), handing every entry,
 * the folder itself included, to `visit`. Returns the number of entries seen.
 */
function walk(root: string, tally: Tally, visit: (st: BigIntStats) => void): number {
  let top: BigIntStats;
  try {
    top = lstatSync(root, { bigint: true });
  } catch (error) {
    tally.problem(`cannot read ${root}: ${errorText(error)}`);
    return 0;
  }
  visit(top);
  if (!top.isDirectory()) return 1;
  let count = 1;
  const stack = [root];
  while (stack.length) {
    const dir = stack.pop() as string;
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch (error) {
      tally.problem(`cannot list ${dir}: ${errorText(error)}`);
      continue;
    }
    for (const name of names) {
      const path = join(dir, name);
      let st: BigIntStats;
      try {
        st = lstatSync(path, { bigint: true });
      } catch (error) {
        tally.problem(`cannot read ${path}: ${errorText(error)}`);
        continue;
      }
      if (st.dev !== top.dev) continue;
      count++;
      visit(st);
      if (st.isDirectory()) stack.push(path);
    }
  }
  return count;
}

interface OnDisk {
  stateroot: string;
  checksum: string;
  serial: number;
  path: string;
}

/**
 * Every deployment folder on disk, of every stateroot: a deployment of another stateroot shares
 * objects too, though the report lists one stateroot only.
 */
function deploymentsOnDisk(sysroot: string, tally: Tally): OnDisk[] {
  const out: OnDisk[] = [];
  const deployRoot = join(sysroot, 'ostree', 'deploy');
  let roots: string[];
  try {
    roots = readdirSync(deployRoot);
  } catch (error) {
    tally.problem(`cannot list ${deployRoot}: ${errorText(error)}`);
    return out;
  }
  for (const stateroot of roots.sort()) {
    const dir = join(deployRoot, stateroot, 'deploy');
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        tally.problem(`cannot list ${dir}: ${errorText(error)}`);
      }
      continue;
    }
    for (const name of names.sort()) {
      const m = DEPLOY_DIR.exec(name);
      if (m) {
        out.push({ stateroot, checksum: m[1] as string, serial: Number(m[2]), path: join(dir, name) });
      }
    }
  }
  return out;
}

interface BootLayout {
  /** Keyed `stateroot/checksum.serial`: its boot checksum and the `ostree/boot.N.M/OS/BOOTCSUM/SERIAL` link. */
  links: Map<string, { bootcsum: string; link: string }>;
  /** `boot.N.M` as the current `ostree/boot.N` link names it, for the deployment refs `ostree/N/M/INDEX`. */
  version: { boot: string; subboot: string } | null;
  /** Loader entry files by the deployment they boot. */
  entries: Map<string, string>;
}

/**
 * Where each deployment's boot files are: the current `ostree/boot.N` (N from the `boot/loader`
 * link) holds `OS/BOOTCSUM/SERIAL` links to the deployment folders, and each loader entry names one
 * of those links in its `ostree=` argument.
 */
function bootLayout(sysroot: string, tally: Tally): BootLayout {
  const layout: BootLayout = { links: new Map(), version: null, entries: new Map() };
  let bootversion = '0';
  try {
    bootversion = /^loader\.(\d+)$/.exec(readlinkSync(join(sysroot, 'boot', 'loader')))?.[1] ?? '0';
  } catch {
    // no loader link yet: bootversion 0, as libostree reads it
  }
  const bootDir = join(sysroot, 'ostree', `boot.${bootversion}`);
  try {
    const m = /^boot\.(\d+)\.(\d+)$/.exec(readlinkSync(bootDir));
    if (m) layout.version = { boot: m[1] as string, subboot: m[2] as string };
  } catch {
    // no deployment yet
  }
  const list = (dir: string): string[] => {
    try {
      return readdirSync(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        tally.problem(`cannot list ${dir}: ${errorText(error)}`);
      }
      return [];
    }
  };
  const target = (link: string): string | null => {
    try {
      const name = basename(readlinkSync(link));
      return DEPLOY_DIR.test(name) ? name : null;
    } catch {
      return null;
    }
  };
  for (const stateroot of list(bootDir)) {
    for (const bootcsum of list(join(bootDir, stateroot))) {
      for (const serial of list(join(bootDir, stateroot, bootcsum))) {
        const link = join(bootDir, stateroot, bootcsum, serial);
        const name = target(link);
        if (name) layout.links.set(`${stateroot}/${name}`, { bootcsum, link });
      }
    }
  }
  const entriesDir = join(sysroot, 'boot', 'loader', 'entries');
  for (const file of list(entriesDir).filter((n) => n.endsWith('.conf'))) {
    try {
      const text = readFileSync(join(entriesDir, file), 'utf8');
      const m = /^options\s+(?:.*\s)?ostree=(\/ostree\/boot\.\d+\/([^/\s]+)\/[^/\s]+\/\d+)(?:\s|$)/m.exec(
        text,
      );
      const name = m ? target(join(sysroot, m[1] as string)) : null;
      if (m && name) layout.entries.set(`${m[2]}/${name}`, join(entriesDir, file));
    } catch (error) {
      tally.problem(`cannot read ${join(entriesDir, file)}: ${errorText(error)}`);
    }
  }
  return layout;
}

const objectPath = (repo: string, checksum: string, kind: string): string =>
  join(repo, 'objects', checksum.slice(0, 2), `${checksum.slice(2)}.${kind}`);

/** A commit's root dirtree and dirmeta checksums (hex), or null when the commit is not there. */
function commitRoot(repo: string, checksum: string): { tree: string; meta: string } | null {
  let bytes: Buffer;
  try {
    bytes = readFileSync(objectPath(repo, checksum, 'commit'));
  } catch {
    return null;
  }
  const fields = parseGVariant('(a{sv}aya(say)sstayay)', bytes) as unknown[];
  const tree = fields[6] as Buffer;
  const meta = fields[7] as Buffer;
  return { tree: tree.toString('hex'), meta: meta.toString('hex') };
}

interface DirTree {
  files: string[];
  dirs: { tree: string; meta: string }[];
}

/**
 * Reads commits' trees from their dirtree objects. Content-addressed objects never change, so each
 * dirtree is parsed once for every commit that reaches it.
 */
class TreeReader {
  private readonly trees = new Map<string, DirTree | null>();
  constructor(
    private readonly repo: string,
    private readonly tally: Tally,
  ) {}

  dirtree(checksum: string): DirTree | null {
    const known = this.trees.get(checksum);
    if (known !== undefined) return known;
    let tree: DirTree | null = null;
    try {
      const [files, dirs] = parseGVariant(
        '(a(say)a(sayay))',
        readFileSync(objectPath(this.repo, checksum, 'dirtree')),
      ) as [[string, Buffer][], [string, Buffer, Buffer][]];
      tree = {
        files: files.map(([, csum]) => csum.toString('hex')),
        dirs: dirs.map(([, t, m]) => ({ tree: t.toString('hex'), meta: m.toString('hex') })),
      };
    } catch (error) {
      // A partial commit (pulled metadata only) lacks subtrees; that is not worth a problem line.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.tally.problem(`cannot read dirtree ${checksum.slice(0, 10)}: ${errorText(error)}`);
      }
    }
    this.trees.set(checksum, tree);
    return tree;
  }

  /**
   * Visits a commit's metadata objects (commit, commitmeta, every dirtree and dirmeta) by path, and
   * with `files`, its file objects. `seen` spans calls, so a subtree met before is skipped.
   */
  visit(
    commit: string,
    seen: Set<string>,
    metadata: (path: string) => void,
    files?: (path: string) => void,
  ): boolean {
    const root = commitRoot(this.repo, commit);
    if (!root) return false;
    metadata(objectPath(this.repo, commit, 'commit'));
    metadata(objectPath(this.repo, commit, 'commitmeta'));
    const stack = [root];
    while (stack.length) {
      const { tree, meta } = stack.pop() as { tree: string; meta: string };
      if (!seen.has(`m${meta}`)) {
        seen.add(`m${meta}`);
        metadata(objectPath(this.repo, meta, 'dirmeta'));
      }
      if (seen.has(`t${tree}`)) continue;
      seen.add(`t${tree}`);
      metadata(objectPath(this.repo, tree, 'dirtree'));
      const dt = this.dirtree(tree);
      if (!dt) continue;
      if (files) for (const f of dt.files) files(objectPath(this.repo, f, 'file'));
      stack.push(...dt.dirs);
    }
    return true;
  }
}

/** Every commit a ref points at, deployment refs (`ostree/B/S/N`) aside: those go with their deployment. */
function refCommits(repo: string, tally: Tally): Set<string> {
  const out = new Set<string>();
  const read = (dir: string, name: string, depth: number): void => {
    if (depth > 64) return;
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        tally.problem(`cannot list ${dir}: ${errorText(error)}`);
      }
      return;
    }
    for (const entry of entries) {
      if (entry.startsWith('.')) continue;
      const path = join(dir, entry);
      const refName = name ? `${name}/${entry}` : entry;
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EISDIR') read(path, refName, depth + 1);
        continue;
      }
      const checksum = text.trim();
      if (/^[0-9a-f]{64}$/.test(checksum) && !DEPLOYMENT_REF.test(refName)) out.add(checksum);
    }
  };
  read(join(repo, 'refs', 'heads'), '', 0);
  // Remote and mirror refs are named after their remote or collection: never deployment refs.
  read(join(repo, 'refs', 'remotes'), 'remotes', 0);
  read(join(repo, 'refs', 'mirrors'), 'mirrors', 0);
  return out;
}

function space(path: string, tally: Tally): FilesystemSpace | null {
  try {
    const s = statfsSync(path);
    return { path, total: s.blocks * s.bsize, free: s.bavail * s.bsize };
  } catch (error) {
    tally.problem(`cannot read free space of ${path}: ${errorText(error)}`);
    return null;
  }
}

/** Follows links: /boot may be a link on some systems, and the filesystem behind it is what counts. */
function statOrNull(path: string): BigIntStats | null {
  try {
    return statSync(path, { bigint: true });
  } catch {
    return null;
  }
}

function lstatOrNull(path: string): BigIntStats | null {
  try {
    return lstatSync(path, { bigint: true });
  } catch {
    return null;
  }
}

/**
 * Each listed deployment's own bytes and what removing it frees, with the space of the filesystems
 * holding the sysroot and /boot. Unreadable folders are reported in `problems` and counted as empty.
 * Synchronous: about a second per 100k files on a warm cache, so call it off the UI thread.
 */
export function diskUsage(report: StatusReport): DiskUsageReport {
  const started = performance.now();
  const tally = new Tally();
  const sysroot = report.sysroot;
  const repo = repoPath(sysroot);

  // The listed deployments first, keyed as the folders on disk are, then every other folder on disk.
  const keyOf = (d: { stateroot: string; checksum: string; serial: number }): string =>
    `${d.stateroot}/${d.checksum}.${d.serial}`;
  const holders: OnDisk[] = report.deployments.map((d) => ({
    stateroot: d.stateroot,
    checksum: d.checksum,
    serial: d.serial,
    path: deploymentPath(sysroot, d),
  }));
  const listed = new Set(holders.map(keyOf));
  for (const d of deploymentsOnDisk(sysroot, tally)) if (!listed.has(keyOf(d))) holders.push(d);

  // On a booted system ostree/ is reached through a link (/ostree → /sysroot/ostree).
  const entries = holders.map((d, i) => {
    let path = d.path;
    try {
      path = realpathSync(d.path);
    } catch {
      // walk reports it
    }
    return walk(path, tally, (st) => tally.hold(inodeKey(st), st, i, TREE));
  });
  // Kernel folders: held by every deployment booting them.
  const boot = bootLayout(sysroot, tally);
  const bootFolders = new Map<string, number[]>();
  const bootcsumDirs = new Map<string, number[]>();
  const holdFile = (path: string, i: number, where: number): void => {
    const st = lstatOrNull(path);
    if (st) tally.hold(inodeKey(st), st, i, where);
  };
  holders.forEach((d, i) => {
    // The bookkeeping undeploy drops with it: .origin, loader entry, boot link, deployment ref.
    holdFile(`${d.path}.origin`, i, OWN);
    const entry = boot.entries.get(keyOf(d));
    if (entry) holdFile(entry, i, BOOT);
    const link = boot.links.get(keyOf(d));
    if (!link) return;
    holdFile(link.link, i, OWN);
    const csumDir = join(link.link, '..');
    bootcsumDirs.set(csumDir, [...(bootcsumDirs.get(csumDir) ?? []), i]);
    const folder = join(sysroot, 'boot', 'ostree', `${d.stateroot}-${link.bootcsum}`);
    bootFolders.set(folder, [...(bootFolders.get(folder) ?? []), i]);
  });
  for (const [dir, users] of bootcsumDirs) for (const i of users) holdFile(dir, i, OWN);
  if (boot.version) {
    const { boot: b, subboot: s } = boot.version;
    report.deployments.forEach((d, i) => {
      const ref = join(repo, 'refs', 'heads', 'ostree', b, s, String(d.index));
      try {
        if (readFileSync(ref, 'utf8').trim() === d.checksum) holdFile(ref, i, OWN);
      } catch {
        // a staged deployment has no ref yet
      }
    });
  }
  const bootBytes = new Map<string, number>();
  for (const [folder, users] of bootFolders) {
    const seen = new Set<string>();
    let bytes = 0;
    walk(folder, tally, (st) => {
      const key = inodeKey(st);
      for (const i of users) tally.hold(key, st, i, BOOT);
      if (!seen.has(key)) {
        seen.add(key);
        bytes += Number(st.blocks) * 512;
      }
    });
    bootBytes.set(folder, bytes);
  }

  // Repository metadata by the deployments whose commits reach it.
  const reader = new TreeReader(repo, tally);
  holders.forEach((d, i) => {
    const found = reader.visit(d.checksum, new Set(), (path) => {
      const st = lstatOrNull(path);
      if (st) tally.hold(path, st, i, META);
    });
    if (!found) tally.problem(`commit ${d.checksum.slice(0, 10)} of ${keyOf(d)} is not in the repository`);
  });

  // What the refs keep through a prune: their commits' metadata and file objects.
  const keptSeen = new Set<string>();
  const keep = (key: string): void => {
    const inode = tally.inodes.get(key);
    if (inode) inode.kept = true;
  };
  for (const commit of refCommits(repo, tally)) {
    reader.visit(
      commit,
      keptSeen,
      (path) => keep(path),
      (path) => {
        const st = lstatOrNull(path);
        if (st) keep(inodeKey(st));
      },
    );
  }

  const deployments: DeploymentDiskUsage[] = report.deployments.map((d, i) => {
    const own = { uniqueBytes: 0, apparentUniqueBytes: 0, freedByRemoval: 0, freedInBoot: 0 };
    for (const inode of tally.inodes.values()) {
      if (inode.treeOwner === i && !inode.treeShared) {
        own.uniqueBytes += inode.blocks;
        own.apparentUniqueBytes += inode.size;
      }
      if (inode.owner === i && !inode.shared && !inode.kept) {
        own.freedByRemoval += inode.blocks;
        if (inode.inBoot && !inode.outsideBoot) own.freedInBoot += inode.blocks;
      }
    }
    const bootcsum = boot.links.get(keyOf(d))?.bootcsum;
    const bootPath = bootcsum ? join(sysroot, 'boot', 'ostree', `${d.stateroot}-${bootcsum}`) : null;
    return {
      stateroot: d.stateroot,
      checksum: d.checksum,
      serial: d.serial,
      index: d.index,
      ...own,
      bootBytes: bootPath ? (bootBytes.get(bootPath) ?? 0) : 0,
      bootShared: bootPath ? (bootFolders.get(bootPath)?.length ?? 0) > 1 : false,
      bootPath,
      entries: entries[i] ?? 0,
    };
  });

  const sysrootSpace = space(sysroot, tally);
  const bootDir = join(sysroot, 'boot');
  const bootSpace = space(bootDir, tally);
  const sysrootDev = statOrNull(sysroot)?.dev;
  const bootDev = statOrNull(bootDir)?.dev;
  return {
    deployments,
    sysroot: sysrootSpace,
    boot: bootSpace
      ? { ...bootSpace, sameFilesystemAsSysroot: bootDev !== undefined && bootDev === sysrootDev }
      : null,
    problems: tally.finishProblems(),
    note: DISK_USAGE_NOTE,
    elapsedMs: Math.round(performance.now() - started),
  };
}
