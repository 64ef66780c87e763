import { createHash } from 'node:crypto';
import {
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { requireProgram, startProgram } from '../core/exec.ts';
import { tool } from '../core/fixtures/test-support.ts';
import {
  type HelperClient,
  type HelperCommand,
  type SpawnHelperOptions,
  spawnHelper,
} from './helper-client.ts';

/** Shared by the helper's tests: the real helper process, a real HTTP remote, ostree's own view. */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BANNER = {
  js: "import { createRequire as __hsCreateRequire } from 'node:module'; const require = __hsCreateRequire(import.meta.url);",
};

export interface Bundles {
  helper: HelperCommand;
  /** A script that runs the bundled CLI (which starts the bundled helper beside it). */
  cli: string;
}

let bundled: Promise<Bundles> | null = null;

/**
 * The helper and the CLI bundled from the sources once per test process (what `npm run build` ships,
 * built from the code under test): they start in ~0.1 s where the tsx path takes ~1 s, which the kill
 * loops and the CLI runs need. Inside the checkout, so the bundles find node_modules.
 */
export function bundles(): Promise<Bundles> {
  bundled ??= (async () => {
    const dir = join(ROOT, 'node_modules', '.cache', 'hindsight-helper-test', String(process.pid));
    mkdirSync(dir, { recursive: true });
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    await build({
      absWorkingDir: ROOT,
      entryPoints: [
        { in: 'electron/helper/main.ts', out: 'helper' },
        { in: 'electron/cli/entry.ts', out: 'cli' },
      ],
      outdir: dir,
      outExtension: { '.js': '.mjs' },
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'esm',
      external: ['better-sqlite3', 'electron'],
      banner: BANNER,
      logLevel: 'error',
    });
    const cli = join(dir, 'run-cli.mjs');
    writeFileSync(
      cli,
      "import { main } from './cli.mjs';\nprocess.exitCode = await main(process.argv.slice(2));\n",
    );
    return { helper: { program: process.execPath, args: [join(dir, 'helper.mjs')] }, cli };
  })();
  return bundled;
}

export async function helperCommand(): Promise<HelperCommand> {
  return (await bundles()).helper;
}

export async function startHelper(
  sysroot: string,
  options: Omit<SpawnHelperOptions, 'sysroot' | 'command'> = {},
): Promise<HelperClient> {
  return spawnHelper({ sysroot, command: await helperCommand(), ...options });
}

export interface ServedRepo {
  url: string;
  /** Milliseconds an answer for this path waits: makes a pull last long enough to watch (and to contend with). */
  delay: (path: string) => number;
  requests: number;
  close(): Promise<void>;
}

/** Serves an archive repository folder over HTTP on 127.0.0.1, as a real remote would be. */
export async function serveRepo(dir: string): Promise<ServedRepo> {
  const served: ServedRepo = { url: '', delay: () => 0, requests: 0, close: async () => {} };
  const server: Server = createServer((req, res) => {
    served.requests += 1;
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    const file = join(dir, path);
    setTimeout(() => {
      if (relative(dir, file).startsWith('..')) {
        res.writeHead(403).end();
        return;
      }
      try {
        const body = readFileSync(file);
        res.writeHead(200, { 'content-length': body.length }).end(body);
      } catch {
        res.writeHead(404).end();
      }
    }, served.delay(path));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  served.url = `http://127.0.0.1:${port}/`;
  served.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return served;
}

export interface ListedDeployment {
  stateroot: string;
  checksum: string;
  serial: number;
  booted: boolean;
  staged: boolean;
  pinned: boolean;
  version: string | null;
}

/** `ostree admin status`, parsed here independently of the engine's parser. */
export function ostreeStatus(sysroot: string): ListedDeployment[] {
  const text = tool('ostree', ['admin', 'status', `--sysroot=${sysroot}`]);
  const out: ListedDeployment[] = [];
  for (const line of text.split('\n')) {
    const m = /^([* ]) (\S+) ([0-9a-f]{64})\.(\d+)(.*)$/.exec(line);
    if (m) {
      out.push({
        stateroot: m[2] as string,
        checksum: m[3] as string,
        serial: Number(m[4]),
        booted: m[1] === '*',
        staged: (m[5] ?? '').includes('(staged)'),
        pinned: false,
        version: null,
      });
      continue;
    }
    const last = out[out.length - 1];
    if (!last) continue;
    if (/^\s+Pinned: yes/.test(line)) last.pinned = true;
    const v = /^\s+Version: (\S+)/.exec(line);
    if (v) last.version = v[1] as string;
  }
  return out;
}

export const ids = (list: { checksum: string; serial: number }[]): string[] =>
  list.map((d) => `${d.checksum}.${d.serial}`);

/** `ostree fsck` of the sysroot's repository; throws (with ostree's words) when it fails. */
export function fsck(sysroot: string): string {
  return tool('ostree', ['fsck', `--repo=${join(sysroot, 'ostree', 'repo')}`]);
}

/** Every entry under a folder with its type, mode, owner and content hash (or link target). */
export function treeDigest(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string): void => {
    const abs = rel ? join(dir, rel) : dir;
    for (const name of readdirSync(abs).sort()) {
      const childRel = rel ? `${rel}/${name}` : name;
      const path = join(dir, childRel);
      const st = lstatSync(path);
      const head = `${st.mode.toString(8)} ${st.uid}:${st.gid}`;
      if (st.isSymbolicLink()) out.set(childRel, `${head} -> ${readlinkSync(path)}`);
      else if (st.isDirectory()) {
        out.set(childRel, `${head} dir`);
        walk(childRel);
      } else out.set(childRel, `${head} ${createHash('sha256').update(readFileSync(path)).digest('hex')}`);
    }
  };
  walk('');
  return out;
}

/** Processes in a process group (from /proc): what a killed helper left running. */
export function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // fields: state ppid pgrp ...; a zombie has finished its work
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') members.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return members;
}

export async function waitForGroup(pgid: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (groupMembers(pgid).length) {
    if (Date.now() > deadline) throw new Error(`process group ${pgid} still running after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A small seeded PRNG: random kill moments that are the same on every run. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

export interface HeldOstreeLock {
  release(): Promise<void>;
}

/**
 * Another process holding libostree's own sysroot lock, as any `ostree admin` command or rpm-ostreed
 * does while it changes the sysroot: gjs takes `OSTree.Sysroot.lock()` and keeps it until its stdin
 * closes. Resolves once the lock is held. The path is part of the script, never an argument to gjs.
 */
export async function holdOstreeLock(sysroot: string): Promise<HeldOstreeLock> {
  const script = `
const { Gio, OSTree } = imports.gi;
const sysroot = OSTree.Sysroot.new(Gio.File.new_for_path(${JSON.stringify(sysroot)}));
sysroot.lock();
print('locked');
let stdin;
try { stdin = imports.gi.GioUnix.InputStream.new(0, false); } catch (e) { stdin = Gio.UnixInputStream.new(0, false); }
while (stdin.read_bytes(4096, null).get_size() > 0) {}
sysroot.unlock();
`;
  const child = startProgram(requireProgram('gjs'), ['-c', script]);
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => {
    stderr += text;
  });
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      if (text.includes('locked')) resolve();
    });
    child.on('close', (code) => reject(new Error(`gjs exited ${code} before taking the lock: ${stderr}`)));
  });
  return {
    async release() {
      child.stdin.end();
      await exited;
    },
  };
}
