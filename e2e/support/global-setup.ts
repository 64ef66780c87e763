import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, SCREENSHOTS } from './hindsight.ts';

/** The specs test what ships: build the renderer, main and CLI bundles from the current sources first. */
export default function globalSetup(): void {
  execFileSync(process.execPath, [join(ROOT, '.ci', 'build.mjs'), '--quiet'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  mkdirSync(SCREENSHOTS, { recursive: true });
}
