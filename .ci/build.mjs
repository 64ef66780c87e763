// Bundles every entry point with esbuild: few files per process start fast and ship simply.
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist');
mkdirSync(out, { recursive: true });

// Native and Electron modules stay outside the bundles.
const external = ['better-sqlite3', 'electron'];
const nodeBanner = {
  js: "import { createRequire as __hsCreateRequire } from 'node:module'; const require = __hsCreateRequire(import.meta.url);",
};

const nodeOptions = {
  absWorkingDir: root,
  outdir: out,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  external,
  banner: nodeBanner,
  sourcemap: 'linked',
  logLevel: 'warning',
};

// The CLI: code behind a dynamic import() goes into dist/chunks/, so `hindsight status` compiles
// only what it runs (a whole-process command pays for every byte it parses).
if (existsSync(join(root, 'electron/cli/entry.ts'))) {
  rmSync(join(out, 'chunks'), { recursive: true, force: true });
  await build({
    ...nodeOptions,
    entryPoints: [{ in: 'electron/cli/entry.ts', out: 'cli' }],
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
  });
}
// The helper stays one file: it is installed alone as /usr/lib/hindsight/helper.mjs, and starts once.
if (existsSync(join(root, 'electron/helper/main.ts'))) {
  await build({ ...nodeOptions, entryPoints: [{ in: 'electron/helper/main.ts', out: 'helper' }] });
}

// The renderer: one script and one stylesheet, loaded by index.html under a strict CSP.
const rendererOut = join(out, 'renderer');
mkdirSync(rendererOut, { recursive: true });
if (existsSync(join(root, 'renderer/main.tsx'))) {
  await build({
    absWorkingDir: root,
    entryPoints: { app: 'renderer/main.tsx' },
    outdir: rendererOut,
    bundle: true,
    platform: 'browser',
    target: 'chrome120',
    format: 'esm',
    jsx: 'automatic',
    // Minified unless asked for a development build: the page parses less (source maps stay linked).
    minify: process.env.NODE_ENV !== 'development',
    sourcemap: 'linked',
    loader: { '.svg': 'file', '.png': 'file', '.woff2': 'file' },
    define: { 'process.env.NODE_ENV': JSON.stringify(process.env.NODE_ENV ?? 'production') },
    logLevel: 'warning',
  });
  copyFileSync(join(root, 'renderer/index.html'), join(rendererOut, 'index.html'));
}

// Electron's main and preload: CommonJS, as Electron's sandboxed preload requires.
for (const entry of [
  { in: 'electron/main/main.ts', out: 'main' },
  { in: 'electron/preload/preload.ts', out: 'preload' },
]) {
  if (!existsSync(join(root, entry.in))) continue;
  await build({
    absWorkingDir: root,
    entryPoints: [entry.in],
    outfile: join(out, 'electron', `${entry.out}.cjs`),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    external,
    sourcemap: 'linked',
    logLevel: 'warning',
    // Modules guard import.meta with a CommonJS check (__dirname, require) before using it.
    logOverride: { 'empty-import-meta': 'silent' },
  });
}

if (!process.argv.includes('--quiet')) console.log('built dist/ (cli, helper, electron, renderer)');
