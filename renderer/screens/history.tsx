import { useQueryClient } from '@tanstack/react-query';
import { useVirtualizer } from '@tanstack/react-virtual';
import { useDeferredValue, useMemo, useRef, useState } from 'react';
import type { HistoryEntry, IpcResponse } from '../../shared/ipc-contract.ts';
import type { EtcBackupInfo } from '../../shared/types.ts';
import { keys, useEtcBackups, useHistory, useOperation } from '../api/queries.ts';
import { useSystem } from '../api/use-system.ts';
import { ConfirmDialog } from '../components/dialog.tsx';
import { Icon } from '../components/icons.tsx';
import {
  Badge,
  Button,
  EmptyState,
  ErrorNotice,
  IconButton,
  Loading,
  Notice,
  ScreenHeader,
  ScrollRegion,
  SearchField,
  Segmented,
} from '../components/ui.tsx';
import {
  deploymentSelector,
  formatBytes,
  formatDate,
  formatRelative,
  plural,
  shortChecksum,
  versionName,
} from '../lib/format.ts';
import {
  type DeploymentLike,
  historySentence,
  type Outcome,
  type RowAction,
  rowAction,
  type SentenceContext,
} from '../lib/history-sentences.ts';
import type { Tone } from '../lib/labels.ts';
import { useUi } from '../state/ui-store.ts';

type ResultFilter = 'all' | 'ok' | 'error';

function paramsKey(params: Record<string, unknown>): string {
  const rest = Object.entries(params)
    .filter(([k]) => k !== 'sysroot' && k !== 'os')
    .sort(([a], [b]) => a.localeCompare(b));
  return JSON.stringify(rest);
}

/**
 * The helper's root-owned log and the app's own record both note an action the app started; show it
 * once (the helper's record). App records stay when the helper never saw the action, e.g. a password
 * prompt that was dismissed.
 */
export function withoutDuplicates(entries: HistoryEntry[]): HistoryEntry[] {
  const helper = entries.filter((e) => e.source === 'helper');
  return entries.filter(
    (e) =>
      e.source !== 'app' ||
      !helper.some(
        (h) =>
          h.operation === e.operation &&
          h.result === e.result &&
          Math.abs(Date.parse(h.time) - Date.parse(e.time)) < 120_000 &&
          paramsKey(h.params) === paramsKey(e.params),
      ),
  );
}

function who(entry: HistoryEntry): string {
  if (entry.user) return entry.user;
  if (entry.uid === 0) return 'root';
  if (entry.uid !== null) return `uid ${entry.uid}`;
  return 'unknown user';
}

const BACKUP_STATES: Record<EtcBackupInfo['state'], { label: string; tone: Tone; title: string }> = {
  applied: { label: 'Applied', tone: 'info', title: 'Undo puts back the files it holds' },
  prepared: {
    label: 'Interrupted',
    tone: 'warning',
    title: 'The apply stopped part way; undo still puts back the files it holds',
  },
  undone: { label: 'Undone', tone: 'neutral', title: 'Its change was undone already' },
};

function backupTarget(b: EtcBackupInfo): string {
  const t = b.target;
  if (t.index === null) return `a removed deployment (${shortChecksum(t.checksum)}.${t.serial})`;
  return `${t.version ?? shortChecksum(t.checksum)} (deployment ${t.index})`;
}

/**
 * The copies of /etc files that `etc apply` keeps for undo: root-only, pruned after each apply by the
 * limits shown here, and removable one by one (which cannot be taken back, hence the confirmation).
 */
function EtcBackups() {
  const backups = useEtcBackups();
  const remove = useOperation('backups:remove');
  const unlock = useOperation('helper:unlock');
  const toast = useUi((s) => s.toast);
  const [removing, setRemoving] = useState<EtcBackupInfo | null>(null);
  const list = backups.data;

  return (
    <section className="card backups-card" aria-labelledby="etc-backups-title">
      <div className="backups-head">
        <h2 id="etc-backups-title" className="backups-title">
          /etc backups
        </h2>
        {list && (
          <p className="muted backups-limits">
            Made before each Apply, so that Undo can put the old files back; readable by root only. Hindsight
            keeps at most {list.limits.maxCount}, none older than {list.limits.maxAgeDays} days, and always
            the newest one of each deployment that has not been undone.
          </p>
        )}
      </div>
      {backups.isPending ? (
        <Loading label="Reading the /etc backups…" compact />
      ) : backups.isError ? (
        <ErrorNotice
          title="The /etc backups could not be read"
          error={backups.error}
          compact
          onRetry={() => void backups.refetch()}
        />
      ) : !list?.readable ? (
        <Notice
          tone="warning"
          icon="lock"
          compact
          title="Only an administrator can list the /etc backups"
          actions={
            <Button size="sm" icon="lock" busy={unlock.isPending} onClick={() => unlock.mutate({})}>
              Unlock
            </Button>
          }
        >
          {unlock.error && <ErrorNotice error={unlock.error} compact />}
        </Notice>
      ) : list.backups.length === 0 ? (
        <p className="muted">No /etc backups: Apply on the Merge screen makes one.</p>
      ) : (
        <ScrollRegion label="/etc backups, newest first" className="backups-scroll">
          <table className="meta-table backups-table">
            <thead>
              <tr>
                <th scope="col">Made</th>
                <th scope="col">Written to</th>
                <th scope="col">State</th>
                <th scope="col">Files</th>
                <th scope="col">Size</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.backups.map((b) => {
                const state = BACKUP_STATES[b.state];
                return (
                  <tr key={b.id} aria-label={`Backup ${b.id}`}>
                    <td>
                      <time dateTime={b.time} title={`${formatDate(b.time)} · ${b.id}`}>
                        {formatRelative(b.time)}
                      </time>
                    </td>
                    <td>{backupTarget(b)}</td>
                    <td>
                      <span className="backups-state">
                        <Badge tone={state.tone} title={state.title}>
                          {state.label}
                        </Badge>
                        {b.keptForUndo && (
                          <Badge
                            tone="success"
                            title="Kept whatever the limits: the newest backup that can still undo this deployment’s /etc"
                          >
                            Kept for undo
                          </Badge>
                        )}
                      </span>
                    </td>
                    <td>{b.files.toLocaleString()}</td>
                    <td>{formatBytes(b.bytes)}</td>
                    <td>
                      <IconButton
                        icon="trash"
                        label={`Remove backup ${b.id}`}
                        onClick={() => {
                          remove.reset();
                          setRemoving(b);
                        }}
                      />
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </ScrollRegion>
      )}
      <ConfirmDialog
        open={removing !== null}
        title="Remove this /etc backup?"
        confirmLabel="Remove backup"
        tone="danger"
        operation={remove}
        onCancel={() => setRemoving(null)}
        onConfirm={() => {
          if (!removing) return;
          remove.mutate(
            { backupId: removing.id },
            {
              onSuccess: () => {
                setRemoving(null);
                toast('success', 'The /etc backup was removed.');
              },
            },
          );
        }}
      >
        {removing && (
          <p>
            The copies of {plural(removing.files, 'file')} taken {formatDate(removing.time)} before writing to{' '}
            {backupTarget(removing)} are deleted for good.{' '}
            {removing.state === 'undone'
              ? 'That change was undone already.'
              : 'That change can then no longer be undone.'}
          </p>
        )}
      </ConfirmDialog>
    </section>
  );
}

/** After an Undo from a row: what boots next now, with the way back (the rule for changes a reboot has not made yet). */
interface UndoneRollback {
  now: string;
  back: string;
  backName: string;
}

/** One row's action: undo an /etc apply or a rollback, or cancel an update, where still possible. */
function RowActionButton({
  action,
  onUndoEtc,
  onUndoRollback,
  onCancel,
  busy,
}: {
  action: RowAction;
  onUndoEtc(action: Extract<RowAction, { kind: 'undo-etc' }>): void;
  onUndoRollback(action: Extract<RowAction, { kind: 'undo-rollback' }>): void;
  onCancel(action: Extract<RowAction, { kind: 'cancel-update' }>): void;
  busy: boolean;
}) {
  if (action.kind === 'undo-etc') {
    return (
      <Button
        size="sm"
        icon="undo"
        busy={busy}
        title={`Put back the /etc files of ${action.target} as they were before this change`}
        onClick={() => onUndoEtc(action)}
      >
        Undo
      </Button>
    );
  }
  if (action.kind === 'undo-rollback') {
    const to = versionName(action.to);
    return (
      <Button
        size="sm"
        icon="undo"
        busy={busy}
        title={`${to} starts on the next boot again`}
        onClick={() => onUndoRollback(action)}
      >
        Undo rollback
      </Button>
    );
  }
  return (
    <Button size="sm" icon="close" busy={busy} onClick={() => onCancel(action)}>
      Cancel update
    </Button>
  );
}

export function HistoryScreen() {
  const history = useHistory();
  const backups = useEtcBackups();
  const system = useSystem();
  const client = useQueryClient();
  const toast = useUi((s) => s.toast);
  const undoEtc = useOperation('etc:undo');
  const rollback = useOperation('deployments:rollback');
  const cancel = useOperation('deployments:cancel');
  const [query, setQuery] = useState('');
  const deferred = useDeferredValue(query);
  const [result, setResult] = useState<ResultFilter>('all');
  const [pendingRow, setPendingRow] = useState<string | null>(null);
  const [undone, setUndone] = useState<UndoneRollback | null>(null);
  const [confirm, setConfirm] = useState<{
    kind: 'undo-etc';
    id: string;
    action: Extract<RowAction, { kind: 'undo-etc' }>;
  } | null>(null);
  const restage = useOperation('deployments:deploy');
  const entries = useMemo(() => withoutDuplicates(history.data ?? []), [history.data]);
  // The update check is not started from here (it is a network round trip); its last answer, if any,
  // names a commit that was staged and never deployed.
  const update = client.getQueryData<IpcResponse<'updates:check'>>(keys.updates)?.available ?? null;
  const context = useMemo<SentenceContext>(
    () => ({
      deployments: system.deployments,
      backups: backups.data?.readable ? backups.data.backups : null,
      records: entries,
      update,
    }),
    [system.deployments, backups.data, entries, update],
  );
  const rows = useMemo(
    () =>
      entries.map((e) => ({
        entry: e,
        sentence: historySentence(e, context),
        action: rowAction(e, context),
      })),
    [entries, context],
  );
  const filtered = useMemo(() => {
    const q = deferred.trim().toLowerCase();
    return rows.filter(({ entry, sentence }) => {
      if (result !== 'all' && entry.result !== result) return false;
      if (!q) return true;
      const text = `${sentence.text} ${sentence.note ?? ''} ${who(entry)} ${formatDate(entry.time)}`;
      return text.toLowerCase().includes(q);
    });
  }, [rows, deferred, result]);
  const scrollRef = useRef<HTMLElement>(null);
  const virtualizer = useVirtualizer({
    count: filtered.length,
    // Measured heights follow the record, not its place: rows with an action are taller, and a new
    // record shifts every place down by one.
    getItemKey: (index) => filtered[index]?.entry.id ?? index,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => 76,
    overscan: 8,
  });
  const failures = entries.filter((e) => e.result === 'error').length;

  // Cancelling a staged update can be undone before the reboot (its commit stays in the repository),
  // so it acts on one click and offers Undo, as on the Updates screen.
  const runCancel = (id: string, action: Extract<RowAction, { kind: 'cancel-update' }>) => {
    const name = versionName(action.deployment);
    setPendingRow(id);
    cancel.mutate(
      {},
      {
        onSuccess: () =>
          toast('info', `The update to ${name} was cancelled.`, {
            topic: 'update',
            action: {
              label: 'Undo',
              run: () => restage.mutate({ commit: action.deployment.checksum }),
            },
          }),
        onError: (error) => toast('danger', `The update was not cancelled: ${error.message}`),
        onSettled: () => setPendingRow(null),
      },
    );
  };
  const runUndoEtc = (id: string, action: Extract<RowAction, { kind: 'undo-etc' }>) => {
    setPendingRow(id);
    undoEtc.mutate(
      { backupId: action.backupId },
      {
        onSuccess: (r) => {
          setConfirm(null);
          toast('success', `Put back ${plural(r.written.length, '/etc file')} of ${action.target}.`);
        },
        onError: (error) => toast('danger', `The /etc change was not undone: ${error.message}`),
        onSettled: () => setPendingRow(null),
      },
    );
  };
  const runRollback = (id: string | null, to: DeploymentLike, from: DeploymentLike) => {
    setPendingRow(id);
    rollback.mutate(
      { to: deploymentSelector(to) },
      {
        onSuccess: () => {
          setUndone({ now: versionName(to), back: deploymentSelector(from), backName: versionName(from) });
          toast('success', `${versionName(to)} starts on the next boot again.`);
        },
        onError: (error) => toast('danger', `The next boot was not changed: ${error.message}`),
        onSettled: () => setPendingRow(null),
      },
    );
  };
  const busy = undoEtc.isPending || rollback.isPending || cancel.isPending;

  return (
    <div className="screen screen-fill">
      <ScreenHeader
        title="History"
        subtitle="What was done to this system, when, by whom, and how it ended"
        actions={
          <IconButton
            icon="refresh"
            label="Refresh history"
            variant="secondary"
            size="md"
            onClick={() => {
              void history.refetch();
              void backups.refetch();
            }}
          />
        }
      />
      {undone && (
        <Notice
          tone="success"
          compact
          title={`${undone.now} starts on the next boot again`}
          actions={
            <>
              <Button
                size="sm"
                icon="undo"
                busy={rollback.isPending}
                onClick={() =>
                  rollback.mutate(
                    { to: undone.back },
                    {
                      onSuccess: () => {
                        toast('success', `${undone.backName} starts on the next boot.`);
                        setUndone(null);
                      },
                      onError: (error) => toast('danger', `The next boot was not changed: ${error.message}`),
                    },
                  )
                }
              >
                Undo
              </Button>
              <IconButton icon="close" label="Dismiss" onClick={() => setUndone(null)} />
            </>
          }
        >
          <p>Only the order changed; every deployment and its /etc are still there.</p>
        </Notice>
      )}
      <EtcBackups />
      {history.isPending ? (
        <Loading label="Reading the history…" />
      ) : history.isError ? (
        <ErrorNotice
          title="The history could not be read"
          error={history.error}
          onRetry={() => void history.refetch()}
        />
      ) : entries.length === 0 ? (
        <EmptyState icon="history" title="Nothing has been done yet">
          Rollbacks, updates, pins and /etc resolutions made with Hindsight appear here.
        </EmptyState>
      ) : (
        <>
          <div className="toolbar">
            <SearchField value={query} onChange={setQuery} label="Search history" />
            <Segmented
              label="Result"
              size="sm"
              value={result}
              onChange={setResult}
              options={[
                { value: 'all', label: 'All', count: entries.length },
                { value: 'ok', label: 'Succeeded', count: entries.length - failures },
                { value: 'error', label: 'Failed', count: failures },
              ]}
            />
          </div>
          {filtered.length === 0 ? (
            <EmptyState icon="search" title="No record matches" />
          ) : (
            <ScrollRegion
              ref={scrollRef}
              className="history-scroll card"
              label="History records, newest first"
            >
              <ol className="virtual-inner" style={{ height: virtualizer.getTotalSize() }}>
                {virtualizer.getVirtualItems().map((item) => {
                  const { entry: e, sentence, action } = filtered[item.index] as (typeof filtered)[number];
                  const outcome = OUTCOMES[sentence.outcome];
                  return (
                    <li
                      key={e.id}
                      data-index={item.index}
                      ref={virtualizer.measureElement}
                      className="virtual-row history-row"
                      style={{ transform: `translateY(${item.start}px)` }}
                      aria-label={sentence.text}
                    >
                      <span
                        className={`history-icon ${e.result === 'ok' ? 'is-ok' : 'is-error'}`}
                        aria-hidden="true"
                      >
                        <Icon name={e.result === 'ok' ? 'check' : 'alert'} size={14} />
                      </span>
                      <div className="history-main">
                        <p className={`history-title${e.result === 'error' ? ' is-error' : ''}`}>
                          {sentence.text}
                          <Badge tone={outcome.tone}>{outcome.label}</Badge>
                        </p>
                        {sentence.note && <p className="history-params muted">{sentence.note}</p>}
                        {action && (
                          <div className="history-actions">
                            <RowActionButton
                              action={action}
                              busy={busy && pendingRow === e.id}
                              onUndoEtc={(a) =>
                                a.targetBooted
                                  ? setConfirm({ kind: 'undo-etc', id: e.id, action: a })
                                  : runUndoEtc(e.id, a)
                              }
                              onUndoRollback={(a) => runRollback(e.id, a.to, a.from)}
                              onCancel={(a) => runCancel(e.id, a)}
                            />
                          </div>
                        )}
                      </div>
                      <div className="history-when">
                        <time dateTime={e.time} title={formatDate(e.time)}>
                          {formatRelative(e.time)}
                        </time>
                        <span className="muted">{formatDate(e.time)}</span>
                        <span className="muted">
                          by {who(e)} · {e.source === 'helper' ? 'system log' : 'this app'}
                        </span>
                      </div>
                    </li>
                  );
                })}
              </ol>
            </ScrollRegion>
          )}
        </>
      )}
      {/* Only a change to the running /etc asks first: it takes effect at once and cannot wait for a reboot. */}
      <ConfirmDialog
        open={confirm !== null}
        title="Undo this change to the running /etc?"
        confirmLabel="Undo"
        tone="danger"
        operation={undoEtc}
        onCancel={() => setConfirm(null)}
        onConfirm={() => {
          if (confirm) runUndoEtc(confirm.id, confirm.action);
        }}
      >
        {confirm && (
          <p>
            The system is running {confirm.action.target}: its /etc files are put back as they were before
            this change at once, while programs may be reading them.
          </p>
        )}
      </ConfirmDialog>
    </div>
  );
}

const OUTCOMES: Record<Outcome, { label: string; tone: Tone }> = {
  done: { label: 'Succeeded', tone: 'success' },
  'no-change': { label: 'No change', tone: 'neutral' },
  failed: { label: 'Failed', tone: 'danger' },
};
