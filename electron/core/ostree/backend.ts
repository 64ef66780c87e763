import { BACKEND_WORDS } from '../../../shared/backends.ts';
import type { Deployment, PackageDelta, StatusReport } from '../../../shared/types.ts';
import type { PackageDeltaStore } from '../packages/package-delta.ts';
import type { PackageCache, PackageList } from '../packages/package-source.ts';
import type { EntryState, SystemBackend, SystemEntry } from '../system/backend.ts';
import { resolveDeployment } from './selectors.ts';
import { type DeploymentListStore, readStatus } from './sysroot.ts';

/**
 * OSTree behind the system seam: a thin wrapper over the functions the app, the helper and the CLI
 * have always called (readStatus, the selectors, packageDelta), which stay where they are and keep
 * their types, so OSTree's output through the seam is what it was before it.
 */

export type OstreeSystem = SystemBackend<StatusReport, PackageDelta> & { readonly kind: 'ostree' };

/** The local cache's parts the OSTree backend uses (the app cache is all of them). */
export type OstreeStore = DeploymentListStore & PackageDeltaStore & Partial<PackageCache>;

export interface OstreeOptions {
  sysroot: string;
  /** `--os`: the stateroot; default as readStatus chooses. */
  stateroot?: string;
  store?: OstreeStore;
}

function states(d: Deployment): EntryState[] {
  const out: EntryState[] = [];
  if (d.booted) out.push('running');
  if (d.default) out.push('next-boot');
  if (d.staged) out.push('staged');
  if (d.pending) out.push('pending');
  if (d.rollback) out.push('rollback');
  if (d.pinned) out.push('pinned');
  return out;
}

export function deploymentEntry(d: Deployment): SystemEntry {
  return {
    id: `${d.checksum}.${d.serial}`,
    position: d.index,
    date: d.timestamp,
    title: d.version ?? d.subject,
    states: states(d),
  };
}

export function ostreeBackend(options: OstreeOptions): OstreeSystem {
  const { store } = options;
  // Package modules load on first use: `status` never needs the database readers.
  const deltas = () => import('../packages/package-delta.ts');
  return {
    kind: 'ostree',
    words: BACKEND_WORDS.ostree,
    root: options.sysroot,
    read: () =>
      readStatus({
        sysroot: options.sysroot,
        ...(options.stateroot !== undefined ? { stateroot: options.stateroot } : {}),
        ...(store ? { store } : {}),
      }),
    describe: (report) => `${BACKEND_WORDS.ostree.system} ${report.sysroot} (stateroot ${report.stateroot})`,
    entries: (report) => report.deployments.map(deploymentEntry),
    resolve: (report, selector) => deploymentEntry(resolveDeployment(report, selector)),
    async packages(report, selector): Promise<PackageList> {
      const [{ readPackages }, { resolveSnapshot }] = await Promise.all([
        import('../packages/package-source.ts'),
        import('./selectors.ts'),
      ]);
      const cache = store?.get && store.set ? (store as PackageCache) : undefined;
      return readPackages(report.sysroot, resolveSnapshot(report, selector), cache);
    },
    async packageDelta(report, from, to) {
      const { packageDelta, rememberedPackageDelta } = await deltas();
      // As the CLI has always done it: a delta between two commits is kept by their checksums.
      return rememberedPackageDelta(report, from, to, store ?? null, () => packageDelta(report, from, to));
    },
    nextBoot: (report) => {
      const next = report.deployments.find((d) => d.default);
      return next ? deploymentEntry(next) : null;
    },
  };
}
