import {
  existsSync,
  lstatSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  statSync,
} from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { HindsightError } from '../../../shared/errors.ts';
import type { Deployment, StatusReport } from '../../../shared/types.ts';
import { settled } from '../file-state.ts';
import { readCommitObject } from './commit-object.ts';
import { type GVariantValue, parseGVariant } from './gvariant.ts';
import { keyfileValue, parseKeyfile } from './keyfile.ts';
import { describeOrigin, type OriginFacts } from './origin.ts';
import { knownStatusJson, ostree, statusJsonSupported } from './ostree-cli.ts';

export interface SysrootOptions {
  /** The sysroot folder: `/` on a booted system, any folder in tests. */
  sysroot: string;
  /** The stateroot (`--os`); default: the booted one, else the only one, else the default deployment's. */
  stateroot?: string;
  /** Where a fresh process finds the listing an earlier one took (the CLI passes the app cache). */
  store?: DeploymentListStore;
}

/** Keeps `ostree admin status` listings across processes, each with the signature it was taken under. */
export interface DeploymentListStore {
  getDeploymentList(sysroot: string): { signature: string; listing: string } | undefined;
  putDeploymentList(sysroot: string, signature: string, listing: string): void;
}

/** A listed deployment before it is enriched from the disk. */
interface ListedDeployment {
  index: number;
  stateroot: string;
  checksum: string;
  serial: number;
  booted: boolean;
  staged: boolean;
  pinned: boolean;
}

/** Exists on a booted system while a staged deployment waits for shutdown (an a{sv} GVariant). */
export const STAGED_DEPLOYMENT_FILE = '/run/ostree/staged-deployment';

export const repoPath = (sysroot: string): string => join(sysroot, 'ostree', 'repo');

export function deploymentPath(
  sysroot: string,
  d: Pick<Deployment, 'stateroot' | 'checksum' | 'serial'>,
): string {
  return join(sysroot, 'ostree', 'deploy', d.stateroot, 'deploy', `${d.checksum}.${d.serial}`);
}

/** Fails early, in words, when a folder is not an OSTree sysroot. */
export function assertSysroot(sysroot: string): string {
  const root = resolve(sysroot);
  let isDir = false;
  try {
    isDir = statSync(root).isDirectory();
  } catch {
    throw new HindsightError('not-a-sysroot', `${root} does not exist`);
  }
  if (!isDir) throw new HindsightError('not-a-sysroot', `${root} is not a folder`);
  if (!existsSync(join(root, 'ostree', 'repo', 'config')) || !existsSync(join(root, 'ostree', 'deploy'))) {
    throw new HindsightError(
      'not-a-sysroot',
      `${root} is not an OSTree sysroot (no ostree/repo and ostree/deploy)`,
    );
  }
  return root;
}

/**
 * The uid that owns a sysroot's `ostree` folder (null when unreadable). A sysroot a user owns (the
 * demo the app builds in their home) is read and changed as that user, without root.
 */
export function sysrootOwner(sysroot: string): number | null {
  try {
    return statSync(join(sysroot, 'ostree')).uid;
  } catch {
    return null;
  }
}

/** Whether changing this sysroot needs root: not when the caller (not root) owns it. */
export function changesNeedRoot(sysroot: string, uid = process.getuid?.() ?? 0): boolean {
  return uid === 0 || sysrootOwner(sysroot) !== uid;
}

export function listStaterooots(sysroot: string): string[] {
  try {
    return readdirSync(join(sysroot, 'ostree', 'deploy'), { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
  } catch {
    return [];
  }
}

/** Whether the running system was booted from this sysroot. */
export function isBootedSystem(sysroot: string): boolean {
  return resolve(sysroot) === '/' && existsSync('/run/ostree-booted');
}

const STATUS_LINE = /^([* ]) (\S+) ([0-9a-f]{64})\.(\d+)((?: \([^)]*\))*)\s*$/;

/** Parses the text `ostree admin status` prints (every ostree has it; JSON arrived in 2025.3). */
export function parseStatusText(text: string): ListedDeployment[] {
  const out: ListedDeployment[] = [];
  for (const line of text.split('\n')) {
    const m = STATUS_LINE.exec(line);
    if (m) {
      const markers = m[5] ?? '';
      out.push({
        index: out.length,
        stateroot: m[2] as string,
        checksum: m[3] as string,
        serial: Number(m[4]),
        booted: m[1] === '*',
        staged: markers.includes('(staged)'),
        pinned: false,
      });
      continue;
    }
    const last = out[out.length - 1];
    if (last && /^\s+Pinned: yes\s*$/.test(line)) last.pinned = true;
  }
  return out;
}

function parseStatusJson(text: string): ListedDeployment[] {
  const parsed = JSON.parse(text) as { deployments?: Record<string, unknown>[] };
  return (parsed.deployments ?? []).map((d, index) => ({
    index,
    stateroot: String(d.osname ?? d.stateroot ?? ''),
    checksum: String(d.checksum ?? ''),
    serial: Number(d.serial ?? d.deployserial ?? 0),
    booted: d.booted === true,
    staged: d.staged === true,
    pinned: d.pinned === true,
  }));
}

/** A path's state for a signature: null while it is too fresh to vouch for anything (file-state.ts). */
function stamp(path: string, now: number): string | null {
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (!st) return 'none';
  if (!settled(st, now)) return null;
  return `${st.ino}:${st.mtimeMs}:${st.ctimeMs}`;
}

/**
 * What says the deployment list may have changed. libostree bumps the mtime of ostree/deploy on every
 * change it makes to the sysroot (its own load_if_changed trusts that alone); a boot loader swap, a
 * staged deployment and a reboot are added for changes made behind its back. Null when something
 * changed too recently to be told apart from a change still to come.
 */
export function deploymentListSignature(sysroot: string): string | null {
  const now = Date.now();
  const parts: (string | null)[] = [stamp(join(sysroot, 'ostree', 'deploy'), now)];
  const loader = join(sysroot, 'boot', 'loader');
  let loaderTarget = 'none';
  try {
    loaderTarget = readlinkSync(loader);
  } catch {
    // no boot loader link yet: bootversion 0, as libostree reads it
  }
  parts.push(loaderTarget, stamp(join(loader, 'entries'), now));
  if (isBootedSystem(sysroot)) {
    parts.push(stamp(STAGED_DEPLOYMENT_FILE, now));
    try {
      parts.push(readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim());
    } catch {
      return null;
    }
  }
  return parts.includes(null) ? null : parts.join('|');
}

/** Listings this process took, by sysroot, with their signatures. */
const listings = new Map<string, { signature: string; listed: ListedDeployment[] }>();

/**
 * The deployments as `ostree admin status` lists them, remembered while the sysroot's change signals
 * stay as they were: in this process, and across processes through `store`.
 */
async function listDeploymentsRemembered(
  sysroot: string,
  store?: DeploymentListStore,
): Promise<ListedDeployment[]> {
  const signature = deploymentListSignature(sysroot);
  if (signature !== null) {
    const known = listings.get(sysroot);
    if (known?.signature === signature) return known.listed;
    try {
      const stored = store?.getDeploymentList(sysroot);
      if (stored?.signature === signature) {
        const listed = JSON.parse(stored.listing) as ListedDeployment[];
        listings.set(sysroot, { signature, listed });
        return listed;
      }
    } catch {
      // An unreadable cache costs one ostree run, never the answer.
    }
  }
  const listed = await listDeployments(sysroot);
  // Taken after listing: a change while ostree ran leaves a different signature, and nothing is kept.
  if (signature !== null && deploymentListSignature(sysroot) === signature) {
    listings.set(sysroot, { signature, listed });
    try {
      store?.putDeploymentList(sysroot, signature, JSON.stringify(listed));
    } catch {
      // read-only or full cache: the next process lists again
    }
  }
  return listed;
}

async function listDeployments(sysroot: string): Promise<ListedDeployment[]> {
  const args = ['admin', 'status', `--sysroot=${sysroot}`];
  const json = async (): Promise<ListedDeployment[]> =>
    parseStatusJson((await ostree([...args, '--json'])).toString('utf8'));
  const text = async (listing: Promise<Buffer>): Promise<ListedDeployment[]> =>
    parseStatusText((await listing).toString('utf8'));
  const known = knownStatusJson();
  if (known !== null) return known ? json() : text(ostree(args));
  // First call: the --json probe and the text listing run side by side, so on an ostree without
  // --json (Debian 12's) the listing is ready when the probe answers, at the cost of one process.
  const listing = ostree(args);
  listing.catch(() => {
    // used only when the probe says there is no --json; its failure is reported there
  });
  return (await statusJsonSupported()) ? json() : text(listing);
}

interface BootEntry {
  kernel: string | null;
  kargs: string[];
}

/** Reads `boot/loader/entries`, keyed by the deployment folder name (`checksum.serial`) each entry boots. */
export function readBootEntries(sysroot: string): Map<string, BootEntry> {
  const entries = new Map<string, BootEntry>();
  const dir = join(sysroot, 'boot', 'loader', 'entries');
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.conf'));
  } catch {
    return entries;
  }
  for (const name of names) {
    let text: string;
    try {
      text = readFileSync(join(dir, name), 'utf8');
    } catch {
      continue;
    }
    const fields = new Map<string, string>();
    for (const line of text.split('\n')) {
      const m = /^(\S+)\s+(.*)$/.exec(line.trim());
      if (m?.[1] && m[2] !== undefined) fields.set(m[1], m[2]);
    }
    const options = splitKargs(fields.get('options') ?? '');
    const bootlink = options.find((o) => o.startsWith('ostree='))?.slice('ostree='.length);
    if (!bootlink) continue;
    let target: string;
    try {
      target = basename(realpathSync(join(sysroot, bootlink)));
    } catch {
      continue;
    }
    const linux = fields.get('linux');
    const kernelFile = linux ? basename(linux) : null;
    entries.set(target, {
      kernel: kernelFile ? kernelFile.replace(/^vmlinuz-?/, '') || null : null,
      kargs: options.filter((o) => !o.startsWith('ostree=')),
    });
  }
  return entries;
}

/** Splits kernel arguments on spaces outside double quotes, as the kernel does. */
export function splitKargs(options: string): string[] {
  const out: string[] = [];
  let current = '';
  let quoted = false;
  for (const ch of options) {
    if (ch === '"') quoted = !quoted;
    if (ch === ' ' && !quoted) {
      if (current) out.push(current);
      current = '';
    } else current += ch;
  }
  if (current) out.push(current);
  return out;
}

/** The kernel version shipped in a tree, for deployments without a boot entry yet (staged). */
function kernelInTree(tree: string): string | null {
  try {
    const versions = readdirSync(join(tree, 'usr', 'lib', 'modules')).filter((v) =>
      existsSync(join(tree, 'usr', 'lib', 'modules', v, 'vmlinuz')),
    );
    return versions.sort().pop() ?? null;
  } catch {
    return null;
  }
}

/**
 * Whether `ostree admin unlock` made the deployment's /usr writable: for this boot (a run-state
 * flag, as libostree checks it) or for good (`unlocked=hotfix` in the origin).
 */
export function deploymentUnlocked(
  sysroot: string,
  d: Pick<Deployment, 'stateroot' | 'checksum' | 'serial'>,
): boolean {
  if (
    isBootedSystem(sysroot) &&
    existsSync(`/run/ostree/deployment-state/${d.checksum}.${d.serial}/development`)
  )
    return true;
  try {
    const kf = parseKeyfile(readFileSync(`${deploymentPath(sysroot, d)}.origin`, 'utf8'));
    return (keyfileValue(kf, 'origin', 'unlocked') ?? 'none') !== 'none';
  } catch {
    return false;
  }
}

function readOrigin(sysroot: string, d: ListedDeployment): OriginFacts {
  const file = `${deploymentPath(sysroot, d)}.origin`;
  try {
    return describeOrigin(parseKeyfile(readFileSync(file, 'utf8')));
  } catch {
    return { origin: null, pinned: false, layeredPackages: [], imageReference: null, managedBy: null };
  }
}

function chooseStateroot(sysroot: string, listed: ListedDeployment[], wanted?: string): string {
  const roots = listStaterooots(sysroot);
  if (wanted !== undefined) {
    if (!roots.includes(wanted)) {
      throw new HindsightError(
        'no-stateroot',
        `no stateroot "${wanted}" in ${sysroot}${roots.length ? ` (there is ${roots.join(', ')})` : ''}`,
      );
    }
    return wanted;
  }
  const booted = listed.find((d) => d.booted);
  if (booted) return booted.stateroot;
  if (roots.length === 1 && roots[0]) return roots[0];
  if (roots.length === 0)
    throw new HindsightError('no-stateroot', `${sysroot} has no stateroot yet (ostree admin os-init)`);
  const first = listed[0];
  if (first) return first.stateroot;
  throw new HindsightError(
    'ambiguous-stateroot',
    `${sysroot} has several stateroots (${roots.join(', ')}); pick one with --os`,
  );
}

/**
 * The kernel arguments a staged deployment will boot with. It has no boot entry until
 * ostree-finalize-staged writes one at shutdown: the arguments are those `ostree admin deploy
 * --stage` was given (the `kargs` of /run/ostree/staged-deployment, an a{sv} GVariant), or else the
 * merge deployment's (the booted one's), which finalization copies. Null when neither can be read.
 */
export function stagedKargs(bootedKargs: string[] | null): string[] | null {
  let record: GVariantValue;
  try {
    record = parseGVariant('a{sv}', readFileSync(STAGED_DEPLOYMENT_FILE));
  } catch {
    return bootedKargs;
  }
  const kargs = record instanceof Map ? record.get('kargs') : undefined;
  const value = kargs && typeof kargs === 'object' && 'value' in kargs ? kargs.value : undefined;
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) {
    return (value as string[]).filter((o) => !o.startsWith('ostree='));
  }
  return bootedKargs;
}

/** Every deployment of a stateroot with its states, commit facts, origin, kernel and kernel arguments. */
export async function readStatus(options: SysrootOptions): Promise<StatusReport> {
  const sysroot = assertSysroot(options.sysroot);
  const listed = await listDeploymentsRemembered(sysroot, options.store);
  const stateroot = chooseStateroot(sysroot, listed, options.stateroot);
  const bootEntries = readBootEntries(sysroot);
  const repo = repoPath(sysroot);

  const bootedIndex = listed.findIndex((d) => d.booted);
  const pivot = Math.max(bootedIndex, 0);
  const ofRoot = listed.filter((d) => d.stateroot === stateroot);
  const rollbackIndex = ofRoot.find((d) => d.index > pivot)?.index ?? -1;

  const bootedSystem = isBootedSystem(sysroot);
  const booted = listed[bootedIndex];
  const bootedKargs = booted ? (bootEntries.get(`${booted.checksum}.${booted.serial}`)?.kargs ?? null) : null;
  const deployments: Deployment[] = ofRoot.map((d) => {
    const key = `${d.checksum}.${d.serial}`;
    const origin = readOrigin(sysroot, d);
    const entry = bootEntries.get(key);
    const kargs = entry?.kargs ?? (d.staged && bootedSystem ? stagedKargs(bootedKargs) : null) ?? [];
    let commit: ReturnType<typeof readCommitObject> | null = null;
    try {
      commit = readCommitObject(repo, d.checksum);
    } catch {
      commit = null;
    }
    return {
      index: d.index,
      stateroot: d.stateroot,
      checksum: d.checksum,
      serial: d.serial,
      version: commit?.version ?? null,
      timestamp: commit?.timestamp ?? null,
      subject: commit?.subject ?? null,
      origin: origin.origin,
      layeredPackages: origin.layeredPackages,
      imageReference: origin.imageReference,
      managedBy: origin.managedBy,
      kernel: entry?.kernel ?? kernelInTree(deploymentPath(sysroot, d)),
      kargs,
      booted: d.booted,
      default: d.index === 0,
      pending: bootedIndex >= 0 && d.index < bootedIndex,
      rollback: d.index === rollbackIndex,
      staged: d.staged,
      pinned: d.pinned || origin.pinned,
    };
  });
  return { sysroot, stateroot, bootedSystem, deployments };
}
