import { existsSync, readdirSync } from 'node:fs';
import { HindsightError } from '../../shared/errors.ts';
import { findProgram, run, startProgram } from '../core/exec.ts';

/**
 * libostree reached through GObject introspection (`gjs` + the OSTree-1.0 typelib), for what the
 * `ostree` CLI of Debian 12 (2022.7) cannot do: reorder deployments (no `admin set-default` before
 * 2023.x) and report pull progress while it runs (the CLI prints progress only to a terminal).
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
function readInput(operation) {
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
  if (!input || typeof input !== 'object' || input.operation !== operation) fail(2, 'the input on stdin is not for ' + operation);
  return input;
}
const isText = (v) => typeof v === 'string' && v.length > 0;
`;

/**
 * Makes one deployment the default (index 0), the others keeping their order: what
 * \`ostree admin set-default\` does in later releases. Takes the sysroot lock as the CLI does, refuses
 * when a staged deployment exists (writing the list would drop it), and changes nothing else.
 * Input: { operation: 'set-default', sysroot, stateroot, checksum, serial, namespace }.
 * Exit codes: 0 done, 2 usage, 3 no such deployment, 4 staged deployment present, 75 lock busy.
 */
const SET_DEFAULT = `${READ_INPUT}
const input = readInput('set-default');
const { sysroot: sysrootPath, stateroot: osname, checksum, serial, namespace } = input;
if (!isText(sysrootPath) || !isText(osname) || !isText(checksum) || !Number.isInteger(serial) || serial < 0 ||
    (namespace !== 'private-mount-namespace' && namespace !== 'shared')) {
  fail(2, 'usage: {"operation":"set-default","sysroot":S,"stateroot":S,"checksum":S,"serial":N,"namespace":S} on stdin');
}
const sysroot = OSTree.Sysroot.new(Gio.File.new_for_path(sysrootPath));
// Run under unshare(1) on a booted system: libostree may then remount a read-only /sysroot privately.
if (namespace === 'private-mount-namespace') sysroot.set_mount_namespace_in_use();
let locked = false;
for (let i = 0; i < 100 && !locked; i++) {
  const [, acquired] = sysroot.try_lock();
  locked = acquired;
  if (!locked) GLib.usleep(100000);
}
if (!locked) fail(75, 'another ostree process holds the sysroot lock');
let code = 0;
try {
  sysroot.load(null);
  if (sysroot.get_staged_deployment()) {
    code = 4;
    printerr('a staged deployment is waiting for shutdown');
  } else {
    const deployments = sysroot.get_deployments();
    const target = deployments.find((d) => d.get_osname() === osname && d.get_csum() === checksum && d.get_deployserial() === serial);
    if (!target) {
      code = 3;
      printerr('no deployment ' + checksum + '.' + serial + ' in stateroot ' + osname);
    } else {
      if (deployments[0] !== target) {
        const reordered = [target].concat(deployments.filter((d) => d !== target));
        sysroot.write_deployments(reordered, null);
      }
      print(JSON.stringify({ default: checksum + '.' + serial }));
    }
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
      'this ostree has no `admin set-default` and gjs is not installed (install gjs and gir1.2-ostree-1.0)',
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

export interface SetDefaultOptions {
  sysroot: string;
  stateroot: string;
  checksum: string;
  serial: number;
  booted: boolean;
}

/**
 * The SET_DEFAULT run: `gjs -c SCRIPT`, under `unshare --mount --propagation private` on a booted
 * system (when unshare is there), with nothing after the script; the values go on stdin.
 */
export function setDefaultInvocation(
  options: SetDefaultOptions,
  programs: { gjs: string; unshare: string | null },
): GjsInvocation {
  const gjsArgs = ['-c', SET_DEFAULT];
  const input = JSON.stringify({
    operation: 'set-default',
    sysroot: options.sysroot,
    stateroot: options.stateroot,
    checksum: options.checksum,
    serial: options.serial,
    namespace: options.booted ? 'private-mount-namespace' : 'shared',
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

/** Makes a deployment the default through libostree; see SET_DEFAULT for the rules. */
export async function setDefaultThroughLibostree(options: SetDefaultOptions): Promise<void> {
  const gjs = gjsProgram();
  const unshare = options.booted ? findProgram('unshare') : null;
  const invocation = setDefaultInvocation(options, { gjs, unshare });
  const result = await run(invocation.program, invocation.args, { env: GJS_ENV, input: invocation.input });
  if (result.code === 0) return;
  const message = result.stderr.trim().split('\n').pop() ?? `gjs exited ${result.code}`;
  if (result.code === 75) throw new HindsightError('busy', `the sysroot is locked: ${message}`);
  if (result.code === 3) throw new HindsightError('no-such-deployment', message);
  if (result.code === 4) {
    throw new HindsightError(
      'refused',
      'a staged deployment is waiting for shutdown; reordering now would discard it (run hindsight cancel first)',
    );
  }
  if (/Typelib file for namespace 'OSTree'|Requiring OSTree/.test(result.stderr)) {
    throw new HindsightError(
      'unsupported',
      'libostree introspection data is missing (install gir1.2-ostree-1.0)',
    );
  }
  throw new HindsightError('ostree-failed', `libostree could not reorder the deployments: ${message}`);
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
