import { useConnection } from '../api/connection.ts';
import { useAppInfo, useStatus } from '../api/queries.ts';
import { useUpdateFlow } from '../api/use-update-flow.ts';
import { formatDay, formatRelative, versionName } from '../lib/format.ts';
import { updateSentence } from '../lib/update-flow.ts';
import { useUi } from '../state/ui-store.ts';
import { Icon } from './icons.tsx';
import { Button, errorText, Spinner } from './ui.tsx';

/** "checked 5 min ago", and that it may be out of date while Hindsight cannot be reached. */
export function checkedWhen(checkedAt: string, connected: boolean): string {
  return `checked ${formatRelative(checkedAt)}${connected ? '' : ' (Hindsight is out of reach, so this may have changed)'}`;
}

/**
 * What we know about updates, and nothing more, in the words of the update flow (lib/update-flow):
 * a check that failed says so and never reads as "up to date"; a check that has not run says that
 * too. A system rpm-ostree or bootc owns is updated by that tool: no check, one line that says which.
 * On the Updates screen (`compact`) only the check itself is shown: the screen tells the rest.
 */
export function UpdateStatus({ compact = false }: { compact?: boolean }) {
  const status = useStatus();
  const info = useAppInfo();
  const deployed = status.data?.deployments ?? [];
  const current = deployed.find((d) => d.booted) ?? deployed.find((d) => d.default);
  const connected = useConnection((s) => s.connection) === 'connected';
  const { flow: full, check } = useUpdateFlow();
  const managed = full.kind === 'managed';
  const navigate = useUi((s) => s.navigate);
  const booted = info.data?.bootedSystem ?? false;

  let tone = 'neutral';
  let icon: 'download' | 'alert' | 'check' | 'info' = 'info';
  let title = updateSentence(full, booted);
  let detail: string | null = null;
  let action = null;
  const checked = check.data ? checkedWhen(check.data.checkedAt, connected) : null;

  switch (full.kind) {
    case 'managed':
      detail = full.reason;
      break;
    case 'check-failed': {
      tone = 'danger';
      icon = 'alert';
      const { summary, detail: more } = errorText(check.error);
      detail = `${summary}${more ? ` (${more})` : ''} Your system may not be up to date.`;
      break;
    }
    case 'up-to-date':
      tone = 'success';
      icon = 'check';
      detail = `${current ? versionName(current) : versionName(full.check.current)} is the newest on ${full.check.origin} · ${checked}`;
      break;
    case 'available':
      tone = 'accent';
      icon = 'download';
      detail = `Released ${formatDay(full.update.timestamp)} on ${full.check.origin} · ${checked}`;
      if (!compact)
        action = (
          <Button variant="primary" size="sm" onClick={() => navigate('updates')}>
            Review update
          </Button>
        );
      break;
    case 'staged':
      tone = 'accent';
      icon = 'check';
      detail = full.from
        ? `${versionName(full.from)} ${full.from.booted ? 'keeps running until then' : 'boots instead if you cancel it'}.`
        : null;
      if (!compact)
        action = (
          <Button variant="primary" size="sm" onClick={() => navigate('updates')}>
            See update
          </Button>
        );
      break;
    case 'deployed-elsewhere':
      tone = 'info';
      detail = `It is deployment ${full.deployment.index}; make it the next boot to use it.`;
      if (!compact)
        action = (
          <Button size="sm" onClick={() => navigate('updates')}>
            See update
          </Button>
        );
      break;
    default:
      break;
  }
  if (compact) {
    // The Updates screen states the update itself; here only when and from where it was checked.
    if (full.kind === 'available' || full.kind === 'staged' || full.kind === 'deployed-elsewhere') {
      title = check.data ? `From ${check.data.origin}` : 'Updates';
      detail = checked ?? (check.isFetching ? 'Checking…' : 'Not checked in this session');
      tone = 'neutral';
      icon = 'info';
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
        {!managed && (
          <Button size="sm" icon="refresh" busy={check.isFetching} onClick={() => void check.refetch()}>
            {check.isFetching ? 'Checking…' : 'Check now'}
          </Button>
        )}
      </div>
    </section>
  );
}
