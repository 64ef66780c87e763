import { useStatus, useUpdateCheck } from '../api/queries.ts';
import { formatDay, formatRelative, versionName } from '../lib/format.ts';
import { managedUpdateReason } from '../lib/managed-origin.ts';
import { useUi } from '../state/ui-store.ts';
import { Icon } from './icons.tsx';
import { Button, errorText, Spinner } from './ui.tsx';

/**
 * What we know about updates, and nothing more: a check that failed says so and never reads as
 * "up to date"; a check that has not run says that too. A system rpm-ostree or bootc owns is updated
 * by that tool: no check, no update offered, one line that says which tool.
 */
export function UpdateStatus({ showReview = true }: { showReview?: boolean }) {
  const status = useStatus();
  const deployed = status.data?.deployments ?? [];
  const current = deployed.find((d) => d.booted) ?? deployed.find((d) => d.default);
  const managedReason = managedUpdateReason(current);
  const check = useUpdateCheck(status.isSuccess && !managedReason);
  const navigate = useUi((s) => s.navigate);

  let tone = 'neutral';
  let icon: 'download' | 'alert' | 'check' | 'info' = 'info';
  let title: string;
  let detail: string | null = null;
  let action = null;

  if (managedReason && current?.managedBy) {
    title = `Updates come from ${current.managedBy}`;
    detail = managedReason;
  } else if (check.isFetching && !check.data) {
    title = 'Checking for updates…';
  } else if (check.isError) {
    tone = 'danger';
    icon = 'alert';
    const { summary, detail: more } = errorText(check.error);
    title = 'Could not check for updates';
    detail = `${summary}${more ? ` (${more})` : ''} Your system may not be up to date.`;
  } else if (!check.data) {
    title = 'Updates have not been checked yet';
  } else if (!check.data.available) {
    tone = 'success';
    icon = 'check';
    title = 'Up to date';
    detail = `${versionName(check.data.current)} is the newest on ${check.data.origin} · checked ${formatRelative(check.data.checkedAt)}`;
  } else {
    const available = check.data.available;
    const there = deployed.find((d) => d.checksum === available.checksum);
    if (there) {
      tone = 'info';
      icon = 'check';
      title = `${versionName(available)} is deployed`;
      detail = there.default
        ? 'It starts on the next boot.'
        : `It is deployment ${there.index}; make it the next boot to use it.`;
    } else {
      tone = 'accent';
      icon = 'download';
      title = `Version ${versionName(available)} is available`;
      detail = `Released ${formatDay(available.timestamp)} on ${check.data.origin} · checked ${formatRelative(check.data.checkedAt)}`;
      if (showReview) {
        action = (
          <Button variant="primary" size="sm" onClick={() => navigate('updates')}>
            Review update
          </Button>
        );
      }
    }
  }

  return (
    <section className={`update-status tone-${tone}`} aria-label="Update status" aria-live="polite">
      <span className="update-status-icon" aria-hidden="true">
        {check.isFetching ? <Spinner size={18} /> : <Icon name={icon} size={18} />}
      </span>
      <div className="update-status-text">
        <p className="update-status-title">{title}</p>
        {detail && <p className="update-status-detail">{detail}</p>}
      </div>
      <div className="update-status-actions">
        {action}
        {!managedReason && (
          <Button size="sm" icon="refresh" busy={check.isFetching} onClick={() => void check.refetch()}>
            {check.isFetching ? 'Checking…' : 'Check now'}
          </Button>
        )}
      </div>
    </section>
  );
}
