import { useEffect } from 'react';
import type { SnapshotRef } from '../../shared/types.ts';
import { useDelta, useUpdateCheck } from '../api/queries.ts';
import { useSystem } from '../api/use-system.ts';
import { SnapshotPicker } from '../components/deployment-picker.tsx';
import { DeltaSummary, PackageDeltaView } from '../components/package-delta-view.tsx';
import { EmptyState, ErrorNotice, IconButton, Loading, ScreenHeader, Skeleton } from '../components/ui.tsx';
import { deploymentSelector, formatDay, shortChecksum, versionName } from '../lib/format.ts';
import { useUi } from '../state/ui-store.ts';

export function snapshotTitle(ref: SnapshotRef): string {
  const where = ref.index === null ? 'not deployed' : `deployment ${ref.index}`;
  return `${versionName(ref)} (${where}, ${shortChecksum(ref.checksum)}, ${formatDay(ref.timestamp)})`;
}

export function CompareScreen() {
  const system = useSystem();
  const params = useUi((s) => s.route.params);
  const setParams = useUi((s) => s.setParams);
  const updates = useUpdateCheck(false);

  // Default: what the next boot changes from the running system, or else from the rollback.
  const fallbackFrom =
    system.booted && system.next && system.booted !== system.next ? system.booted : (system.rollback ?? null);
  const fallbackTo = system.next;
  const from = params.from ?? (fallbackFrom ? deploymentSelector(fallbackFrom) : undefined);
  const to = params.to ?? (fallbackTo ? deploymentSelector(fallbackTo) : undefined);

  useEffect(() => {
    if ((!params.from && from) || (!params.to && to)) setParams({ from, to });
  }, [params.from, params.to, from, to, setParams]);

  const delta = useDelta(from, to);
  const available = updates.data?.available;
  const extra =
    available && !system.deployments.some((d) => d.checksum === available.checksum)
      ? [
          {
            value: available.checksum,
            label: `${versionName(available)} — available update (${shortChecksum(available.checksum)})`,
          },
        ]
      : [];

  return (
    <div className="screen screen-review">
      <ScreenHeader
        title="Compare"
        subtitle="Packages and files that differ between two deployments or commits"
      />
      <div className="compare-pickers card">
        <SnapshotPicker
          label="From (older)"
          value={from}
          onChange={(v) => setParams({ from: v })}
          deployments={system.deployments}
          labels={system.labels}
          extra={extra}
          allowCommit
        />
        <IconButton
          icon="swap"
          label="Swap the two sides"
          variant="secondary"
          size="md"
          onClick={() => setParams({ from: to, to: from })}
          disabled={!from || !to}
        />
        <SnapshotPicker
          label="To (newer)"
          value={to}
          onChange={(v) => setParams({ to: v })}
          deployments={system.deployments}
          labels={system.labels}
          extra={extra}
          allowCommit
        />
      </div>
      {!from || !to ? (
        <EmptyState icon="compare" title="Choose two snapshots">
          Pick what to compare above. With a single deployment there is nothing to compare it with yet.
        </EmptyState>
      ) : delta.isPending ? (
        <div className="card">
          <Loading label="Reading both package databases…" />
          <Skeleton lines={6} />
        </div>
      ) : delta.isError ? (
        <ErrorNotice
          title="The two snapshots could not be compared"
          error={delta.error}
          onRetry={() => void delta.refetch()}
        />
      ) : (
        <>
          <p className="compare-caption">
            From <strong>{snapshotTitle(delta.data.from)}</strong> to{' '}
            <strong>{snapshotTitle(delta.data.to)}</strong>
          </p>
          <DeltaSummary delta={delta.data} />
          <PackageDeltaView delta={delta.data} />
        </>
      )}
    </div>
  );
}
