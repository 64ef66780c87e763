// Finds every *.test.ts under electron/ and shared/ (or the folders named with --in=A,B) and runs
// them with node's test runner (Node 20's --test does not expand globs itself). Extra arguments are
// passed on before the files, e.g. --test-name-pattern=rollback.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function find(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...find(path));
    else if (entry.name.endsWith('.test.ts')) out.push(relative(root, path));
  }
  return out;
}

const given = process.argv.slice(2);
const folders = given
  .find((a) => a.startsWith('--in='))
  ?.slice('--in='.length)
  .split(',') ?? ['electron', 'shared'];
const passed = given.filter((a) => !a.startsWith('--in='));
const files = folders.flatMap((d) => find(join(root, d))).sort();
const args = ['--import', 'tsx', '--test', '--test-concurrency=2', ...passed, ...files];
const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
process.exit(result.status ?? 1);
