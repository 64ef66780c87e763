import type { BackendKind, BackendWords } from '../../../shared/backends.ts';
import type { PackageList } from '../packages/package-source.ts';

/**
 * The seam every system backend implements: OSTree deployments, snapper snapshots, and later
 * rpm-ostree/bootc, ABRoot or Nix generations. A backend reads its system once into its own report
 * (`read`), and every other question is asked of that report, so one command reads the disk once
 * and answers from one consistent moment.
 *
 * Each backend keeps its own report and delta types (an OSTree deployment has a checksum and kernel
 * arguments, a snapper snapshot a pre-number and userdata): the CLI and the app show what is
 * particular to a backend from those, and what every backend shares from SystemEntry.
 */

/** What an entry is now, in words common to every backend. */
export type EntryState =
  /** Running now (OSTree: booted; snapper: active, the subvolume mounted at the root). */
  | 'running'
  /** Boots next (OSTree: index 0; snapper: the default subvolume). */
  | 'next-boot'
  /** OSTree: deployed before the booted one, so it boots next. */
  | 'pending'
  /** OSTree: what a rollback would boot. */
  | 'rollback'
  /** OSTree: a deployment finished at shutdown. */
  | 'staged'
  /** OSTree: kept by every cleanup. */
  | 'pinned'
  /** snapper: snapshot 0, the live root itself rather than a snapshot of it. */
  | 'current';

/** One entry of a system, in terms every backend can fill. */
export interface SystemEntry {
  /** A selector that names exactly this entry for as long as it exists (`CHECKSUM.SERIAL`, `5`). */
  id: string;
  /** Its place: OSTree's deployment index (boot order), snapper's snapshot number (age). */
  position: number;
  /** ISO 8601, or null when the backend does not know (snapper's "current"). */
  date: string | null;
  /** What a person calls it: an OSTree version, a snapper description. */
  title: string | null;
  states: EntryState[];
}

export interface SystemBackend<Report, Delta> {
  readonly kind: BackendKind;
  readonly words: BackendWords;
  /** The folder given (`--sysroot`), absolute. */
  readonly root: string;
  /** Reads the system: snapper's list, OSTree's deployments. */
  read(): Promise<Report>;
  /** One line naming what was read: "snapper root /mnt/x (config root)". */
  describe(report: Report): string;
  entries(report: Report): SystemEntry[];
  /** The entry a selector names; selectors are the backend's own (`rollback`, `default`, `5`). */
  resolve(report: Report, selector: string): SystemEntry;
  /** The package list of what a selector names, from the database inside it. */
  packages(report: Report, selector: string): Promise<PackageList>;
  packageDelta(report: Report, from: string, to: string): Promise<Delta>;
  /** The entry that boots next, or null when the system cannot say (a default outside its entries). */
  nextBoot(report: Report): SystemEntry | null;
}
