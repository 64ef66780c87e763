import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { HindsightError } from '../../../shared/errors.ts';
import { requireProgram, runSyncChecked } from '../exec.ts';
import { tool, useMergeScenario } from '../fixtures/test-support.ts';
import { resolveDeployment, resolveSnapshot } from './selectors.ts';
import { readStatus } from './sysroot.ts';

describe('sysroot reader on a real sysroot', () => {
  const ctx = useMergeScenario();

  it('lists deployments in the order and with the checksums ostree admin status shows', () => {
    const text = tool('ostree', ['admin', 'status', `--sysroot=${ctx.scenario.sysroot}`]);
    const listed = [...text.matchAll(/^[* ] (\S+) ([0-9a-f]{64})\.(\d+)/gm)].map(
      (m) => `${m[1]} ${m[2]}.${m[3]}`,
    );
    assert.equal(listed.length, 2);
    assert.deepEqual(
      ctx.report.deployments.map((d) => `${d.stateroot} ${d.checksum}.${d.serial}`),
      listed,
    );
    assert.deepEqual(
      ctx.report.deployments.map((d) => d.index),
      [0, 1],
    );
  });

  it('reads version, subject and timestamp as ostree show does', () => {
    for (const d of ctx.report.deployments) {
      const shown = tool('ostree', ['show', `--repo=${ctx.scenario.repo}`, d.checksum]);
      const version = tool('ostree', [
        'show',
        `--repo=${ctx.scenario.repo}`,
        '--print-metadata-key=version',
        d.checksum,
      ]);
      assert.equal(`'${d.version}'`, version.trim());
      assert.ok(shown.includes(`    ${d.subject}`), `subject ${d.subject} in ostree show`);
      const date = /^Date:\s+(\S+ \S+)/m.exec(shown)?.[1];
      assert.ok(date && d.timestamp?.startsWith(date.replace(' ', 'T')), `${d.timestamp} vs ${date}`);
    }
  });

  it('reads kernel and kernel arguments from the bootloader entries', () => {
    const [v2, v1] = ctx.report.deployments;
    assert.equal(v2?.kernel, '6.1.0-21-amd64');
    assert.equal(v1?.kernel, '6.1.0-18-amd64');
    // The v2 deployment inherited v1's kernel arguments through ostree's merge.
    for (const d of ctx.report.deployments) {
      assert.ok(d.kargs.includes('quiet') && d.kargs.includes('splash'), d.kargs.join(' '));
      assert.ok(!d.kargs.some((k) => k.startsWith('ostree=')));
    }
  });

  it('derives default, rollback and origin on a sysroot that is not booted', () => {
    const [v2, v1] = ctx.report.deployments;
    assert.equal(ctx.report.bootedSystem, false);
    assert.ok(v2?.default && !v2.rollback && !v2.booted && !v2.pending && !v2.staged);
    assert.ok(v1?.rollback && !v1.default);
    assert.equal(v2?.origin, 'debian/stable');
  });

  it('sees pinning done by ostree admin pin, and its undoing', async () => {
    const ostree = requireProgram('ostree');
    runSyncChecked(ostree, ['admin', 'pin', `--sysroot=${ctx.scenario.sysroot}`, '1']);
    try {
      const pinned = await readStatus({ sysroot: ctx.scenario.sysroot });
      assert.deepEqual(
        pinned.deployments.map((d) => d.pinned),
        [false, true],
      );
    } finally {
      runSyncChecked(ostree, ['admin', 'pin', '--unpin', `--sysroot=${ctx.scenario.sysroot}`, '1']);
    }
    const unpinned = await readStatus({ sysroot: ctx.scenario.sysroot });
    assert.deepEqual(
      unpinned.deployments.map((d) => d.pinned),
      [false, false],
    );
  });

  it('resolves selectors: index, keyword, checksum prefix, ref and commits not deployed', () => {
    const { report, scenario } = ctx;
    assert.equal(resolveDeployment(report, '0').checksum, scenario.v2);
    assert.equal(resolveDeployment(report, 'default').checksum, scenario.v2);
    assert.equal(resolveDeployment(report, 'rollback').checksum, scenario.v1);
    assert.equal(resolveDeployment(report, scenario.v1.slice(0, 8)).index, 1);
    const v3 = resolveSnapshot(report, scenario.v3.slice(0, 12));
    assert.equal(v3.kind, 'commit');
    assert.equal(v3.ref.version, '3.0');
    const head = resolveSnapshot(report, 'debian/stable');
    assert.equal(head.ref.checksum, scenario.v3);
  });

  it('answers wrong selectors with stable codes and one-line messages', () => {
    const { report } = ctx;
    const cases: [string, string][] = [
      ['7', 'no-such-deployment'],
      ['booted', 'no-such-deployment'],
      ['--repo=/', 'bad-selector'],
      ['../etc', 'bad-selector'],
      ['a\u0000b', 'bad-selector'],
      ['ffff0000', 'no-such-deployment'],
    ];
    for (const [selector, code] of cases) {
      assert.throws(
        () => resolveDeployment(report, selector),
        (e: unknown) => e instanceof HindsightError && e.code === code && !e.message.includes('\n'),
        selector,
      );
    }
    assert.throws(
      () => resolveSnapshot(report, 'no/such/ref'),
      (e: unknown) => e instanceof HindsightError && e.code === 'no-such-commit',
    );
  });
});

describe('sysroot reader errors', () => {
  it('rejects folders that are not sysroots', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hindsight-notsysroot-'));
    try {
      await assert.rejects(
        readStatus({ sysroot: dir }),
        (e: unknown) => e instanceof HindsightError && e.code === 'not-a-sysroot',
      );
      await assert.rejects(
        readStatus({ sysroot: join(dir, 'missing') }),
        (e: unknown) => e instanceof HindsightError && e.code === 'not-a-sysroot',
      );
      mkdirSync(join(dir, 'ostree', 'deploy'), { recursive: true });
      await assert.rejects(
        readStatus({ sysroot: dir }),
        (e: unknown) => e instanceof HindsightError && e.code === 'not-a-sysroot',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
