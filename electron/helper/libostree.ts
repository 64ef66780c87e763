import { existsSync, readdirSync } from 'node:fs';
import { HindsightError } from '../../shared/errors.ts';
import { findProgram, run, startProgram } from '../core/exec.ts';

/**
 * libostree reached through GObject introspection (`gjs` + the OSTree-1.0 typelib), for what the
 * `ostree` CLI of Debian 12 (2022.7) cannot do: reorder deployments (no `admin set-default` before
 * 2023.x), change a deployment named by its identity rather than by an index that may have moved
 * (the CLI verbs take an index, read before they take the sysroot lock), and report pull progress
 * while it runs (the CLI prints progress only to a terminal).
 *
 * The scripts are constants run with `gjs -c SCRIPT`: they ship inside the helper itself (nothing on
 * disk for anyone to swap). gjs gets no argument after the script: it still acts on some of its own
 * options placed there (`--coverage-prefix`, `-I`/`--include-path` in 1.74), so a value that looks
 * like one (a stateroot named `--coverage-prefix=x`, say) would change how gjs runs. Every value
 * reaches the script instead as one JSON object on stdin, which it reads to the end and parses;
 * a script refuses to run when it does get arguments.
 */

/** Reads the script's JSON input from stdin (fd 0) and checks which operation it is for. */
const READ_INPUT = `
const { GLib, Gio, OSTree } = imports.gi;
function fail(code, message) { printerr(message); imports.system.exit(code); }
function readInput(operations) {
  if (ARGV.length !== 0) fail(2, 'no arguments expected: the values come as JSON on stdin');
  let input = null;
  try {
    let stream;
    try {
      stream = imports.gi.GioUnix.InputStream.new(0, false);
    } catch (e) {
      stream = Gio.UnixInputStream.new(0, false);
    }
    const sink = Gio.MemoryOutputStream.new_resizable();
    sink.splice(stream, Gio.OutputStreamSpliceFlags.CLOSE_SOURCE | Gio.OutputStreamSpliceFlags.CLOSE_TARGET, null);
    input = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(sink.steal_as_bytes().toArray()));
  } catch (e) {
    fail(2, 'cannot read the input on stdin: ' + String(e && e.message ? e.message : e));
  }
  const expected = [].concat(operations);
  if (!input || typeof input !== 'object' || !expected.includes(input.operation)) fail(2, 'the input on stdin is not for ' + expected.join(' or '));
  return input;
}
const isText = (v) => typeof v === 'string' && v.length > 0;
`;

/**
 * Changes one deployment, named by its identity (stateroot, checksum, serial), never by an index: an
 * index read earlier may name another deployment by the time the change is made, when another tool
 * deployed or undeployed meanwhile. The script takes ostree's own sysroot lock (SYSROOT/ostree/lock,
 * the one every `ostree admin` command takes), loads the list under it, finds the deployment by its
 * identity and changes it, so nothing can move the list between the look-up and the change.
 *
 * - pin / unpin: `ostree_sysroot_deployment_set_pinned`, as `ostree admin pin [--unpin]` does.
 * - undeploy: writes the list without it and cleans up, as `ostree admin undeploy` does; never the
 *   booted one, never a pinned one (Hindsight's rule: unpin first), never the stateroot's last. A
 *   staged one is dropped the way libostree drops it (its run-state file and folder go).
 *   `position` says where the caller saw it: 'first' (cancel drops what boots next) or
 *   'not-first' (undeploying it must not change what boots next); a move across that line refuses.
 * - set-default: puts it first, the others keeping their order (`ostree admin set-default` of later
 *   releases); refused while a staged deployment exists (writing the list would drop it).
 *
 * Input: { operation, sysroot, stateroot, checksum, serial, namespace, position, lockWaitMs }.
 * Output: one JSON line { outcome: 'done' | 'unchanged' | 'gone' | 'refused', index?, reason?,
 * cleanupError? }. Exit codes: 0 answered, 1 libostree failed, 2 usage, 75 lock still held after
 * lockWaitMs.
 */
const CHANGE_DEPLOYMENT = `${READ_INPUT}
const input = readInput(['pin', 'unpin', 'undeploy', 'set-default']);
const { operation, sysroot: sysrootPath, stateroot: osname, checksum, serial, namespace, position, lockWaitMs } = input;
if (!isText(sysrootPath) || !isText(osname) || !isText(checksum) || !Number.isInteger(serial) || serial < 0 ||
    (namespace !== 'private-mount-namespace' && namespace !== 'shared') ||
    !['first', 'not-first', 'any'].includes(position) || !Number.isInteger(lockWaitMs) || lockWaitMs < 0) {
  fail(2, 'usage: {"operation":"pin|unpin|undeploy|set-default","sysroot":S,"stateroot":S,"checksum":S,"serial":N,"namespace":S,"position":S,"lockWaitMs":N} on stdin');
}
const sysroot = OSTree.Sysroot.new(Gio.File.new_for_path(sysrootPath));
// Run under unshare(1) on a booted system: libostree may then remount a read-only /sysroot privately.
if (namespace === 'private-mount-namespace') sysroot.set_mount_namespace_in_use();
const deadline = GLib.get_monotonic_time() + lockWaitMs * 1000;
for (;;) {
  const [, acquired] = sysroot.try_lock();
  if (acquired) break;
  if (GLib.get_monotonic_time() >= deadline) fail(75, 'another process holds the ostree sysroot lock');
  GLib.usleep(100000);
}
const answer = (outcome, extra) => print(JSON.stringify(Object.assign({ outcome }, extra)));
const same = (a, b) => a.get_osname() === b.get_osname() && a.get_csum() === b.get_csum() &&
  a.get_deployserial() === b.get_deployserial();
let code = 0;
try {
  sysroot.load(null);
  const deployments = sysroot.get_deployments();
  const index = deployments.findIndex((d) => d.get_osname() === osname && d.get_csum() === checksum && d.get_deployserial() === serial);
  const target = deployments[index];
  const booted = sysroot.get_booted_deployment();
  const refuse = (reason) => answer('refused', { index, reason });
  if (!target) {
    answer('gone', {});
  } else if (operation === 'pin' || operation === 'unpin') {
    const wanted = operation === 'pin';
    if (target.is_pinned() === wanted) answer('unchanged', { index });
    else if (target.is_staged()) refuse('staged');
    else {
      sysroot.deployment_set_pinned(target, wanted);
      answer('done', { index });
    }
  } else if (operation === 'undeploy') {
    if (booted && same(booted, target)) refuse('booted');
    else if (target.is_pinned()) refuse('pinned');
    else if (deployments.filter((d) => d.get_osname() === osname).length === 1) refuse('only');
    else if ((position === 'first' && index !== 0) || (position === 'not-first' && index === 0)) refuse('moved');
    else {
      sysroot.write_deployments(deployments.filter((d) => d !== target), null);
      let cleanupError;
      try {
        sysroot.cleanup(null);
      } catch (e) {
        cleanupError = String(e && e.message ? e.message : e);
      }
      answer('done', { index, cleanupError });
    }
  } else if (sysroot.get_staged_deployment()) {
    refuse('staged-present');
  } else if (index === 0) {
    answer('unchanged', { index });
  } else {
    sysroot.write_deployments([target].concat(deployments.filter((d) => d !== target)), null);
    answer('done', { index });
  }
} catch (e) {
  code = 1;
  printerr(String(e && e.message ? e.message : e));
} finally {
  sysroot.unlock();
}
imports.system.exit(code);
`;

/**
 * Pulls REF or CHECKSUM from REMOTE into REPO and prints a JSON line per progress update (libostree
 * updates its counters about once a second) and one at the end.
 * Input: { operation: 'pull', repo, remote, what, metadataOnly, subpaths }.
 */
const PULL = `${READ_INPUT}
const input = readInput('pull');
const { repo: repoPath, remote, what, metadataOnly, subpaths } = input;
if (!isText(repoPath) || !isText(remote) || !isText(what) || typeof metadataOnly !== 'boolean' ||
    !Array.isArray(subpaths) || !subpaths.every(isText)) {
  fail(2, 'usage: {"operation":"pull","repo":S,"remote":S,"what":S,"metadataOnly":B,"subpaths":[S...]} on stdin');
}
const repo = OSTree.Repo.new(Gio.File.new_for_path(repoPath));
const progress = OSTree.AsyncProgress.new();
const report = (done) => {
  const u = (key) => progress.get_uint(key);
  print(JSON.stringify({
    done,
    status: progress.get_status(),
    fetched: u('fetched'),
    requested: u('requested'),
    metadataFetched: u('metadata-fetched'),
    outstandingMetadata: u('outstanding-metadata-fetches'),
    outstandingFetches: u('outstanding-fetches'),
    outstandingWrites: u('outstanding-writes'),
    scanned: u('scanned-metadata'),
    bytes: progress.get_uint64('bytes-transferred'),
    deltaParts: u('total-delta-parts'),
    deltaPartsFetched: u('fetched-delta-parts'),
  }));
};
progress.connect('changed', () => report(false));
const options = {
  refs: new GLib.Variant('as', [what]),
  flags: new GLib.Variant('i', metadataOnly ? OSTree.RepoPullFlags.COMMIT_ONLY : OSTree.RepoPullFlags.NONE),
};
if (subpaths.length) options.subdirs = new GLib.Variant('as', subpaths);
try {
  repo.open(null);
  repo.pull_with_options(remote, new GLib.Variant('a{sv}', options), progress, null);
  report(true);
  progress.finish();
} catch (e) {
  fail(1, String(e && e.message ? e.message : e));
}
`;

export interface PullProgress {
  done: boolean;
  status: string | null;
  fetched: number;
  requested: number;
  metadataFetched: number;
  outstandingMetadata: number;
  outstandingFetches: number;
  outstandingWrites: number;
  scanned: number;
  bytes: number;
  deltaParts: number;
  deltaPartsFetched: number;
}

/** gjs runs with a fixed environment: nothing from the caller (GI_TYPELIB_PATH, LD_*) reaches it. */
const GJS_ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C.UTF-8', HOME: '/' };

let probed: boolean | null = null;

/** Where distributions install GObject introspection typelibs (Debian's multiarch folder among them). */
function typelibDirs(): string[] {
  const dirs = [
    '/usr/lib/girepository-1.0',
    '/usr/lib64/girepository-1.0',
    '/usr/local/lib/girepository-1.0',
  ];
  try {
    for (const entry of readdirSync('/usr/lib', { withFileTypes: true })) {
      if (entry.isDirectory() && /-linux-gnu/.test(entry.name))
        dirs.push(`/usr/lib/${entry.name}/girepository-1.0`);
    }
  } catch {
    // no /usr/lib: nothing more to look at
  }
  return dirs;
}

/**
 * Whether gjs and the OSTree typelib are installed (looked up once, without starting gjs: the hello
 * stays fast). A broken installation still shows up, as a clear error, when a script runs.
 */
export function libostreeAvailable(): Promise<boolean> {
  probed ??= findProgram('gjs') !== null && typelibDirs().some((d) => existsSync(`${d}/OSTree-1.0.typelib`));
  return Promise.resolve(probed);
}

function gjsProgram(): string {
  const gjs = findProgram('gjs');
  if (!gjs) {
    throw new HindsightError(
      'unsupported',
      'libostree is out of reach: gjs is not installed (install gjs and gir1.2-ostree-1.0)',
    );
  }
  return gjs;
}

/** How a script runs: the program, its arguments (ending with the script) and the JSON for its stdin. */
export interface GjsInvocation {
  program: string;
  args: string[];
  input: string;
}

/** Which deployment: what stays true of it however the list is reordered (an index does not). */
export interface DeploymentIdentity {
  stateroot: string;
  checksum: string;
  serial: number;
}

export type DeploymentChange = 'pin' | 'unpin' | 'undeploy' | 'set-default';

export interface ChangeDeploymentOptions extends DeploymentIdentity {
  sysroot: string;
  /** The running system's sysroot: the script runs in a private mount namespace. */
  booted: boolean;
  /** undeploy: where the caller saw it; a move across that line refuses (see CHANGE_DEPLOYMENT). */
  position?: 'first' | 'not-first' | 'any';
  /** How long to wait for ostree's sysroot lock before answering busy. */
  lockWaitMs?: number;
  /** How refusals name it (default: the short checksum.serial). */
  label?: string;
}

/** ostree admin commands wait for the lock without end; a helper request answers busy after this. */
export const OSTREE_LOCK_WAIT_MS = 10_000;

/**
 * The CHANGE_DEPLOYMENT run: `gjs -c SCRIPT`, under `unshare --mount --propagation private` on a
 * booted system (when unshare is there), with nothing after the script; the values go on stdin.
 */
export function changeDeploymentInvocation(
  operation: DeploymentChange,
  options: ChangeDeploymentOptions,
  programs: { gjs: string; unshare: string | null },
): GjsInvocation {
  const gjsArgs = ['-c', CHANGE_DEPLOYMENT];
  const input = JSON.stringify({
    operation,
    sysroot: options.sysroot,
    stateroot: options.stateroot,
    checksum: options.checksum,
    serial: options.serial,
    namespace: options.booted ? 'private-mount-namespace' : 'shared',
    position: options.position ?? 'any',
    lockWaitMs: options.lockWaitMs ?? OSTREE_LOCK_WAIT_MS,
  });
  if (options.booted && programs.unshare) {
    return {
      program: programs.unshare,
      args: ['--mount', '--propagation', 'private', programs.gjs, ...gjsArgs],
      input,
    };
  }
  return { program: programs.gjs, args: gjsArgs, input };
}

export interface PullOptions {
  repo: string;
  remote: string;
  what: string;
  metadataOnly: boolean;
  subpaths: string[];
}

/** The PULL run: `gjs -c SCRIPT` with nothing after the script; the values go on stdin. */
export function pullInvocation(options: PullOptions, gjs: string): GjsInvocation {
  return {
    program: gjs,
    args: ['-c', PULL],
    input: JSON.stringify({
      operation: 'pull',
      repo: options.repo,
      remote: options.remote,
      what: options.what,
      metadataOnly: options.metadataOnly,
      subpaths: options.subpaths,
    }),
  };
}

/** What the script did: changed it, or found it already as asked; `index` is where it was found. */
export interface DeploymentChanged {
  outcome: 'done' | 'unchanged';
  index: number;
  /** undeploy: the deployment is gone, but ostree's cleanup afterwards failed with this. */
  cleanupError: string | null;
}

export type ChangeRefusal = 'staged' | 'booted' | 'pinned' | 'only' | 'moved' | 'staged-present';

interface ScriptAnswer {
  outcome: 'done' | 'unchanged' | 'gone' | 'refused';
  index?: number;
  reason?: ChangeRefusal;
  cleanupError?: string;
}

type Named = DeploymentIdentity & { label?: string };

const SINCE = 'since it was listed (another tool changed the deployments meanwhile); nothing was changed';

/** The deployment is no longer there: said the same whichever way the change was attempted. */
export function deploymentGone(d: Named): HindsightError {
  return new HindsightError(
    'no-such-deployment',
    `no deployment ${d.checksum}.${d.serial} in stateroot ${d.stateroot}: it is gone ${SINCE}`,
  );
}

/** Why a change was refused once the list was read again; `index` is where the deployment is now. */
export function changeRefused(
  operation: DeploymentChange,
  reason: ChangeRefusal | undefined,
  index: number | undefined,
  d: Named,
): HindsightError {
  const selector = `${d.checksum.slice(0, 10)}.${d.serial}`;
  const name = d.label ?? selector;
  const because = (): string => {
    switch (reason) {
      case 'staged':
        return `deployment ${name} is staged; ostree cannot ${operation} a staged deployment`;
      case 'booted':
        return `deployment ${name} is the one running now; boot another deployment before removing it`;
      case 'pinned':
        return `deployment ${name} is pinned; unpin it first (hindsight unpin ${selector})`;
      case 'only':
        return `deployment ${name} is the only deployment of ${d.stateroot}; without it nothing would boot`;
      case 'moved':
        return index === 0
          ? `deployment ${name} now boots next; removing it would change what boots next ${SINCE}`
          : `deployment ${name} no longer boots next ${SINCE}`;
      case 'staged-present':
        return 'a staged deployment is waiting for shutdown; reordering now would discard it (run hindsight cancel first)';
      default:
        return `libostree refused to ${operation} deployment ${name}`;
    }
  };
  return new HindsightError('refused', because());
}

/**
 * Pins, unpins, undeploys or makes default one deployment through libostree, under ostree's own
 * sysroot lock, found by its identity; see CHANGE_DEPLOYMENT for the rules. A deployment that is gone
 * is `no-such-deployment`, one that moved in a way that changes what the request meant is `refused`,
 * a lock still held after lockWaitMs is `busy`.
 */
export async function changeDeploymentThroughLibostree(
  operation: DeploymentChange,
  options: ChangeDeploymentOptions,
): Promise<DeploymentChanged> {
  const gjs = gjsProgram();
  const unshare = options.booted ? findProgram('unshare') : null;
  const invocation = changeDeploymentInvocation(operation, options, { gjs, unshare });
  const result = await run(invocation.program, invocation.args, { env: GJS_ENV, input: invocation.input });
  const name = `${options.checksum}.${options.serial}`;
  const message = result.stderr.trim().split('\n').pop() || `gjs exited ${result.code}`;
  if (result.code === 75) {
    throw new HindsightError(
      'busy',
      `another ostree process holds the sysroot lock of ${options.sysroot} (waited ${Math.round((options.lockWaitMs ?? OSTREE_LOCK_WAIT_MS) / 1000)} s); try again when it has finished`,
    );
  }
  if (result.code !== 0) {
    if (/Typelib file for namespace 'OSTree'|Requiring OSTree/.test(result.stderr)) {
      throw new HindsightError(
        'unsupported',
        'libostree introspection data is missing (install gir1.2-ostree-1.0)',
      );
    }
    throw new HindsightError(
      'ostree-failed',
      `libostree could not ${operation} deployment ${name}: ${message}`,
    );
  }
  let answer: ScriptAnswer;
  try {
    answer = JSON.parse(result.stdout.toString('utf8').trim().split('\n').pop() ?? '') as ScriptAnswer;
  } catch {
    throw new HindsightError('internal', `the libostree ${operation} script gave no answer`);
  }
  if (answer.outcome === 'gone') throw deploymentGone(options);
  if (answer.outcome === 'refused') throw changeRefused(operation, answer.reason, answer.index, options);
  return { outcome: answer.outcome, index: answer.index ?? -1, cleanupError: answer.cleanupError ?? null };
}

/** Pulls through libostree and streams its progress counters. */
export async function pullThroughLibostree(
  options: PullOptions,
  onProgress: (p: PullProgress) => void,
): Promise<void> {
  const invocation = pullInvocation(options, gjsProgram());
  const child = startProgram(invocation.program, invocation.args, { env: GJS_ENV });
  child.stdin.on('error', () => {
    // gjs may exit before reading its input; its exit code says why
  });
  child.stdin.end(invocation.input);
  let buffered = '';
  let stderr = '';
  let finished = false;
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    buffered += chunk;
    let newline = buffered.indexOf('\n');
    while (newline >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      let progress: PullProgress | null = null;
      try {
        progress = JSON.parse(line) as PullProgress;
      } catch {
        // not a progress line
      }
      // libostree may still signal a change after the last report; the pull is over by then.
      if (progress && !finished) {
        finished = progress.done;
        onProgress(progress);
      }
      newline = buffered.indexOf('\n');
    }
  });
  child.stderr.on('data', (chunk: Buffer) => {
    if (stderr.length < 64 * 1024) stderr += chunk.toString('utf8');
  });
  const code = await new Promise<number>((resolve) => {
    child.on('close', (c, signal) => resolve(c ?? (signal ? 128 : 1)));
    child.on('error', () => resolve(127));
  });
  if (code !== 0) {
    const message = stderr.trim().split('\n').pop() ?? `gjs exited ${code}`;
    throw new HindsightError('ostree-failed', `pull from ${options.remote} failed: ${message}`);
  }
}
