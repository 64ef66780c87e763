// Assembles dist/helper/, the privileged helper as the deb and rpm install it in /usr/lib/hindsight
// (assets/linux/after-install.sh) and as a packaged app runs it unprivileged (resources/helper): the
// launcher, the bundled helper (dist/helper.mjs, from build.mjs) and better-sqlite3 with what it
// requires at run time, which the helper loads to read rpm databases.
//
// Why a copy of its own: the helper runs under Node.js (the launcher picks it; Electron's binary
// cannot act as node in a package, its runAsNode fuse is off), and better-sqlite3 is a native addon
// tied to one runtime's ABI. electron-builder's npmRebuild rebuilds node_modules/better-sqlite3 in
// place for Electron, which node cannot load. So the copy is made for the Node.js running this
// script, before that rebuild: electron-builder runs this file as its beforeBuild hook (see
// electron-builder.yml). Build a package with the Node.js major of the target's `nodejs` package.
//
// Usage: node .ci/helper-tree.mjs   (after node .ci/build.mjs)
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

// What better-sqlite3 needs at run time (its other dependency, prebuild-install, only installs it).
const ADDON = 'build/Release/better_sqlite3.node';
const MODULES = {
  'better-sqlite3': ['package.json', 'LICENSE', 'lib', ADDON],
  bindings: ['package.json', 'LICENSE.md', 'bindings.js'],
  'file-uri-to-path': ['package.json', 'LICENSE', 'index.js'],
};

function fail(message) {
  throw new Error(`helper-tree: ${message}`);
}

/** The folder of an installed package, found the way better-sqlite3 itself would find it. */
function packageDir(name) {
  const from = createRequire(join(root, 'node_modules', 'better-sqlite3', 'package.json'));
  try {
    return dirname(from.resolve(`${name}/package.json`));
  } catch {
    fail(`${name} is not installed (run npm ci)`);
  }
}

/**
 * Loads better-sqlite3 from a copy of `tree` in a folder of its own, so nothing above it (the
 * project's node_modules) can stand in for a file the tree lacks. Returns node's complaint, or null.
 */
function loadError(tree) {
  const scratch = mkdtempSync(join(tmpdir(), 'hindsight-helper-tree-'));
  try {
    cpSync(tree, join(scratch, 'helper'), { recursive: true });
    const check =
      "const Database = require('node:module').createRequire(process.argv[1])('better-sqlite3');" +
      "const db = new Database(':memory:'); db.prepare('SELECT sqlite_version()').get(); db.close();";
    const result = spawnSync(process.execPath, ['-e', check, join(scratch, 'helper', 'helper.mjs')], {
      cwd: scratch,
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    });
    if (result.status === 0) return null;
    const line = (result.stderr || result.error?.message || 'failed')
      .split('\n')
      .find((l) => /Error/.test(l));
    return line?.trim() ?? 'failed';
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * better-sqlite3's addon compiled for this Node.js from the package's own sources, in a scratch
 * folder (node_modules is left as it is: electron-builder rebuilds it for Electron right after).
 * node-gyp takes the headers installed with this node when they match it, else downloads them.
 */
function compileAddon() {
  const source = packageDir('better-sqlite3');
  const work = join(root, 'dist', 'helper-build');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  for (const entry of ['package.json', 'binding.gyp', 'src', 'deps']) {
    cpSync(join(source, entry), join(work, entry), { recursive: true });
  }
  const prefix = dirname(dirname(process.execPath));
  const versionHeader = join(prefix, 'include', 'node', 'node_version.h');
  const headers = existsSync(versionHeader) ? readFileSync(versionHeader, 'utf8') : '';
  const [major, minor, patch] = process.versions.node.split('.');
  const matches = [`MAJOR_VERSION ${major}\n`, `MINOR_VERSION ${minor}\n`, `PATCH_VERSION ${patch}\n`].every(
    (s) => headers.includes(`#define NODE_${s}`),
  );
  const gyp = join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  const args = [gyp, 'rebuild', '--release', ...(matches ? [`--nodedir=${prefix}`] : [])];
  const result = spawnSync(process.execPath, args, { cwd: work, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (result.status !== 0) {
    const tail = `${result.stdout}${result.stderr}`.trim().split('\n').slice(-20).join('\n');
    fail(`node-gyp could not build better-sqlite3 for Node.js ${process.version}:\n${tail}`);
  }
  return join(work, ADDON);
}

/** Builds dist/helper/ for the Node.js running this; returns its path. */
export function assembleHelperTree() {
  const bundle = join(root, 'dist', 'helper.mjs');
  if (!existsSync(bundle)) fail('dist/helper.mjs is missing (run node .ci/build.mjs first)');
  const out = join(root, 'dist', 'helper');
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  copyFileSync(join(root, 'assets', 'helper', 'hindsight-helper'), join(out, 'hindsight-helper'));
  chmodSync(join(out, 'hindsight-helper'), 0o755);
  copyFileSync(bundle, join(out, 'helper.mjs'));
  for (const [name, entries] of Object.entries(MODULES)) {
    const from = packageDir(name);
    for (const entry of entries) {
      const target = join(out, 'node_modules', name, entry);
      mkdirSync(dirname(target), { recursive: true });
      cpSync(join(from, entry), target, { recursive: true });
    }
  }
  // node_modules' own addon is this node's unless electron-builder has rebuilt it for Electron.
  const first = loadError(out);
  if (first) {
    copyFileSync(compileAddon(), join(out, 'node_modules', 'better-sqlite3', ADDON));
    const second = loadError(out);
    if (second) fail(`better-sqlite3 does not load under Node.js ${process.version}: ${second}`);
  }
  return out;
}

/** electron-builder's beforeBuild hook: true lets it go on and rebuild node_modules for Electron. */
export default async function beforeBuild() {
  assembleHelperTree();
  return true;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    const out = assembleHelperTree();
    if (!process.argv.includes('--quiet')) console.log(`assembled ${out} for Node.js ${process.version}`);
  } catch (error) {
    console.error(error.message);
    process.exitCode = 1;
  }
}
