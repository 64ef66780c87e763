import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireProgram, runSync } from '../core/exec.ts';

/**
 * The real CLI as the tests run it: a separate process through the launcher, with its cache in a
 * folder of the test's own (never the user's), as root or as another user.
 */

export const LAUNCHER = fileURLToPath(new URL('./hindsight.mjs', import.meta.url));

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliRunner {
  cli(args: string[], options?: { asUser?: number; env?: NodeJS.ProcessEnv }): CliRun;
  /** `--json` added; the exit must be 0; the output parsed. */
  json<T>(args: string[]): T;
  /** Removes the data folder; call it from the test file's `after`. */
  cleanup(): void;
}

export function cliRunner(name: string): CliRunner {
  const dataHome = mkdtempSync(join(tmpdir(), `hindsight-${name}-data-`));
  const cli: CliRunner['cli'] = (args, options = {}) => {
    const env = { ...process.env, XDG_DATA_HOME: dataHome, LC_ALL: 'C', ...options.env };
    const [program, argv] =
      options.asUser === undefined
        ? [process.execPath, [LAUNCHER, ...args]]
        : [
            requireProgram('setpriv'),
            [
              `--reuid=${options.asUser}`,
              `--regid=${options.asUser}`,
              '--clear-groups',
              process.execPath,
              LAUNCHER,
              ...args,
            ],
          ];
    const result = runSync(program, argv, { env });
    return { code: result.code, stdout: result.stdout.toString('utf8'), stderr: result.stderr };
  };
  return {
    cli,
    json<T>(args: string[]): T {
      const result = cli([...args, '--json']);
      assert.equal(result.code, 0, result.stderr);
      return JSON.parse(result.stdout) as T;
    },
    cleanup: () => rmSync(dataHome, { recursive: true, force: true }),
  };
}

/** An expected failure: one line on stderr, no stack, the exit code, and `--json`'s error code. */
export function assertOneLineError(result: CliRun, code: string, exit = 1): string {
  assert.equal(result.code, exit, result.stderr);
  const lines = result.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line on stderr: ${result.stderr}`);
  assert.match(lines[0] as string, /^hindsight: /);
  assert.doesNotMatch(result.stderr, /\s+at \S+ \(/, 'no stack trace');
  assert.equal((JSON.parse(result.stdout) as { error: { code: string } }).error.code, code);
  return lines[0] as string;
}
