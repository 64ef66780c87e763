import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { requireProgram, runSync } from '../core/exec.ts';
import { snapperDemoSkipReason } from '../core/fixtures/snapper-demo.ts';
import { removeFixture } from '../core/fixtures/sysroot-fixture.ts';

/**
 * The README's CLI examples, read from the README itself and run in order on a fresh demo, so the
 * README cannot drift from what the CLI does. A line marked `# booted only` in the README would be
 * skipped (none is: the demo is a real sysroot).
 */

const README = fileURLToPath(new URL('../../README.md', import.meta.url));
const LAUNCHER = fileURLToPath(new URL('./hindsight.mjs', import.meta.url));
/** The README's demo folder, replaced by one of this test's. */
const README_DEMO = '/tmp/d';

/** Every `hindsight …` command of the ```sh blocks in one README section, in order. */
function readmeCommands(markdown: string, heading = 'The CLI'): string[][] {
  const escaped = heading.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const section = markdown.split(new RegExp(`^## ${escaped}$`, 'm'))[1]?.split(/^## /m)[0];
  assert.ok(section, `README.md has a "## ${heading}" section`);
  const commands: string[][] = [];
  for (const block of section.matchAll(/^```sh\n([\s\S]*?)^```$/gm)) {
    for (const line of (block[1] ?? '').split('\n')) {
      if (/#\s*booted only/.test(line)) continue;
      const code = line.replace(/\s#.*$/, '').trim();
      for (const part of code.split(';')) {
        // Words as a shell splits them here: "quoted words" are one argument.
        const words = [...part.trim().matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? '');
        if (!words.length) continue;
        assert.equal(words[0], 'hindsight', `a README example that is not a hindsight command: ${part}`);
        commands.push(words.slice(1));
      }
    }
  }
  return commands;
}

/** Changes to the deployment list: each must change what status shows, or the example is a no-op. */
const DEPLOYMENT_CHANGES = new Set(['rollback', 'pin', 'unpin', 'undeploy', 'deploy', 'cancel', 'upgrade']);

const root = mkdtempSync(join(tmpdir(), 'hindsight-readme-'));
const demo = join(root, 'd');

function cli(args: string[]) {
  const result = spawnSync(process.execPath, [LAUNCHER, ...args], {
    encoding: 'utf8',
    env: { ...process.env, XDG_DATA_HOME: join(root, 'data'), HINDSIGHT_FROM_SOURCE: '1' },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("README.md's CLI examples", () => {
  after(() => removeFixture(root));

  it('reads a demo, then changes, from the README', () => {
    const commands = readmeCommands(readFileSync(README, 'utf8'));
    assert.deepEqual(commands[0], ['demo', README_DEMO], 'the examples start by building the demo');
    assert.ok(commands.length >= 15, `examples found: ${commands.length}`);
  });

  it('all run, in order, on a fresh demo, and each change to the deployments changes them', {
    skip: process.getuid?.() !== 0 && 'the changes need root (pkexec would ask)',
  }, () => {
    const status = (): string => {
      const result = cli(['status', '--json', '--sysroot', join(demo, 'sysroot')]);
      assert.equal(result.code, 0, result.stderr);
      return result.stdout;
    };
    for (const example of readmeCommands(readFileSync(README, 'utf8'))) {
      const args = example.map((word) => word.replace(README_DEMO, demo));
      const shown = `hindsight ${example.join(' ')}`;
      // The README's placeholder for a backup: the one `etc backups` lists now.
      const id = args.indexOf('ID');
      if (id >= 0) {
        const list = cli(['etc', 'backups', '--json', '--sysroot', join(demo, 'sysroot')]);
        const first = (JSON.parse(list.stdout) as { backups: { id: string }[] }).backups[0];
        assert.ok(first, `${shown}: a backup to remove`);
        args[id] = first.id;
      }
      const changes = DEPLOYMENT_CHANGES.has(args[0] as string) && !args.includes('--check');
      const before = changes ? status() : '';
      const result = cli(args);
      assert.equal(result.code, 0, `${shown} failed: ${result.stderr}`);
      if (changes) assert.notEqual(status(), before, `${shown} changed nothing`);
    }
  });
});

const SNAPPER_SECTION = 'snapper roots (openSUSE, Arch, Debian with btrfs)';
/** The README's snapper demo folder, replaced by one of this test's. */
const README_SNAPPER = '/tmp/s';

describe("README.md's snapper examples", () => {
  const skip = snapperDemoSkipReason();
  const dir = mkdtempSync(join(tmpdir(), 'hindsight-readme-snapper-'));
  after(() => {
    const root = join(dir, 'root');
    if (runSync(requireProgram('mountpoint'), ['-q', root]).code === 0)
      runSync(requireProgram('umount'), ['-R', root]);
    // Only the loop device behind this test's own image.
    const attached = runSync(requireProgram('losetup'), ['-j', join(dir, 'btrfs.img'), '-O', 'NAME', '-n']);
    for (const device of attached.stdout.toString('utf8').split('\n').filter(Boolean))
      runSync(requireProgram('losetup'), ['-d', device.trim()]);
    removeFixture(dir);
  });

  it('all run, in order, on a fresh demo snapper root', { skip }, () => {
    const commands = readmeCommands(readFileSync(README, 'utf8'), SNAPPER_SECTION);
    assert.deepEqual(commands[0], ['demo', '--snapper', README_SNAPPER]);
    let lastOut = '';
    for (const example of commands) {
      // `start` serves the app until stopped: e2e/snapper.spec.ts drives it instead.
      if (example[0] === 'start') continue;
      const args = example.map((word) => word.replace(README_SNAPPER, dir));
      const shown = `hindsight ${example.join(' ')}`;
      // The README's placeholder: the backup the command before printed.
      const id = args.indexOf('ID');
      if (id >= 0) {
        const printed = /hindsight etc undo (\S+)/.exec(lastOut)?.[1];
        assert.ok(printed, `${shown}: the command before printed a backup to undo`);
        args[id] = printed;
      }
      const result = cli(args);
      assert.equal(result.code, 0, `${shown} failed: ${result.stderr}`);
      lastOut = result.stdout;
    }
  });
});
