import assert from 'node:assert/strict';
import { chmodSync, lstatSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { requireProgram, runSyncChecked } from '../exec.ts';
import { scratchFs, scratchSkipReason } from '../fixtures/scratch-trees.ts';
import { buildSnapperRoot, type SnapperRoot, snapperRootSkipReason } from '../fixtures/snapper-root.ts';
import { snapshotFolder } from '../snapper/snapshots.ts';
import { parseSnapperStatus, snapperLetters } from './snapper-letters.ts';
import { compareTrees } from './tree-compare.ts';

/**
 * The tree comparison against snapper's own `status` on a real loop-backed btrfs snapper root.
 * snapper writes a file list cache (`.snapshots/N/filelist-M.txt`) when it compares; that is why
 * this runs on the fixture only.
 */

const SKIP = snapperRootSkipReason();
if (SKIP) console.log(`# tree comparison on snapper snapshots: skipped — ${SKIP}`);

/** Hindsight's comparison as snapper prints it: `letters /path`, sorted. */
function ours(fx: SnapperRoot, from: number, to: number): { lines: string[]; read: number; proven: number } {
  const comparison = compareTrees(snapshotFolder(fx.root, from), snapshotFolder(fx.root, to));
  const lines = [...comparison].map((c) => `${snapperLetters(c)} /${c.path.toString('utf8')}`);
  return { lines: lines.sort(), read: comparison.stats.filesRead, proven: comparison.stats.provenSame };
}

function snappers(fx: SnapperRoot, from: number, to: number): string[] {
  const parsed = parseSnapperStatus(fx.snapper(['status', `${from}..${to}`]));
  return parsed.map((l) => `${l.letters} ${l.path}`).sort();
}

describe('files between two snapper snapshots (real btrfs)', { skip: SKIP }, () => {
  let fx: SnapperRoot;
  before(() => {
    fx = buildSnapperRoot({ flavour: 'tumbleweed' });
  });
  after(() => fx?.cleanup());

  it('equals snapper status for the zypper dup pre and post snapshots', () => {
    const { pre, post } = fx.story.upgrade as { pre: number; post: number };
    const start = performance.now();
    const got = ours(fx, pre, post);
    const ms = performance.now() - start;
    const theirs = snappers(fx, pre, post);
    console.log(
      `${pre}..${post}: ${got.lines.length} changes in ${ms.toFixed(1)} ms, ${got.read} same-size pairs read, ${got.proven} proven same by inode\n  ${got.lines.join('\n  ')}`,
    );
    assert.ok(theirs.length > 0, 'snapper lists the upgrade');
    assert.deepEqual(got.lines, theirs);
    // Upgraded bash, oldtool removed, sshd_config.rpmnew left, the rpm database rewritten.
    assert.ok(got.lines.includes('c..... /usr/bin/bash-fixture'));
    assert.ok(got.lines.includes('-..... /usr/bin/oldtool'));
    assert.ok(got.lines.includes('+..... /etc/ssh/sshd_config.rpmnew'));
  });

  it('equals snapper status for every other pair of the story, across the live root too', () => {
    const { install, timeline } = fx.story as { install: { pre: number; post: number }; timeline: number };
    for (const [from, to] of [
      [install.pre, install.post],
      [1, timeline],
      [install.pre, timeline],
    ] as const) {
      assert.deepEqual(ours(fx, from, to).lines, snappers(fx, from, to), `${from}..${to}`);
    }
    // Snapshot 0 is the live root, where .snapshots, /home and /var are mounts (other devices):
    // neither walks into them, and the /etc/motd edit after the last snapshot shows.
    const live = ours(fx, timeline, 0).lines;
    assert.deepEqual(live, snappers(fx, timeline, 0));
    assert.ok(live.includes('c..... /etc/motd'), live.join('\n'));
    assert.ok(!live.some((l) => l.includes('/.snapshots/')));
  });

  it('finds rewrites that keep the mtime, which snapper status misses', () => {
    // snapper takes equal mtimes as equal content before it even looks at the sizes. Packages,
    // tar and restores set mtimes, so a file can change and keep its mtime. Only ctime moves
    // then (no system call sets it back); Hindsight trusts an unchanged inode number with both
    // times unchanged, and otherwise reads the bytes.
    const path = (p: string): string => join(fx.root, p);
    const changes: (() => void)[] = [];
    const keepMtime = (p: string, write: () => void): void => {
      // Whole seconds, so that setting the time back is exact (utimes from Node rounds to µs).
      utimesSync(path(p), 1_700_000_000, 1_700_000_000);
      changes.push(write);
      changes.push(() => utimesSync(path(p), 1_700_000_000, 1_700_000_000));
    };
    // New bytes, same size, same mtime.
    keepMtime('etc/hostname', () => writeFileSync(path('etc/hostname'), 'hindsight-SNAPPER\n'));
    // New bytes, another size, same mtime.
    keepMtime('etc/zypp/zypper.conf', () => writeFileSync(path('etc/zypp/zypper.conf'), '[main]\nx=1\n'));
    // No change at all, though written (new mtime), written back with the old mtime, or chmod'ed and back.
    changes.push(() => writeFileSync(path('etc/hosts'), readFileSync(path('etc/hosts'))));
    keepMtime('etc/motd', () => writeFileSync(path('etc/motd'), readFileSync(path('etc/motd'))));
    changes.push(() => {
      chmodSync(path('etc/os-release'), 0o600);
      chmodSync(path('etc/os-release'), 0o644);
    });
    const pre = Number(
      fx.snapper(['create', '--print-number', '--type', 'pre', '--description', 'mtime kept']).trim(),
    );
    for (const change of changes) change();
    const post = Number(
      fx
        .snapper([
          'create',
          '--print-number',
          '--type',
          'post',
          '--pre-number',
          String(pre),
          '--description',
          'mtime kept',
        ])
        .trim(),
    );
    const theirs = snappers(fx, pre, post);
    const got = ours(fx, pre, post);
    console.log(
      `${pre}..${post}: snapper lists [${theirs.join(', ')}]; Hindsight [${got.lines.join(', ')}], ${got.read} pairs read, ${got.proven} proven same by inode`,
    );
    assert.deepEqual(got.lines, ['c..... /etc/hostname', 'c..... /etc/zypp/zypper.conf']);
    assert.deepEqual(theirs, [], 'snapper trusts the equal mtimes');
    // Read: hostname, hosts, motd, os-release (ctime moved, same size); every other file proven.
    assert.equal(got.read, 4);
    assert.ok(got.proven > 5, `${got.proven} files proven the same by inode`);
  });
});

describe('nested btrfs subvolumes (real btrfs)', { skip: scratchSkipReason() }, () => {
  it('are not entered, in the live subvolume nor as the empty placeholders snapshots keep of them', () => {
    const fs = scratchFs('btrfs', 512);
    try {
      const btrfs = requireProgram('btrfs');
      const live = join(fs.mount, 'live');
      runSyncChecked(btrfs, ['subvolume', 'create', live]);
      writeFileSync(join(live, 'file'), 'one\n');
      runSyncChecked(btrfs, ['subvolume', 'create', join(live, 'nested')]);
      writeFileSync(join(live, 'nested/inside'), 'x\n');
      runSyncChecked(btrfs, ['subvolume', 'snapshot', '-r', live, join(fs.mount, 'before')]);
      writeFileSync(join(live, 'nested/added'), 'x\n');
      writeFileSync(join(live, 'file'), 'two\n');
      runSyncChecked(btrfs, ['subvolume', 'snapshot', '-r', live, join(fs.mount, 'after')]);
      // A snapshot does not hold nested subvolumes: it keeps an empty folder (inode 2) on a device
      // of its own in their place.
      assert.notEqual(
        lstatSync(join(fs.mount, 'before/nested')).dev,
        lstatSync(join(fs.mount, 'before')).dev,
      );
      for (const to of ['after', 'live']) {
        const comparison = compareTrees(join(fs.mount, 'before'), join(fs.mount, to));
        const got = [...comparison].map((c) => `${snapperLetters(c)} ${c.path}`);
        assert.deepEqual(got, ['c..... file'], to);
        assert.equal(comparison.stats.boundaries, 1, to);
      }
    } finally {
      fs.cleanup();
    }
  });
});
