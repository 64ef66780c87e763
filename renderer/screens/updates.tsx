import type { ProgressEvent } from '../../shared/types.ts';
import { useDelta, useMerge, useOperation, useUpdateCheck } from '../api/queries.ts';
import { useSystem } from '../api/use-system.ts';
import { Icon } from '../components/icons.tsx';
import { DeltaSummary, PackageDeltaView } from '../components/package-delta-view.tsx';
import { RebootButton } from '../components/reboot-button.tsx';
import { Button, EmptyState, ErrorNotice, Loading, Notice, ScreenHeader } from '../components/ui.tsx';
import { UpdateStatus } from '../components/update-status.tsx';
import {
  deploymentSelector,
  formatBytes,
  formatDate,
  plural,
  shortChecksum,
  versionName,
} from '../lib/format.ts';
import { isNotDownloaded, mergeOutcome } from '../lib/labels.ts';
import { managedUpdateReason } from '../lib/managed-origin.ts';
import { useUi } from '../state/ui-store.ts';

function ProgressPanel({
  progress,
  onCancel,
  cancelling,
}: {
  progress: ProgressEvent | null;
  onCancel: () => void;
  cancelling: boolean;
}) {
  const fraction = progress?.fraction ?? null;
  const percent = fraction === null ? null : Math.round(fraction * 100);
  const parts: string[] = [];
  if (progress?.objectsTotal)
    parts.push(
      `${(progress.objectsDone ?? 0).toLocaleString()} of ${progress.objectsTotal.toLocaleString()} objects`,
    );
  else if (progress?.objectsDone) parts.push(`${progress.objectsDone.toLocaleString()} objects`);
  if (progress?.bytes) parts.push(formatBytes(progress.bytes));
  return (
    <div className="progress-panel card" aria-live="polite">
      <div className="progress-head">
        <p className="progress-phase">
          {progress?.phase ? progress.phase[0]?.toUpperCase() + progress.phase.slice(1) : 'Starting'}
          {percent !== null && <span className="muted"> · {percent}%</span>}
        </p>
        <Button size="sm" icon="x" busy={cancelling} onClick={onCancel}>
          Cancel
        </Button>
      </div>
      <div
        className={`progress-track${percent === null ? ' is-indeterminate' : ''}`}
        role="progressbar"
        aria-label="Staging progress"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent ?? undefined}
        aria-valuetext={percent === null ? (progress?.phase ?? 'working') : `${percent}%`}
      >
        <div className="progress-fill" style={percent === null ? undefined : { width: `${percent}%` }} />
      </div>
      <p className="progress-detail muted">
        {[...parts, progress?.message].filter(Boolean).join(' · ') || 'Preparing…'}
      </p>
    </div>
  );
}

function EtcImpact({ source, target }: { source: string; target: string }) {
  const navigate = useUi((s) => s.navigate);
  const merge = useMerge(source, target);
  if (merge.isPending) return <Loading label="Checking what happens to your /etc…" compact />;
  if (merge.isError) {
    if (isNotDownloaded(merge.error)) {
      return (
        <Notice tone="neutral" compact title="/etc is checked once the update is downloaded">
          <p>
            Only the new image’s package list is here so far. Staging downloads the rest; then review /etc
            before you restart.
          </p>
        </Notice>
      );
    }
    return <ErrorNotice compact title="/etc could not be checked" error={merge.error} />;
  }
  const files = merge.data.files;
  const attention = files.filter((f) =>
    ['refused', 'conflict', 'deleted-changed', 'hidden'].includes(mergeOutcome(f)),
  );
  const refused = files.filter((f) => mergeOutcome(f) === 'refused').length;
  const review = (
    <Button size="sm" icon="merge" onClick={() => navigate('merge', { source, target })}>
      Review /etc
    </Button>
  );
  if (!attention.length) {
    return (
      <Notice tone="success" compact title="Your /etc edits carry over cleanly" actions={review}>
        <p>{plural(files.length, 'path')} checked; none of them loses a change.</p>
      </Notice>
    );
  }
  return (
    <Notice
      tone={refused ? 'danger' : 'warning'}
      title={`${plural(attention.length, 'path')} in /etc need${attention.length === 1 ? 's' : ''} a look`}
      actions={review}
    >
      <p>
        {attention
          .slice(0, 4)
          .map((f) => f.path)
          .join(', ')}
        {attention.length > 4 ? ` and ${attention.length - 4} more` : ''}: OSTree would keep your copy and
        drop the new image’s change{refused ? ', or refuse to deploy' : ''}. Resolve them before or after
        staging.
      </p>
    </Notice>
  );
}

export function UpdatesScreen() {
  const system = useSystem();
  // rpm-ostree or bootc updates such a system; UpdateStatus above says so, and nothing is offered here.
  const managed = managedUpdateReason(system.current) !== null;
  const check = useUpdateCheck(!managed);
  const stage = useOperation('updates:stage');
  const cancel = useOperation('deployments:cancel');
  const progress = useUi((s) => s.progress);
  const setProgress = useUi((s) => s.setProgress);
  const toast = useUi((s) => s.toast);
  const current = system.current;
  const available = managed ? null : (check.data?.available ?? null);
  const deployed = available ? system.deployments.find((d) => d.checksum === available.checksum) : undefined;
  const from = current ? deploymentSelector(current) : undefined;
  const fetchedDelta = useDelta(
    available && !available.delta ? from : undefined,
    available && !available.delta ? available.checksum : undefined,
  );
  const delta = available?.delta ?? fetchedDelta.data ?? null;

  return (
    <div className="screen">
      <ScreenHeader
        title="Updates"
        subtitle={check.data ? `From ${check.data.origin}` : 'New images from the deployment’s origin'}
      />
      <UpdateStatus showReview={false} />
      {stage.isSuccess && (
        <Notice tone="success" title="The update is ready" actions={<RebootButton variant="primary" />}>
          <p>
            {stage.data.message || 'It starts on the next boot.'} Your current system keeps running until you
            restart.
          </p>
        </Notice>
      )}
      {stage.isError && (
        <ErrorNotice title="The update was not staged" error={stage.error} onRetry={() => stage.mutate({})} />
      )}
      {managed || check.isError || check.isPending || !check.data ? null : !available ? (
        <EmptyState icon="check" title="You are up to date">
          {current ? `${versionName(current)} is the newest image on ${check.data.origin}.` : null}
        </EmptyState>
      ) : deployed ? (
        <Notice tone="info" title={`${versionName(available)} is already deployed`}>
          <p>
            It is deployment {deployed.index}
            {deployed.default ? ' and starts on the next boot.' : '. Make it the next boot from Deployments.'}
          </p>
        </Notice>
      ) : (
        <article className="card update-card" aria-labelledby="update-title">
          <header className="update-head">
            <span className="update-icon" aria-hidden="true">
              <Icon name="download" size={22} />
            </span>
            <div>
              <h2 id="update-title">Version {versionName(available)}</h2>
              <p className="muted">
                {available.subject ?? 'No description'} · {formatDate(available.timestamp)} ·{' '}
                <span className="mono" title={available.checksum}>
                  {shortChecksum(available.checksum)}
                </span>
              </p>
            </div>
            <span className="spacer" />
            {!stage.isPending && !stage.isSuccess && (
              <Button
                variant="primary"
                size="lg"
                icon="download"
                onClick={() => {
                  setProgress(null);
                  stage.mutate(
                    {},
                    {
                      onSuccess: () =>
                        toast('success', `${versionName(available)} is staged for the next boot.`),
                    },
                  );
                }}
              >
                Download and stage {versionName(available)}
              </Button>
            )}
          </header>
          {stage.isPending && (
            <ProgressPanel
              progress={progress}
              cancelling={cancel.isPending}
              onCancel={() => cancel.mutate({}, { onSuccess: () => toast('info', 'Staging was cancelled.') })}
            />
          )}
          {cancel.error && <ErrorNotice compact title="Could not cancel" error={cancel.error} />}
          {from && <EtcImpact source={from} target={available.checksum} />}
          <h3 className="section-title">
            Package changes from {current ? versionName(current) : 'the current system'}
          </h3>
          {delta ? (
            <>
              <DeltaSummary delta={delta} />
              <PackageDeltaView delta={delta} height={380} />
            </>
          ) : fetchedDelta.isError ? (
            <ErrorNotice
              compact
              title="The package changes could not be read"
              error={fetchedDelta.error}
              onRetry={() => void fetchedDelta.refetch()}
            />
          ) : (
            <Loading label="Reading the new image’s packages…" compact />
          )}
        </article>
      )}
    </div>
  );
}
