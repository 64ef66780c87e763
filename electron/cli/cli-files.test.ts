import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildDemo, type DemoInfo } from '../core/fixtures/demo.ts';
import { removeFixture, tempFixtureRoot } from '../core/fixtures/sysroot-fixture.ts';
import { tool } from '../core/fixtures/test-support.ts';
import { ostreeStatus } from '../helper/test-support.ts';
import { assertOneLineError, cliRunner } from './cli-test-support.ts';

/**
 * `files diff`, `files show` and `packages diff --changelogs` on a real demo sysroot, against
 * `ostree diff` and `ostree cat` on the same commits.
 */

const { cli, json, cleanup } = cliRunner('cli-files');
after(cleanup);

interface CliFiles {
  from: { checksum: string };
  to: { checksum: string };
  entries: { path: string; status: 'added' | 'removed' | 'modified'; changes: string[]; package?: string }[];
  counts: { added: number; removed: number; modified: number };
}

const LETTER = { added: 'A', removed: 'D', modified: 'M' } as const;

/** `ostree diff`'s lines as `LETTER PATH`, sorted (it prints modified, then removed, then added). */
function ostreeDiff(repo: string, from: string, to: string): string[] {
  return tool('ostree', ['diff', `--repo=${repo}`, from, to])
    .split('\n')
    .filter(Boolean)
    .map((l) => l.replace(/^(\w)\s+/, '$1 '))
    .sort();
}

describe('hindsight files diff and files show on an OSTree sysroot', () => {
  let root = '';
  let demo: DemoInfo;
  let repo = '';
  before(() => {
    root = tempFixtureRoot('hindsight-cli-files-');
    demo = buildDemo(join(root, 'demo'));
    repo = join(demo.sysroot, 'ostree/repo');
  });
  after(() => removeFixture(root));

  it('lists what ostree diff lists, path for path and letter for letter, for every pair of deployments', () => {
    const deployments = ostreeStatus(demo.sysroot);
    for (const [i, a] of deployments.entries())
      for (const [j, b] of deployments.entries()) {
        if (a === b) continue;
        const diff = json<CliFiles>(['files', 'diff', String(i), String(j), '--sysroot', demo.sysroot]);
        assert.equal(diff.from.checksum, a.checksum);
        assert.deepEqual(
          diff.entries.map((e) => `${LETTER[e.status]} ${e.path}`).sort(),
          ostreeDiff(repo, a.checksum, b.checksum),
          `${i} → ${j}`,
        );
        const { added, removed, modified } = diff.counts;
        assert.equal(added + removed + modified, diff.entries.length);
      }
  });

  it('keeps to the PATHs given, and says what changed about a modified file', () => {
    const diff = json<CliFiles>(['files', 'diff', '2', '0', '/usr/etc', '--sysroot', demo.sysroot]);
    assert.ok(diff.entries.length > 0);
    assert.ok(diff.entries.every((e) => e.path.startsWith('/usr/etc/')));
    const hosts = diff.entries.find((e) => e.path === '/usr/etc/hosts');
    assert.deepEqual(hosts && [hosts.status, hosts.changes], ['modified', ['content']]);
    const human = cli(['files', 'diff', '2', '0', 'usr/etc', '--sysroot', demo.sysroot]);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /^M \/usr\/etc\/hosts {2}\(content\)$/m);
  });

  it("files show prints a commit's file as ostree cat does, and a deployment's own /etc", () => {
    const [next] = ostreeStatus(demo.sysroot);
    assert.ok(next);
    const shown = cli(['files', 'show', '0', '/usr/lib/os-release', '--sysroot', demo.sysroot]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.equal(
      shown.stdout,
      tool('ostree', ['cat', `--repo=${repo}`, next.checksum, '/usr/lib/os-release']),
    );
    const etc = cli(['files', 'show', '0', '/etc/hostname', '--sysroot', demo.sysroot]);
    const local = readFileSync(
      join(
        demo.sysroot,
        'ostree/deploy',
        next.stateroot,
        'deploy',
        `${next.checksum}.${next.serial}`,
        'etc/hostname',
      ),
      'utf8',
    );
    assert.equal(etc.stdout, local);
    assertOneLineError(
      cli(['files', 'show', '0', '/usr/nothing', '--sysroot', demo.sysroot, '--json']),
      'bad-path',
    );
    assertOneLineError(cli(['files', 'show', '0', '/usr', '--sysroot', demo.sysroot, '--json']), 'bad-path');
    assertOneLineError(
      cli(['files', 'show', '0', '/etc/../usr/x', '--sysroot', demo.sysroot, '--json']),
      'bad-path',
    );
  });

  it('packages diff --changelogs adds a changelog per changed package, with the CVEs its entries name', () => {
    const result = json<{
      upgraded: { name: string }[];
      changelogs: {
        packages: { name: string; direction: string; changelog: { entries: unknown[] } | null }[];
        cvesFixed: string[];
      };
    }>(['packages', 'diff', '2', '0', '--changelogs', '--sysroot', demo.sysroot]);
    assert.ok(result.upgraded.length > 0);
    const named = result.changelogs.packages.filter((p) => p.direction === 'upgrade').map((p) => p.name);
    assert.deepEqual(named.sort(), result.upgraded.map((p) => p.name).sort());
    // Each demo image ships usr/share/doc/PKG/changelog.Debian.gz for the packages it changes.
    assert.ok(result.changelogs.packages.every((p) => (p.changelog?.entries.length ?? 0) > 0));
    assert.ok(result.changelogs.cvesFixed.length > 0);
    const human = cli(['packages', 'diff', '2', '0', '--changelogs', '--sysroot', demo.sysroot]);
    assert.match(human.stdout, /^Fixes \d+ CVEs?: CVE-/m);
  });

  it('disk: what each deployment alone holds is what du counts for it after the others; status --json carries it', () => {
    const usage = json<{
      deployments: { checksum: string; serial: number; uniqueBytes: number; freedByRemoval: number }[];
    }>(['disk', '--sysroot', demo.sysroot]);
    const folders = ostreeStatus(demo.sysroot).map((d) =>
      join(demo.sysroot, 'ostree/deploy', d.stateroot, 'deploy', `${d.checksum}.${d.serial}`),
    );
    assert.equal(usage.deployments.length, folders.length);
    for (const [i, d] of usage.deployments.entries()) {
      // du counts each inode once, in argument order: the last folder's line is what only it holds.
      const others = folders.filter((_, j) => j !== i);
      const lines = tool('du', ['-s', '-B1', ...others, folders[i] as string])
        .trim()
        .split('\n');
      assert.equal(d.uniqueBytes, Number(lines.at(-1)?.split('\t')[0]), `deployment ${i}`);
      assert.ok(d.freedByRemoval > 0);
    }
    const status = json<{ disk: { deployments: unknown[] } }>(['status', '--sysroot', demo.sysroot]);
    assert.equal(status.disk.deployments.length, folders.length);
    const human = cli(['disk', '--sysroot', demo.sysroot]);
    assert.match(human.stdout, /REMOVING IT FREES/);
  });
});
