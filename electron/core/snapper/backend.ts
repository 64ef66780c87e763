import { resolve } from 'node:path';
import { BACKEND_WORDS } from '../../../shared/backends.ts';
import { HindsightError } from '../../../shared/errors.ts';
import type { DeltaChangelogs, SnapperPackageDelta, SnapperSnapshotRef } from '../../../shared/types.ts';
import { printable } from '../ostree/selectors.ts';
import { deltaChangelogs } from '../packages/changelog.ts';
import { treePackageDiff } from '../packages/package-delta.ts';
import { type PackageList, readTreePackages } from '../packages/package-source.ts';
import type { EntryState, SystemBackend, SystemEntry } from '../system/backend.ts';
import { DEFAULT_SNAPPER_CONFIG } from '../system/detect.ts';
import type { SnapperSnapshot } from './snapper-list.ts';
import { readSnapperRoot, type SnapperRootReport, snapshotFolder } from './snapshots.ts';

/**
 * snapper behind the system seam, read-only: snapper's own list, the default and active
 * subvolumes from btrfs, and each snapshot's packages from the database inside its folder.
 */

export type SnapperSystem = SystemBackend<SnapperRootReport, SnapperPackageDelta> & {
  readonly kind: 'snapper';
};

export interface SnapperOptions {
  root: string;
  config?: string;
  /** The caller's uid (tests pass one to see the non-root answer); default: this process's. */
  uid?: number;
}

/** The words a snapper selector may be besides a snapshot number. */
export const SNAPPER_SELECTOR_KEYWORDS = ['default', 'active', 'booted', 'current'] as const;

// snapper numbers snapshots from 1 (0 is "current") in an unsigned int; no leading zeros, so that
// `007` is refused rather than read as 7.
const NUMBER = /^(?:0|[1-9]\d{0,9})$/;

function selectorError(selector: string): HindsightError {
  return new HindsightError(
    'bad-selector',
    `"${printable(selector)}" is not a snapshot selector (use a snapshot number, default, active, booted or current)`,
  );
}

/** The snapshot number a selector names, as snapper flags them: `default` boots next, `active` is mounted. */
export function resolveSnapshotNumber(report: SnapperRootReport, selector: string): number {
  const listed = (n: number): boolean => report.snapshots.some((s) => s.number === n);
  if (NUMBER.test(selector)) {
    const n = Number(selector);
    if (listed(n)) return n;
    const numbers = report.snapshots.map((s) => s.number);
    throw new HindsightError(
      'no-such-deployment',
      `no snapshot ${n} in ${report.root} (snapper lists ${numbers.join(', ') || 'none'})`,
    );
  }
  if (selector === 'current') return 0;
  if (selector === 'default' || selector === 'active' || selector === 'booted') {
    const flag = selector === 'default' ? 'default' : 'active';
    const flagged = report.snapshots.find((s) => s[flag]);
    if (flagged) return flagged.number;
    // snapper flags only snapshots; btrfs can still name a default or mounted subvolume that is one.
    const sub = flag === 'default' ? report.defaultSubvolume : report.activeSubvolume;
    if (sub.number !== null && listed(sub.number)) return sub.number;
    throw new HindsightError(
      'no-such-deployment',
      `the ${flag} subvolume of ${report.root} is ${sub.path}, which is not one of snapper's snapshots`,
    );
  }
  throw selectorError(selector);
}

function snapshotOf(report: SnapperRootReport, number: number): SnapperSnapshot {
  return report.snapshots.find((s) => s.number === number) as SnapperSnapshot;
}

export function snapshotStates(s: SnapperSnapshot): EntryState[] {
  const out: EntryState[] = [];
  if (s.number === 0) out.push('current');
  if (s.active) out.push('running');
  if (s.default) out.push('next-boot');
  return out;
}

export function snapshotEntry(s: SnapperSnapshot): SystemEntry {
  return {
    id: String(s.number),
    position: s.number,
    date: s.date,
    title: s.description || null,
    states: snapshotStates(s),
  };
}

export function snapshotRef(s: SnapperSnapshot): SnapperSnapshotRef {
  return { number: s.number, type: s.type, preNumber: s.preNumber, date: s.date, description: s.description };
}

/** The package list inside one snapshot's folder (0: the live root). */
export function snapshotPackages(report: SnapperRootReport, number: number): PackageList {
  const folder = snapshotFolder(report.root, number);
  const list = readTreePackages(folder);
  if (!list)
    throw new HindsightError(
      'no-package-database',
      `snapshot ${number} has no rpm, dpkg or pacman database (looked in ${folder})`,
    );
  return list;
}

/**
 * The changelog entries of every package that changed between two snapshots, read from the
 * package database or doc files inside each snapshot's folder, with the CVEs they name.
 */
export function snapshotChangelogs(
  report: SnapperRootReport,
  fromSelector: string,
  toSelector: string,
): DeltaChangelogs {
  const [from, to] = [fromSelector, toSelector].map((s) =>
    snapshotFolder(report.root, resolveSnapshotNumber(report, s)),
  ) as [string, string];
  return deltaChangelogs(from, to, treePackageDiff(from, to));
}

export function snapperBackend(options: SnapperOptions): SnapperSystem {
  const root = resolve(options.root);
  const config = options.config ?? DEFAULT_SNAPPER_CONFIG;
  return {
    kind: 'snapper',
    words: BACKEND_WORDS.snapper,
    root,
    async read() {
      // snapper without snapperd (--no-dbus, which --root demands) and btrfs read the filesystem
      // themselves, and both need root for it: say so once instead of relaying their errors.
      const uid = options.uid ?? process.getuid?.() ?? 0;
      if (uid !== 0)
        throw new HindsightError(
          'not-authorized',
          `reading the snapper root ${root} needs root (snapper --no-dbus and btrfs read the disk directly); run this as root`,
        );
      return readSnapperRoot(root, { config });
    },
    describe: (report) => `${BACKEND_WORDS.snapper.system} ${report.root} (config ${report.config})`,
    entries: (report) => report.snapshots.map(snapshotEntry),
    resolve: (report, selector) => snapshotEntry(snapshotOf(report, resolveSnapshotNumber(report, selector))),
    packages: async (report, selector) => snapshotPackages(report, resolveSnapshotNumber(report, selector)),
    async packageDelta(report, fromSelector, toSelector) {
      const [from, to] = [fromSelector, toSelector].map((s) =>
        snapshotOf(report, resolveSnapshotNumber(report, s)),
      ) as [SnapperSnapshot, SnapperSnapshot];
      const diff = treePackageDiff(
        snapshotFolder(report.root, from.number),
        snapshotFolder(report.root, to.number),
      );
      return {
        from: { ...snapshotRef(from), packages: diff.from.packages.length },
        to: { ...snapshotRef(to), packages: diff.to.packages.length },
        format: diff.format,
        added: diff.added,
        removed: diff.removed,
        upgraded: diff.upgraded,
        downgraded: diff.downgraded,
      };
    },
    nextBoot(report) {
      const n = report.snapshots.find((s) => s.default)?.number ?? report.defaultSubvolume.number;
      const s = n === null ? undefined : report.snapshots.find((x) => x.number === n);
      return s ? snapshotEntry(s) : null;
    },
  };
}
