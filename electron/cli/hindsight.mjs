#!/usr/bin/env node
// Launcher: the bundled CLI when built (fast start), else the TypeScript sources through tsx.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bundled = join(root, 'dist', 'cli.mjs');
let entry;
if (existsSync(bundled) && !process.env.HINDSIGHT_FROM_SOURCE) {
  entry = await import(pathToFileURL(bundled).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  entry = await import(pathToFileURL(join(root, 'electron', 'cli', 'entry.ts')).href);
}
process.exitCode = await entry.main(process.argv.slice(2));
