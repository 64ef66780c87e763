import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { EtcMergeFile } from '../../../shared/types.ts';
import { useMergeScenario } from '../fixtures/test-support.ts';
import { deploymentPath } from '../ostree/sysroot.ts';
import { nodeChanges } from './etc-drift.ts';
import { etcMerge } from './etc-merge.ts';
import { absolute, decodeEtcPath, lstatNode } from './etc-tree.ts';

function file(files: EtcMergeFile[], path: string): EtcMergeFile {
  const found = files.find((f) => f.path === path);
  assert.ok(found, `merge lists ${path}`);
  return found;
}

describe('three-way /etc analysis on real deployments', () => {
  const ctx = useMergeScenario();

  it("predicts exactly what ostree's own merge did when it deployed v2 over the edited v1", async () => {
    const report = await etcMerge(ctx.report, '1', '0');
    assert.equal(report.target.deployed, true);
    const [v2, v1] = ctx.report.deployments;
    const v2Tree = deploymentPath(ctx.report.sysroot, v2 as never);
    const v1Tree = deploymentPath(ctx.report.sysroot, v1 as never);
    let checked = 0;
    for (const f of report.files) {
      const rel = decodeEtcPath(f);
      const actualPath = absolute(join(v2Tree, 'etc'), rel);
      const actual = lstatNode(actualPath);
      const expectedRoot = f.ostree === 'kept-local' ? join(v1Tree, 'etc') : join(v2Tree, 'usr/etc');
      if (f.ostree === 'deleted') {
        assert.equal(actual, null, `${f.path} deleted by ostree`);
      } else {
        const expectedPath = absolute(expectedRoot, rel);
        const expected = lstatNode(expectedPath);
        assert.ok(expected && actual, `${f.path} exists after ostree's merge (${f.ostree})`);
        assert.deepEqual(
          nodeChanges(expectedPath, expected, actualPath, actual),
          [],
          `${f.path}: ${f.ostree}`,
        );
      }
      checked++;
    }
    assert.ok(checked >= 20, `checked ${checked} paths against ostree`);
    const outcomes = new Set(report.files.map((f) => f.ostree));
    for (const o of ['kept-local', 'took-upstream', 'deleted'] as const) assert.ok(outcomes.has(o), o);
  });

  it('merges passwd and group by entry: the user you added and the system user the image added both stay', async () => {
    const { files } = await etcMerge(ctx.report, '1', '0');
    const passwd = file(files, 'passwd');
    assert.equal(passwd.ostree, 'kept-local');
    assert.ok(passwd.flags.includes('upstream-hidden'));
    assert.equal(passwd.strategy, 'entries');
    assert.equal(passwd.merge, 'clean');
    assert.match(passwd.merged ?? '', /^alice:x:1000:/m);
    assert.match(passwd.merged ?? '', /^sshd:x:101:/m);
    const group = file(files, 'group');
    assert.equal(group.merge, 'clean');
    assert.match(group.merged ?? '', /^sudo:x:27:alice$/m);
    assert.match(group.merged ?? '', /^_ssh:x:101:$/m);
    assert.match(group.merged ?? '', /^alice:x:1000:$/m);
  });

  it('merges text by line: clean where the edits are apart, conflict where they overlap', async () => {
    const { files } = await etcMerge(ctx.report, '1', '0');
    const hosts = file(files, 'hosts');
    assert.equal(hosts.merge, 'clean');
    assert.ok(hosts.flags.includes('upstream-hidden'));
    assert.match(hosts.merged ?? '', /localhost\.localdomain/);
    assert.match(hosts.merged ?? '', /nas\.local/);
    const sshd = file(files, 'ssh/sshd_config');
    assert.equal(sshd.merge, 'conflict');
    assert.equal(sshd.conflicts?.length, 1);
    assert.deepEqual(sshd.conflicts?.[0]?.local, ['PasswordAuthentication no']);
    assert.deepEqual(sshd.conflicts?.[0]?.upstream, ['PasswordAuthentication prohibit']);
    const both = file(files, 'both-added.conf');
    assert.equal(both.local, 'added');
    assert.equal(both.upstream, 'added');
    assert.equal(both.merge, 'conflict');
  });

  it('flags deletions of changed files, takes upstream where you changed nothing, and spots mode-only copies', async () => {
    const { files } = await etcMerge(ctx.report, '1', '0');
    const legacy = file(files, 'legacy.conf');
    assert.equal(legacy.ostree, 'deleted');
    assert.ok(legacy.flags.includes('deleted-but-changed-upstream'));
    const issue = file(files, 'issue');
    assert.equal(issue.local, 'unchanged');
    assert.equal(issue.ostree, 'took-upstream');
    assert.equal(issue.merge, 'none');
    // Only the mode was changed, yet OSTree keeps the whole old file: the new value=2 is hidden.
    const modeOnly = file(files, 'mode-and-upstream.conf');
    assert.equal(modeOnly.ostree, 'kept-local');
    assert.ok(modeOnly.flags.includes('upstream-hidden'));
    assert.equal(modeOnly.merged, 'value=2\n');
    const gone = file(files, 'removed-upstream.conf');
    assert.equal(gone.upstream, 'removed');
    assert.equal(gone.ostree, 'kept-local');
    assert.equal(gone.merge, 'conflict');
    const binary = file(files, 'ld.so.cache');
    assert.equal(binary.merge, 'none');
  });

  it('sees that ostree would refuse a commit that turns a locally added file into a directory', async () => {
    const report = await etcMerge(ctx.report, '0', ctx.scenario.v3.slice(0, 16));
    assert.equal(report.target.deployed, false);
    assert.equal(report.target.version, '3.0');
    const clash = file(report.files, 'local-file.conf');
    assert.equal(clash.ostree, 'refused');
    assert.ok(clash.flags.includes('type-conflict'));
  });
});
