import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { findProgram, requireProgram, runSync, runSyncChecked } from '../exec.ts';
import {
  applyChanges,
  changeMix,
  generateTree,
  type ScratchFs,
  scratchFs,
  scratchSkipReason,
} from '../fixtures/scratch-trees.ts';
import { compareTrees } from './tree-compare.ts';

/**
 * Timing of the tree comparison on a generated tree (printed, not asserted: machines differ).
 * HINDSIGHT_TREE_FILES sets the size (default 20,000 entries, so that the unit suite stays quick;
 * 100,000 for the figures of issue 15), with 5% of them changed;
 * HINDSIGHT_TREE_REFERENCES=1 also times `diff -rq --no-dereference` and `rsync -n` on the same
 * trees. As root, the trees are two read-only btrfs snapshots (as snapper's) and ext4 copies of
 * them, each on its own loop device, remounted before every cold run; otherwise plain folders in
 * the temp folder, warm only.
 */

const FILES = Number(process.env.HINDSIGHT_TREE_FILES ?? 20_000);
const CHANGES = Math.round(FILES / 20);
const REFERENCES = process.env.HINDSIGHT_TREE_REFERENCES === '1';
const SCRATCH_SKIP = scratchSkipReason();

function ms(start: number): string {
  return `${Math.round(performance.now() - start)} ms`;
}

function timeCompare(a: string, b: string): { time: string; count: number; read: number; proven: number } {
  const start = performance.now();
  const comparison = compareTrees(a, b);
  let count = 0;
  for (const _ of comparison) count++;
  const time = ms(start);
  return { time, count, read: comparison.stats.filesRead, proven: comparison.stats.provenSame };
}

function timeProgram(name: string, args: string[]): string {
  const program = findProgram(name);
  if (!program) return `${name} not installed`;
  const start = performance.now();
  const result = runSync(program, args);
  const lines = result.stdout.toString('latin1').split('\n').filter(Boolean).length;
  return `${ms(start)} (${lines} lines, exit ${result.code})`;
}

/** Times Hindsight (and the references when asked) on one pair of trees, cold then warm. */
function measure(label: string, a: string, b: string, expected: number, fs: ScratchFs | null): void {
  const report: string[] = [];
  const runs: [string, () => string][] = [
    [
      'hindsight',
      () => {
        const r = timeCompare(a, b);
        assert.equal(r.count, expected, `${label}: changes found`);
        return `${r.time} (${r.count} changes, ${r.read} same-size pairs read, ${r.proven} proven same)`;
      },
    ],
  ];
  if (REFERENCES) {
    runs.push(['diff -rq --no-dereference', () => timeProgram('diff', ['-rq', '--no-dereference', a, b])]);
    runs.push([
      'rsync -rlpgoDn --itemize-changes',
      () => timeProgram('rsync', ['-rlpgoDn', '--itemize-changes', `${a}/`, `${b}/`]),
    ]);
  }
  for (const [name, run] of runs) {
    if (fs) {
      fs.remount();
      report.push(`  ${name}, cold: ${run()}`);
    }
    report.push(`  ${name}, warm: ${run()}`);
  }
  console.log(`${label}, ${FILES} entries, ${expected} changes:\n${report.join('\n')}`);
}

describe(`tree comparison timing (${FILES} entries, ${CHANGES} changes)`, () => {
  const cleanups: (() => void)[] = [];
  after(() => {
    for (const cleanup of cleanups.reverse()) cleanup();
  });

  it('two btrfs snapshots, and ext4 copies of them (root: loop devices)', { skip: SCRATCH_SKIP }, () => {
    const btrfs = scratchFs('btrfs', 4096);
    cleanups.push(btrfs.cleanup);
    const live = join(btrfs.mount, 'live');
    const btrfsCmd = requireProgram('btrfs');
    runSyncChecked(btrfsCmd, ['subvolume', 'create', live]);
    let start = performance.now();
    generateTree(live, FILES);
    runSyncChecked(btrfsCmd, ['subvolume', 'snapshot', '-r', live, join(btrfs.mount, 'a')]);
    const expected = applyChanges(live, FILES, changeMix(CHANGES));
    runSyncChecked(btrfsCmd, ['subvolume', 'snapshot', '-r', live, join(btrfs.mount, 'b')]);
    console.log(`generated and snapshotted in ${ms(start)}`);
    measure('btrfs snapshots', join(btrfs.mount, 'a'), join(btrfs.mount, 'b'), expected, btrfs);

    const ext4 = scratchFs('ext4', 4096);
    cleanups.push(ext4.cleanup);
    start = performance.now();
    const cp = requireProgram('cp');
    for (const side of ['a', 'b'])
      runSyncChecked(cp, ['-a', join(btrfs.mount, side), join(ext4.mount, side)]);
    console.log(`copied to ext4 in ${ms(start)}`);
    measure(
      'ext4 copies (no inode proof: every same-size file is read)',
      join(ext4.mount, 'a'),
      join(ext4.mount, 'b'),
      expected,
      ext4,
    );
  });

  it('plain folders in the temp folder (warm)', {
    skip: !SCRATCH_SKIP && 'measured on loop devices above',
  }, () => {
    const work = mkdtempSync(join(tmpdir(), 'hindsight-tree-'));
    cleanups.push(() => rmSync(work, { recursive: true, force: true }));
    generateTree(join(work, 'a'), FILES);
    cpSync(join(work, 'a'), join(work, 'b'), {
      recursive: true,
      preserveTimestamps: true,
      verbatimSymlinks: true,
    });
    const expected = applyChanges(join(work, 'b'), FILES, changeMix(CHANGES));
    measure('plain folders', join(work, 'a'), join(work, 'b'), expected, null);
  });
});
