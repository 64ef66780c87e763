import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** This module's folder, in ESM (sources, CLI bundle) and in CommonJS (Electron's main bundle). */
function hereDir(): string {
  return typeof __dirname === 'string' ? __dirname : dirname(fileURLToPath(import.meta.url));
}

/**
 * The project folder, found by walking up to our package.json: the same answer from the sources
 * (electron/main/…), from the bundles (dist/…) and from a packaged app's resources.
 */
export function projectRoot(from: string = hereDir()): string {
  let dir = from;
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'hindsight')
          return dir;
      } catch {
        // not ours; keep walking
      }
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the Hindsight project folder');
    dir = parent;
  }
}

export const rendererDir = (): string => join(projectRoot(), 'dist', 'renderer');

/** The Electron binary, when `npm ci` could download it (it cannot on machines without its release host). */
export function electronBinary(): string | null {
  const pkg = join(projectRoot(), 'node_modules', 'electron');
  const pathFile = join(pkg, 'path.txt');
  if (!existsSync(pathFile)) return null;
  const binary = join(pkg, 'dist', readFileSync(pathFile, 'utf8').trim());
  return existsSync(binary) ? binary : null;
}
