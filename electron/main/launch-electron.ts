import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { electronBinary, projectRoot } from './paths.ts';
import { runServe, type ServeOptions } from './serve.ts';

/**
 * `npm start` / `hindsight start`: the Electron app when its binary is installed, otherwise browser
 * mode with the same renderer and handlers, printing the address to open.
 */
export async function runStart(options: ServeOptions): Promise<number> {
  const electron = electronBinary();
  if (!electron) {
    options.err(
      'The Electron binary is not installed (npm could not download it here), so Hindsight runs in browser mode.\n',
    );
    return runServe({ ...options, openInBrowser: true });
  }
  const args = [join(projectRoot(), 'dist', 'electron', 'main.cjs')];
  if (options.sysroot) args.push(`--sysroot=${options.sysroot}`);
  const child = spawn(electron, args, { stdio: 'inherit', shell: false });
  return new Promise((resolve) => {
    child.on('error', (error) => {
      options.err(`hindsight: cannot start Electron: ${error.message}\n`);
      resolve(1);
    });
    child.on('exit', (code) => resolve(code ?? 1));
  });
}
