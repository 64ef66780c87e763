import type { Deployment, PackageDelta, ProgressEvent, UpgradeCheck } from '../../shared/types.ts';
import { useAppInfo, useDelta, useMerge, useOperation } from '../api/queries.ts';
import { useSystem } from '../api/use-system.ts';
import { useUpdateFlow } from '../api/use-update-flow.ts';
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
import { updateSentence } from '../lib/update-flow.ts';
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

/** Paths of an /etc merge that a person should look at before the update runs. */
const NEEDS_A_LOOK = new Set(['refused', 'conflict', 'deleted-changed', 'hidden']);

/**
 * What the update does to this system's /etc, with the way to review it: the count of paths that
 * need a look is on the button, so the merge review is one click away from every step of the flow.
 */
function EtcImpact({ source, target, staged }: { source: string; target: string; staged: boolean }) {
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
  const attention = files.filter((f) => NEEDS_A_LOOK.has(mergeOutcome(f)));
  const refused = files.filter((f) => mergeOutcome(f) === 'refused').length;
  const review = (
    <Button
      size="sm"
      icon="merge"
      variant={attention.length ? 'primary' : 'secondary'}
      onClick={() => navigate('merge', { source, target })}
    >
      {attention.length
        ? `Review /etc (${attention.length} need${attention.length === 1 ? 's' : ''} a look)`
        : 'Review /etc'}
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
        drop the new image’s change{refused ? ', or refuse to deploy' : ''}.{' '}
        {staged ? 'Review them before you restart.' : 'Review them before or after staging.'}
      </p>
    </Notice>
  );
}

/** "12 packages upgraded, 1 added, 1 removed." — the summary read before deciding to stage. */
export function deltaSentence(delta: PackageDelta): string {
  const parts = [
    delta.upgraded.length ? `${delta.upgraded.length} upgraded` : '',
    delta.downgraded.length ? `${delta.downgraded.length} downgraded` : '',
    delta.added.length ? `${delta.added.length} added` : '',
    delta.removed.length ? `${delta.removed.length} removed` : '',
  ].filter(Boolean);
  const total = delta.upgraded.length + delta.downgraded.length + delta.added.length + delta.removed.length;
  if (!total) return 'No package changes.';
  return `${total === 1 ? '1 package changes' : `${total} packages change`}: ${parts.join(', ')}.`;
}

/** The package changes of the update, read from both images' package databases. */
function PackageChanges({
  from,
  fromName,
  to,
  known,
}: {
  from: string | undefined;
  fromName: string;
  to: string;
  known: PackageDelta | null;
}) {
  const fetched = useDelta(!known ? from : undefined, !known ? to : undefined);
  const delta = known ?? fetched.data ?? null;
  return (
    <>
      <h3 className="section-title">Package changes from {fromName}</h3>
      {delta ? (
        <>
          <DeltaSummary delta={delta} />
          <PackageDeltaView delta={delta} height={380} />
        </>
      ) : fetched.isError ? (
        <ErrorNotice
          compact
          title="The package changes could not be read"
          error={fetched.error}
          onRetry={() => void fetched.refetch()}
        />
      ) : (
        <Loading label="Reading the new image’s packages…" compact />
      )}
    </>
  );
}

function UpdateHead({
  icon,
  title,
  meta,
  actions,
}: {
  icon: 'download' | 'check';
  title: string;
  meta: React.ReactNode;
  actions?: React.ReactNode;
}) {
  return (
    <header className="update-head">
      <span className="update-icon" aria-hidden="true">
        <Icon name={icon} size={22} />
      </span>
      <div className="update-titles">
        <h2 id="update-title">{title}</h2>
        <p className="muted">{meta}</p>
      </div>
      <span className="spacer" />
      {actions && <div className="update-actions">{actions}</div>}
    </header>
  );
}

function commitMeta(ref: { subject: string | null; timestamp: string | null; checksum: string }) {
  return (
    <>
      {ref.subject ?? 'No description'} · {formatDate(ref.timestamp)} ·{' '}
      <span className="mono" title={ref.checksum}>
        {shortChecksum(ref.checksum)}
      </span>
    </>
  );
}

/**
 * Staged: the update starts on the next boot. From here: review its /etc merge, restart (which asks
 * first: it cannot be undone), or cancel (one click, with Undo: the commit stays in the repository,
 * so staging it again is quick).
 */
function StagedUpdate({
  update,
  from,
  booted,
}: {
  update: Deployment;
  from: Deployment | null;
  booted: boolean;
}) {
  const cancel = useOperation('deployments:cancel');
  const restage = useOperation('deployments:deploy');
  const toast = useUi((s) => s.toast);
  const name = versionName(update);
  // This card goes away with the update it shows, so answers are awaited here: callbacks given to
  // mutate() are dropped once the component that asked is gone.
  const cancelUpdate = () =>
    cancel.mutateAsync({}).then(
      () =>
        toast(
          'info',
          `The update to ${name} was cancelled.${from ? ` ${versionName(from)} starts on the next boot.` : ''}`,
          {
            topic: 'update',
            action: {
              label: 'Undo',
              run: () =>
                restage.mutateAsync({ commit: update.checksum }).then(
                  () => toast('success', `${name} is staged again.`, { topic: 'update' }),
                  (error: Error) => toast('danger', `${name} was not staged again: ${error.message}`),
                ),
            },
          },
        ),
      () => {},
    );
  return (
    <article className="card update-card" aria-labelledby="update-title">
      <UpdateHead
        icon="check"
        title={updateSentence({ kind: 'staged', update, from }, booted)}
        meta={commitMeta(update)}
        actions={
          <>
            <Button icon="x" busy={cancel.isPending} onClick={cancelUpdate}>
              Cancel update
            </Button>
            <RebootButton variant="primary" />
          </>
        }
      />
      <p className="update-sentence">
        {from
          ? booted
            ? `${versionName(from)} keeps running until you restart. Restart now or later; cancel it and ${versionName(from)} stays.`
            : `This folder is not a running system: ${name} starts when it next boots. Cancel it and ${versionName(from)} boots instead.`
          : null}
      </p>
      {cancel.error && <ErrorNotice compact title="The update was not cancelled" error={cancel.error} />}
      {restage.error && <ErrorNotice compact title="The update was not staged again" error={restage.error} />}
      {from && <EtcImpact source={deploymentSelector(from)} target={deploymentSelector(update)} staged />}
      {from && (
        <PackageChanges
          from={deploymentSelector(from)}
          fromName={versionName(from)}
          to={deploymentSelector(update)}
          known={null}
        />
      )}
    </article>
  );
}

/** Available: what the update brings, read before anything is downloaded; staging is one click. */
function AvailableUpdate({
  check,
  update,
  current,
}: {
  check: UpgradeCheck;
  update: NonNullable<UpgradeCheck['available']>;
  current: Deployment | null;
}) {
  const stage = useOperation('updates:stage');
  const cancel = useOperation('deployments:cancel');
  const progress = useUi((s) => s.progress);
  const setProgress = useUi((s) => s.setProgress);
  const toast = useUi((s) => s.toast);
  const from = current ? deploymentSelector(current) : undefined;
  const name = versionName(update);
  return (
    <article className="card update-card" aria-labelledby="update-title">
      <UpdateHead
        icon="download"
        title={`Version ${name} is available`}
        meta={commitMeta(update)}
        actions={
          !stage.isPending && (
            <Button
              variant="primary"
              size="lg"
              icon="download"
              onClick={() => {
                setProgress(null);
                stage.mutateAsync({}).then(
                  () =>
                    toast('success', `${name} is staged: it starts on the next boot.`, {
                      topic: 'update',
                      action: {
                        label: 'Undo',
                        run: () =>
                          cancel.mutateAsync({}).then(
                            () => toast('info', `The update to ${name} was cancelled.`, { topic: 'update' }),
                            (error: Error) =>
                              toast('danger', `The update was not cancelled: ${error.message}`),
                          ),
                      },
                    }),
                  () => {},
                );
              }}
            >
              {update.downloaded ? `Stage ${name}` : `Download and stage ${name}`}
            </Button>
          )
        }
      />
      <p className="update-sentence">
        {update.delta ? `${deltaSentence(update.delta)} ` : ''}
        {update.downloaded ? 'Downloaded already. ' : ''}Staging does not touch the running system: {name}{' '}
        starts on the next boot, and you can cancel it until then.
      </p>
      {stage.isPending && (
        <ProgressPanel
          progress={progress}
          cancelling={cancel.isPending}
          onCancel={() =>
            cancel.mutate(
              {},
              { onSuccess: () => toast('info', 'Staging was cancelled.', { topic: 'update' }) },
            )
          }
        />
      )}
      {stage.isError && (
        <ErrorNotice title="The update was not staged" error={stage.error} onRetry={() => stage.mutate({})} />
      )}
      {cancel.error && <ErrorNotice compact title="Could not cancel" error={cancel.error} />}
      {from && <EtcImpact source={from} target={update.checksum} staged={false} />}
      <PackageChanges
        from={from}
        fromName={current ? versionName(current) : 'the current system'}
        to={update.checksum}
        known={update.delta}
      />
      <p className="muted small">From {check.origin}</p>
    </article>
  );
}

/** Downloaded and deployed, but another deployment boots next (after a rollback, say). */
function DeployedElsewhere({ deployment, next }: { deployment: Deployment; next: Deployment | null }) {
  const rollback = useOperation('deployments:rollback');
  const toast = useUi((s) => s.toast);
  const name = versionName(deployment);
  return (
    <Notice
      tone="info"
      title={`${name} is downloaded but will not start on the next boot`}
      actions={
        <Button
          icon="undo"
          busy={rollback.isPending}
          onClick={() =>
            rollback.mutateAsync({ to: deploymentSelector(deployment) }).then(
              () =>
                toast('success', `${name} starts on the next boot.`, {
                  topic: 'next-boot',
                  action: next
                    ? {
                        label: 'Undo',
                        run: () =>
                          rollback.mutateAsync({ to: deploymentSelector(next) }).then(
                            () => toast('success', `${versionName(next)} starts on the next boot again.`),
                            (error: Error) =>
                              toast('danger', `The next boot was not changed: ${error.message}`),
                          ),
                      }
                    : undefined,
                }),
              () => {},
            )
          }
        >
          Make {name} the next boot
        </Button>
      }
    >
      <p>
        It is deployment {deployment.index}; {next ? `${versionName(next)} boots next.` : ''}
      </p>
      {rollback.error && <ErrorNotice compact title="The next boot was not changed" error={rollback.error} />}
    </Notice>
  );
}

export function UpdatesScreen() {
  const system = useSystem();
  const info = useAppInfo();
  const booted = info.data?.bootedSystem ?? false;
  const { flow } = useUpdateFlow();

  return (
    <div className="screen">
      <ScreenHeader title="Updates" subtitle="New images from the deployment’s origin" />
      <UpdateStatus compact />
      {flow.kind === 'up-to-date' ? (
        <EmptyState icon="check" title="You are up to date">
          {system.current
            ? `${versionName(system.current)} is the newest image on ${flow.check.origin}.`
            : null}
        </EmptyState>
      ) : flow.kind === 'available' ? (
        <AvailableUpdate check={flow.check} update={flow.update} current={system.current} />
      ) : flow.kind === 'staged' ? (
        <StagedUpdate update={flow.update} from={flow.from} booted={booted} />
      ) : flow.kind === 'deployed-elsewhere' ? (
        <DeployedElsewhere deployment={flow.deployment} next={system.next} />
      ) : null}
    </div>
  );
}
