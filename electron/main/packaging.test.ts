import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  type Stats,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildDemo } from '../core/fixtures/demo.ts';
import { buildRpms, installRpmDatabase, type RpmSpec } from '../core/fixtures/rpm-fixture.ts';
import {
  commitTree,
  createSysroot,
  deploy,
  removeFixture,
  tempFixtureRoot,
} from '../core/fixtures/sysroot-fixture.ts';
import { type HelperClient, INSTALLED_HELPER, spawnHelper } from '../helper/helper-client.ts';
import { ids, ostreeStatus } from '../helper/test-support.ts';

/**
 * The deb and rpm as installed, without building them (the Electron binary cannot be downloaded
 * here): what electron-builder.yml puts in /opt/Hindsight, laid out by electron-builder's own file
 * matchers from the built dist/, then the packages' after-install.sh, run into a temporary root.
 * Every path it names must be there, and the installed launcher, started the way pkexec starts it,
 * must serve a real demo sysroot and read a real rpm database.
 */

// No trailing slash: electron-builder's filters compare paths as strings.
const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const require = createRequire(join(ROOT, 'package.json'));

interface FileSet {
  from?: string;
  to?: string;
  filter?: string | string[];
}
interface BuilderConfig {
  productName: string;
  beforeBuild?: string;
  npmRebuild?: boolean;
  directories?: { output?: string };
  files?: (string | FileSet)[];
  asarUnpack?: string[];
  extraResources?: (string | FileSet)[];
  electronFuses?: Record<string, boolean>;
  linux?: Record<string, unknown> & { executableName?: string };
  deb?: { afterInstall?: string; afterRemove?: string };
  rpm?: { afterInstall?: string; afterRemove?: string };
}
type Filter = (file: string, stat: Stats) => boolean;
interface Matcher {
  createFilter(): Filter;
}

// electron-builder's own code for which files go where (no types needed: a few calls).
const yaml = require('js-yaml') as { load(text: string): unknown };
const fileMatcher = require('app-builder-lib/out/fileMatcher.js') as {
  getFileMatchers(config: BuilderConfig, name: string, to: string, options: object): Matcher[] | null;
  copyFiles(matchers: Matcher[] | null, transformer: null, hardLinks: boolean): Promise<unknown>;
};
const { copyDir } = require('builder-util') as {
  copyDir(from: string, to: string, options: { filter: Filter }): Promise<unknown>;
};

const config = yaml.load(readFileSync(join(ROOT, 'electron-builder.yml'), 'utf8')) as BuilderConfig;
const PKEXEC_ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };

/** electron-builder's macros in the install scripts (FpmTarget's writeConfigFile): an unknown one fails the build. */
function expandScript(path: string): string {
  const macros: Record<string, unknown> = {
    executable: config.linux?.executableName,
    sanitizedProductName: config.productName,
    productFilename: config.productName,
    ...config.linux,
  };
  return readFileSync(join(ROOT, path), 'utf8').replace(/\$\{([a-zA-Z]+)\}/g, (_, name: string) => {
    if (!(name in macros)) throw new Error(`${path}: electron-builder has no macro ${name}`);
    return String(macros[name]);
  });
}

/** /opt/<product> with what electron-builder.yml puts there, under `root`; returns the app folder. */
async function layOutApp(root: string): Promise<string> {
  const app = join(root, 'opt', config.productName);
  const resources = join(app, 'resources');
  mkdirSync(resources, { recursive: true });
  const options = {
    macroExpander: (s: string) => s,
    customBuildOptions: config.linux ?? {},
    globalOutDir: join(ROOT, config.directories?.output ?? 'dist'),
    defaultSrc: ROOT,
  };
  // Electron's own files, which need its binary: stand-ins where after-install.sh looks.
  writeFileSync(join(app, config.linux?.executableName ?? 'hindsight'), '#!/bin/sh\nexit 0\n', {
    mode: 0o755,
  });
  writeFileSync(join(app, 'chrome-sandbox'), '', { mode: 0o755 });

  // app.asar.unpacked: the app's files that asarUnpack names, and its production modules' likewise.
  const unpacked = join(resources, 'app.asar.unpacked');
  const files = fileMatcher.getFileMatchers(config, 'files', unpacked, options)?.[0]?.createFilter();
  const unpack = fileMatcher.getFileMatchers(config, 'asarUnpack', unpacked, options)?.[0]?.createFilter();
  if (files && unpack) {
    await copyDir(ROOT, unpacked, { filter: (f, s) => files(f, s) && (s.isDirectory() || unpack(f, s)) });
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
    };
    for (const name of Object.keys(manifest.dependencies ?? {})) {
      const from = join(ROOT, 'node_modules', name);
      await copyDir(from, join(unpacked, 'node_modules', name), { filter: (f, s) => unpack(f, s) });
    }
    // npmRebuild builds those modules' addons for Electron, which node cannot load: so here too.
    if (config.npmRebuild) {
      for (const entry of readdirSync(unpacked, { recursive: true, encoding: 'utf8' })) {
        if (entry.endsWith('.node')) writeFileSync(join(unpacked, entry), 'built for Electron\n');
      }
    }
  }
  await fileMatcher.copyFiles(
    fileMatcher.getFileMatchers(config, 'extraResources', resources, options),
    null,
    false,
  );
  return app;
}

/** Runs a package script as dpkg or rpm would (as root, /bin/sh), installing under `root`. */
function runScript(path: string, root: string, args: string[] = []): void {
  const text = expandScript(path);
  // Without the prefix the script would change the real /usr: never run such a one here.
  assert.match(text, /\$\{HINDSIGHT_INSTALL_ROOT:-\}/, `${path} must install under HINDSIGHT_INSTALL_ROOT`);
  const script = join(dirname(root), `${path.replace(/\W/g, '-')}.sh`);
  writeFileSync(script, text);
  const result = spawnSync('/bin/sh', [script, ...args], {
    env: { ...PKEXEC_ENV, HINDSIGHT_INSTALL_ROOT: root },
    encoding: 'utf8',
  });
  assert.equal(result.status, 0, `${path} failed: ${result.stderr}`);
}

const v1: RpmSpec[] = [
  { name: 'bash', version: '5.2.26', release: '3.fc40' },
  { name: 'kernel-core', version: '6.8.5', release: '301.fc40' },
  { name: 'oldtool', version: '1.0', release: '1' },
];
const v2: RpmSpec[] = [
  { name: 'bash', version: '5.2.26', release: '3.fc40' },
  { name: 'kernel-core', version: '6.8.9', release: '300.fc40' },
  { name: 'newtool', version: '2.0', release: '1' },
];

describe('the deb and rpm, installed into a temporary root', () => {
  let work = '';
  let root = '';
  let app = '';
  let launcher = '';
  const helpers: HelperClient[] = [];
  const start = async (sysroot: string): Promise<HelperClient> => {
    // As pkexec starts it: by its path, with nothing of the caller's environment.
    const helper = await spawnHelper({
      sysroot,
      mode: 'read',
      command: { program: launcher, args: [], env: PKEXEC_ENV },
    });
    helpers.push(helper);
    return helper;
  };

  before(async () => {
    work = tempFixtureRoot('hindsight-packaging-');
    root = join(work, 'root');
    launcher = join(root, INSTALLED_HELPER);
    execFileSync(process.execPath, [join(ROOT, '.ci', 'build.mjs'), '--quiet'], { cwd: ROOT });
    // What electron-builder runs before it rebuilds node_modules for Electron; true lets it go on.
    if (config.beforeBuild) {
      const hook = (await import(pathToFileURL(resolve(ROOT, config.beforeBuild)).href)) as {
        default: () => Promise<boolean>;
      };
      assert.equal(await hook.default(), true, 'the beforeBuild hook must let electron-builder rebuild');
    }
    app = await layOutApp(root);
    for (const script of new Set([config.deb?.afterInstall, config.rpm?.afterInstall])) {
      assert.ok(script, 'the deb and the rpm name an after-install script');
      runScript(script, root);
    }
  });
  after(async () => {
    await Promise.all(helpers.map((h) => h.close(10_000)));
    removeFixture(work);
  });

  it('has every file after-install.sh names, and the launcher where the polkit policy pins it', () => {
    const text = expandScript(config.deb?.afterInstall ?? '');
    const vars: Record<string, string> = { root };
    for (const m of text.matchAll(/^(\w+)=\$root(\/\S+)$/gm))
      vars[m[1] as string] = join(root, m[2] as string);
    assert.equal(vars.APP, app, 'the app folder is /opt/<productName>');
    const named = [...text.matchAll(/"\$(\w+)(\/[^"$*]*)"/g)].map(([, v, rest]) => {
      assert.ok(vars[v as string], `$${v} is set from $root`);
      return join(vars[v as string] as string, rest as string);
    });
    assert.ok(named.length >= 8, `after-install.sh names its paths (${named.length} found)`);
    for (const path of named) assert.ok(present(path), `${path.slice(root.length)} exists`);

    const policy = readFileSync(join(root, 'usr/share/polkit-1/actions/org.hindsight.policy'), 'utf8');
    for (const [, pinned] of policy.matchAll(/exec\.path">([^<]+)</g)) {
      assert.equal(pinned, INSTALLED_HELPER);
      const st = statSync(join(root, pinned as string));
      assert.equal(st.mode & 0o7777, 0o755);
      assert.deepEqual([st.uid, st.gid], [0, 0], 'root-owned');
    }
    assert.equal(statSync(join(app, 'chrome-sandbox')).mode & 0o7777, 0o4755);
    // What the packaged app runs for its unprivileged helper (helperRuntime), AppImage included.
    assert.equal(statSync(join(app, 'resources/helper/hindsight-helper')).mode & 0o111, 0o111);
    const link = join(root, 'usr/bin/hindsight-app');
    assert.ok(lstatSync(link).isSymbolicLink());
    assert.ok(existsSync(join(root, readlinkSync(link))), 'hindsight-app points at the app');
    // The helper never loads a module from the app: those are built for Electron.
    assert.ok(existsSync(join(root, 'usr/lib/hindsight/node_modules/better-sqlite3/package.json')));
  });

  it('builds packages whose Electron ignores ELECTRON_RUN_AS_NODE, which helperRuntime() counts on', () => {
    assert.equal(config.electronFuses?.runAsNode, false);
  });

  it('the installed launcher serves a real demo sysroot', async () => {
    const demo = buildDemo(join(work, 'demo'));
    const helper = await start(demo.sysroot);
    const status = await helper.call('status', {});
    assert.deepEqual(ids(status.deployments), ids(ostreeStatus(demo.sysroot)));
    const delta = await helper.call('packageDelta', { from: '1', to: '0' });
    assert.equal(delta.format, 'dpkg');
  });

  it('the installed launcher reads rpm databases (better-sqlite3 built for its Node.js)', async () => {
    const fx = createSysroot(join(work, 'rpm'), { stateroot: 'fedora', ref: 'fedora/40/x86_64/silverblue' });
    for (const [i, specs] of [v1, v2].entries()) {
      const rpms = buildRpms(specs, join(work, 'rpms'));
      commitTree(fx, { version: `40.${i + 1}`, populate: (tree) => installRpmDatabase(tree, rpms) });
      deploy(fx);
    }
    const helper = await start(fx.sysroot);
    const delta = await helper.call('packageDelta', { from: '1', to: '0' });
    assert.equal(delta.format, 'rpm');
    assert.deepEqual(
      [delta.added, delta.removed, delta.upgraded].map((list) => list.map((p) => p.name)),
      [['newtool'], ['oldtool'], ['kernel-core']],
    );
  });

  it('the launcher refuses a Node.js older than 20 in words', () => {
    const node = join(dirname(launcher), 'node');
    writeFileSync(node, '#!/bin/sh\necho v18.19.0\n');
    chmodSync(node, 0o755);
    try {
      const result = spawnSync(launcher, ['read'], { env: PKEXEC_ENV, encoding: 'utf8' });
      assert.equal(result.status, 1);
      assert.match(result.stderr, /is Node\.js v18\.19\.0; Hindsight's helper needs Node\.js 20 or later/);
    } finally {
      rmSync(node, { force: true });
    }
  });

  it('after-remove.sh keeps the helper through an rpm upgrade and removes it on removal', () => {
    const script = config.rpm?.afterRemove ?? '';
    runScript(script, root, ['1']);
    assert.ok(existsSync(launcher), 'rpm runs the old package’s script after the new one installed');
    runScript(script, root, ['0']);
    for (const path of [
      'usr/lib/hindsight',
      'usr/share/polkit-1/actions/org.hindsight.policy',
      'usr/bin/hindsight-app',
    ]) {
      assert.ok(!present(join(root, path)), `${path} is gone`);
    }
    assert.ok(existsSync(app), 'the app folder is the package manager’s to remove');
  });
});

/** There, as a file, a folder or a link (whether or not the link points anywhere outside the root). */
function present(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
