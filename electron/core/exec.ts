import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { HindsightError } from '../../shared/errors.ts';

/**
 * The one place Hindsight starts programs: always by absolute path, always with an argument array,
 * never through a shell. Everything else calls these functions.
 */

const SYSTEM_DIRS = ['/usr/bin', '/bin', '/usr/sbin', '/sbin', '/usr/local/bin'];

/**
 * Tests point this at an empty folder to see how Hindsight behaves without a program; the helper
 * deletes the variable at start so a caller can never redirect a privileged process.
 */
function searchPath(): string[] {
  const override = process.env.HINDSIGHT_PROGRAM_DIRS;
  return override ? override.split(':').filter((d) => d.startsWith('/')) : SYSTEM_DIRS;
}
const resolved = new Map<string, string | null>();

/** Finds a program in the fixed system directories (never $PATH, which a caller may control). */
export function findProgram(name: string): string | null {
  if (resolved.has(name)) return resolved.get(name) ?? null;
  let found: string | null = null;
  for (const dir of searchPath()) {
    const candidate = `${dir}/${name}`;
    try {
      accessSync(candidate, constants.X_OK);
      found = candidate;
      break;
    } catch {
      // not in this directory
    }
  }
  resolved.set(name, found);
  return found;
}

export function requireProgram(
  name: string,
  missingCode: 'ostree-missing' | 'unsupported' = 'unsupported',
): string {
  const path = findProgram(name);
  if (!path) {
    const hint = name === 'ostree' ? ' (install the ostree package)' : '';
    throw new HindsightError(missingCode, `${name} is not installed${hint}`);
  }
  return path;
}

export interface RunResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

export interface RunOptions {
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Upper bound on stdout bytes kept; output past it fails the run. */
  maxBuffer?: number;
}

/** Runs a program to completion and returns its output whatever the exit code. */
export function run(program: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  if (!program.startsWith('/'))
    throw new HindsightError('internal', `program must be an absolute path: ${program}`);
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      shell: false,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    const max = options.maxBuffer ?? 512 * 1024 * 1024;
    child.stdout.on('data', (chunk: Buffer) => {
      outBytes += chunk.length;
      if (outBytes > max) {
        child.kill('SIGKILL');
        return;
      }
      out.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (error) =>
      reject(new HindsightError('io-error', `cannot run ${program}: ${error.message}`)),
    );
    child.on('close', (code, signal) => {
      if (outBytes > max) {
        reject(new HindsightError('io-error', `${program} printed more than ${max} bytes`));
        return;
      }
      resolve({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    child.stdin.on('error', () => {
      // the program may exit before reading its input
    });
    if (options.input !== undefined) child.stdin.end(options.input);
    else child.stdin.end();
  });
}

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Own process group, so a supervisor can tell when the program and everything it started are gone. */
  detached?: boolean;
}

/**
 * Starts a long-running program (absolute path, argument array, no shell) and hands back its pipes:
 * for a process that talks while it runs (the helper, a pull printing progress, a lock holder).
 * The caller owns its lifetime.
 */
export function startProgram(
  program: string,
  args: readonly string[],
  options: StartOptions = {},
): ChildProcessWithoutNullStreams {
  if (!program.startsWith('/'))
    throw new HindsightError('internal', `program must be an absolute path: ${program}`);
  return spawn(program, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['pipe', 'pipe', 'pipe'],
    shell: false,
    detached: options.detached ?? false,
  });
}

/** Runs a program and fails with a one-line error when it exits non-zero. */
export async function runChecked(
  program: string,
  args: readonly string[],
  options: RunOptions & { errorCode?: 'ostree-failed' | 'io-error' | 'no-such-commit' } = {},
): Promise<Buffer> {
  const result = await run(program, args, options);
  if (result.code !== 0) {
    throw new HindsightError(
      options.errorCode ?? 'io-error',
      describeFailure(program, result.stderr, result.code),
    );
  }
  return result.stdout;
}

/** Synchronous variant, for test fixtures and start-up checks only. */
export function runSync(program: string, args: readonly string[], options: RunOptions = {}): RunResult {
  if (!program.startsWith('/'))
    throw new HindsightError('internal', `program must be an absolute path: ${program}`);
  const result = spawnSync(program, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    input: options.input,
    maxBuffer: options.maxBuffer ?? 512 * 1024 * 1024,
    shell: false,
  });
  if (result.error) throw new HindsightError('io-error', `cannot run ${program}: ${result.error.message}`);
  return {
    code: result.status ?? 128,
    stdout: result.stdout ?? Buffer.alloc(0),
    stderr: (result.stderr ?? Buffer.alloc(0)).toString('utf8'),
  };
}

export function runSyncChecked(program: string, args: readonly string[], options: RunOptions = {}): Buffer {
  const result = runSync(program, args, options);
  if (result.code !== 0)
    throw new HindsightError('io-error', describeFailure(program, result.stderr, result.code));
  return result.stdout;
}

function describeFailure(program: string, stderr: string, code: number): string {
  const name = program.split('/').pop() ?? program;
  const line = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .pop();
  return `${name} failed (exit ${code})${line ? `: ${line.replace(/^error:\s*/, '')}` : ''}`;
}
