import { closeSync, lstatSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { HindsightError } from '../../shared/errors.ts';
import { writeFileAtomic } from '../core/atomic-write.ts';
import { requireProgram, startProgram } from '../core/exec.ts';
import { ensureDir, errnoCode } from './state.ts';

/**
 * One Hindsight process at a time may change a sysroot. Node has no flock(2), so the lock is held by
 * util-linux `flock --nonblock` running `cat` on a pipe from this process: the kernel drops the lock
 * when cat exits, and cat exits when this process's end of the pipe closes, however it dies (even
 * SIGKILL). A second contender's flock exits at once with a conflict code: it answers `busy`.
 *
 * This is not libostree's own lock (SYSROOT/ostree/lock): the helper runs `ostree admin` commands that
 * take that one themselves, and holding it here would deadlock them. ostree's lock is taken only around
 * one change where Hindsight itself calls libostree (libostree.ts: pin, unpin, undeploy, set-default),
 * which is what keeps other ostree tools from moving the deployment list under that change.
 */

const CONFLICT = 75;
const ACQUIRE_TIMEOUT_MS = 10_000;

export interface HeldLock {
  release(): Promise<void>;
}

interface Owner {
  pid: number;
  operation: string;
  since: string;
}

function readOwner(dir: string): Owner | null {
  try {
    return JSON.parse(readFileSync(join(dir, 'lock.owner'), 'utf8')) as Owner;
  } catch {
    return null;
  }
}

export async function acquireLock(dir: string, operation: string): Promise<HeldLock> {
  ensureDir(dir);
  const file = join(dir, 'lock');
  // Made here, private, so flock never follows a planted symlink or creates it world-readable.
  try {
    if (lstatSync(file, { throwIfNoEntry: false })?.isSymbolicLink()) rmSync(file);
    closeSync(openSync(file, 'a', 0o600));
  } catch (error) {
    throw new HindsightError('io-error', `cannot create the lock file ${file}: ${errnoCode(error)}`);
  }
  const child = startProgram(
    requireProgram('flock'),
    ['--nonblock', '--conflict-exit-code', String(CONFLICT), '--no-fork', file, requireProgram('cat')],
    { env: { PATH: '/usr/bin:/bin', LC_ALL: 'C' } },
  );
  const exited = new Promise<number>((resolve) => {
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
    child.on('error', () => resolve(127));
  });
  child.stdin.on('error', () => {
    // cat gone: the lock is already released
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const acquired = new Promise<boolean>((resolve) => {
    child.stdout.once('data', () => resolve(true));
    void exited.then(() => resolve(false));
  });
  // cat echoes the byte only once flock holds the lock and has exec'd it.
  child.stdin.write('x\n');
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ACQUIRE_TIMEOUT_MS);
  });
  const outcome = await Promise.race([acquired, timeout]);
  clearTimeout(timer);
  if (outcome === 'timeout') {
    child.kill('SIGKILL');
    throw new HindsightError('io-error', `could not take the sysroot lock ${file} in time`);
  }
  if (!outcome) {
    const code = await exited;
    if (code === CONFLICT) {
      const owner = readOwner(dir);
      const who = owner ? ` (pid ${owner.pid}, ${owner.operation} since ${owner.since})` : '';
      throw new HindsightError(
        'busy',
        `another Hindsight process is changing this sysroot${who}; try again when it has finished`,
      );
    }
    throw new HindsightError(
      'io-error',
      `cannot take the sysroot lock ${file}: flock exited ${code}${stderr ? `: ${stderr.trim().split('\n').pop()}` : ''}`,
    );
  }
  try {
    writeFileAtomic(
      join(dir, 'lock.owner'),
      JSON.stringify({ pid: process.pid, operation, since: new Date().toISOString() }),
      { mode: 0o644 },
    );
  } catch {
    // the owner note only makes the busy message friendlier
  }
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      rmSync(join(dir, 'lock.owner'), { force: true });
      child.stdin.end();
      await exited;
    },
  };
}
