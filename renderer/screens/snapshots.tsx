import { useId, useState } from 'react';
import { BACKEND_WORDS } from '../../shared/backends.ts';
import type { SnapperStatus } from '../../shared/snapper.ts';
import { useOperation } from '../api/queries.ts';
import { useSnapperStatus } from '../api/snapper-queries.ts';
import { ConfirmDialog } from '../components/dialog.tsx';
import { Icon } from '../components/icons.tsx';
import { Badge, Button, EmptyState, ErrorNotice, Notice, ScreenHeader } from '../components/ui.tsx';
import { formatDate, formatDay, formatRelative, plural } from '../lib/format.ts';
import {
  type ChangeRow,
  changeRows,
  compareDefault,
  deleteBlocker,
  deleteNumbers,
  numberOf,
  parseUserdata,
  rollbackTarget,
  rowsByDay,
  userdataText,
} from '../lib/snapper-changes.ts';
import { useUi } from '../state/ui-store.ts';

const WORDS = BACKEND_WORDS.snapper;

/** The snapper status the shell has already read (it shows a screen only once it has). */
export function useSnapper(): SnapperStatus {
  const status = useSnapperStatus();
  return status.data as SnapperStatus;
}

/** Which snapshot boots next: snapper's flag, or the default subvolume when snapper flags none. */
export function nextBootNumber(status: SnapperStatus): number | null {
  return status.snapshots.find((s) => s.default)?.number ?? status.defaultSubvolume.number;
}

export function runningNumber(status: SnapperStatus): number | null {
  return status.snapshots.find((s) => s.active)?.number ?? status.activeSubvolume.number;
}

function rowTitle(row: ChangeRow): string {
  if (row.kind === 'current') return 'Current (the live root)';
  return row.description || 'No description';
}

function UserdataChips({ userdata }: { userdata: Record<string, string> }) {
  const entries = Object.entries(userdata);
  if (entries.length === 0) return <span className="muted">none</span>;
  return (
    <ul className="package-pills">
      {entries.map(([k, v]) => (
        <li key={k} className="mono">
          {k}={v}
        </li>
      ))}
    </ul>
  );
}

function EditDialog({ row, open, onClose }: { row: ChangeRow; open: boolean; onClose: () => void }) {
  const target = row.snapshot ?? row.pre ?? row.post;
  const [description, setDescription] = useState(row.description);
  const [userdata, setUserdata] = useState(userdataText(row.userdata));
  const [cleanup, setCleanup] = useState(row.cleanup);
  const [problem, setProblem] = useState<string | null>(null);
  const modify = useOperation('snapshots:modify');
  const toast = useUi((s) => s.toast);
  const descriptionId = useId();
  const userdataId = useId();
  const cleanupId = useId();
  const problemId = useId();
  if (!target) return null;
  return (
    <ConfirmDialog
      open={open}
      title={`Edit ${WORDS.entry} ${row.numbers}`}
      confirmLabel="Save"
      operation={modify}
      onCancel={() => {
        setProblem(null);
        onClose();
      }}
      onConfirm={() => {
        const parsed = parseUserdata(userdata);
        if (!parsed.ok) {
          setProblem(parsed.problem);
          return;
        }
        setProblem(null);
        // Keys the person removed are sent empty: snapper's --userdata only sets the keys it is given.
        const removed = Object.fromEntries(
          Object.keys(row.userdata)
            .filter((k) => !(k in parsed.userdata))
            .map((k) => [k, '']),
        );
        modify.mutate(
          {
            snapshot: target.number,
            description: description.trim(),
            userdata: { ...removed, ...parsed.userdata },
            cleanup: cleanup as '' | 'number' | 'timeline' | 'empty-pre-post',
          },
          {
            onSuccess: (result) => {
              onClose();
              toast('success', result.message || `${capitalise(WORDS.entry)} ${row.numbers} was changed.`);
            },
          },
        );
      }}
    >
      {row.kind === 'pre-post' && (
        <p className="muted">snapper keeps a pair’s description and userdata on its pre snapshot.</p>
      )}
      <div className="form-grid">
        <label htmlFor={descriptionId} className="field-label">
          Description
        </label>
        <input
          id={descriptionId}
          className="input"
          value={description}
          maxLength={1000}
          onChange={(e) => setDescription(e.target.value)}
        />
        <label htmlFor={userdataId} className="field-label">
          Userdata (one key=value a line)
        </label>
        <textarea
          id={userdataId}
          className="input textarea mono"
          rows={3}
          value={userdata}
          spellCheck={false}
          aria-invalid={problem ? true : undefined}
          aria-describedby={problem ? problemId : undefined}
          onChange={(e) => setUserdata(e.target.value)}
        />
        {problem && (
          <p className="field-error" id={problemId} role="alert">
            {problem}
          </p>
        )}
        <label htmlFor={cleanupId} className="field-label">
          Cleanup algorithm
        </label>
        <select
          id={cleanupId}
          className="select"
          value={cleanup}
          onChange={(e) => setCleanup(e.target.value)}
        >
          <option value="">None (kept until deleted)</option>
          <option value="number">number</option>
          <option value="timeline">timeline</option>
          <option value="empty-pre-post">empty-pre-post</option>
        </select>
      </div>
    </ConfirmDialog>
  );
}

function capitalise(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

function ChangeCard({ row, status }: { row: ChangeRow; status: SnapperStatus }) {
  const navigate = useUi((s) => s.navigate);
  const toast = useUi((s) => s.toast);
  const rollback = useOperation('snapshots:rollback');
  const undoRollback = useOperation('snapshots:undo-rollback');
  const remove = useOperation('snapshots:delete');
  const [editing, setEditing] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const titleId = useId();
  const target = rollbackTarget(row);
  const protectedNumbers = new Set(status.pendingRollback?.made ?? []);
  const deleteReason = deleteBlocker(row, protectedNumbers);
  const numbers = deleteNumbers(row);
  const rollbackReason = row.default ? `It boots next already.` : null;
  const isCurrent = row.kind === 'current';
  const word = row.kind === 'pre-post' ? WORDS.entries : WORDS.entry;
  const compare = compareDefault(row);
  const etcOf = row.post?.number ?? numberOf(row);

  return (
    <li
      className={`timeline-item${row.default ? ' is-next' : ''}${row.active ? ' is-booted' : ''}`}
      data-snapshot={row.numbers}
    >
      <span className="timeline-dot" aria-hidden="true" />
      <article className="card deployment-card snapshot-card" aria-labelledby={titleId}>
        <header className="deployment-head">
          <div className="deployment-title">
            <h2 id={titleId}>
              <span className="snapshot-numbers mono">
                <span className="sr-only">{capitalise(word)} </span>
                {row.numbers}
              </span>{' '}
              {rowTitle(row)}
            </h2>
            <div className="badges">
              {row.active && (
                <Badge tone="success" title={`The system is running this ${WORDS.entry}`}>
                  Running
                </Badge>
              )}
              {row.default && (
                <Badge tone="accent" title={`This ${WORDS.entry} starts on the next boot`}>
                  Boots next
                </Badge>
              )}
              {row.kind === 'pre-post' && (
                <Badge tone="neutral" title="A pre and a post snapshot taken around one command">
                  before and after
                </Badge>
              )}
              {status.pendingRollback?.target === target && target !== null && (
                <Badge tone="info" title="The pending rollback went back to it">
                  Rolled back to
                </Badge>
              )}
            </div>
          </div>
          {isCurrent && (
            <p className="deployment-subject">
              What is on disk now. Compare a {WORDS.entry} with it to see what changed since.
            </p>
          )}
        </header>
        {!isCurrent && (
          <dl className="meta-grid">
            <div>
              <dt>Date</dt>
              <dd title={formatDate(row.date)}>
                {formatDay(row.date)}
                <span className="meta-sub">{formatRelative(row.date)}</span>
              </dd>
            </div>
            <div>
              <dt>{row.kind === 'pre-post' ? 'Pre and post' : 'Number'}</dt>
              <dd className="mono">{row.numbers}</dd>
            </div>
            <div>
              <dt>User</dt>
              <dd>{row.user || <span className="muted">unknown</span>}</dd>
            </div>
            <div>
              <dt>Cleanup</dt>
              <dd>{row.cleanup || <span className="muted">none (kept)</span>}</dd>
            </div>
            <div className="meta-wide">
              <dt>Userdata</dt>
              <dd>
                <UserdataChips userdata={row.userdata} />
              </dd>
            </div>
          </dl>
        )}
        <div className="card-actions">
          {target !== null && (
            <Button
              variant="primary"
              size="sm"
              icon="rollback"
              busy={rollback.isPending}
              disabledReason={rollbackReason}
              aria-label={`Roll back to this: ${WORDS.entry} ${target}${row.kind === 'pre-post' ? ', before the change' : ''}`}
              onClick={() =>
                // Undoable until the reboot: it acts at once and offers the way back.
                rollback.mutate(
                  { to: String(target) },
                  {
                    onSuccess: (result) =>
                      toast('success', result.message, {
                        topic: 'next-boot',
                        action: result.status.pendingRollback
                          ? { label: 'Undo', run: () => undoRollback.mutate({}) }
                          : undefined,
                      }),
                  },
                )
              }
            >
              Roll back to this
            </Button>
          )}
          {!isCurrent && (
            <Button
              size="sm"
              icon="compare"
              onClick={() => navigate('compare', { from: String(compare.from), to: String(compare.to) })}
            >
              {row.kind === 'pre-post' && row.pre && row.post ? 'What changed' : 'Compare with current'}
            </Button>
          )}
          {row.kind === 'pre-post' && row.pre && row.post && (
            <Button
              size="sm"
              variant="ghost"
              onClick={() => navigate('compare', { from: String(row.pre?.number), to: '0' })}
            >
              Compare with current
            </Button>
          )}
          <Button size="sm" icon="fileDiff" onClick={() => navigate('etc', { snapshot: String(etcOf) })}>
            /etc changes
          </Button>
          {!isCurrent && (
            <Button
              size="sm"
              variant="ghost"
              icon="pencil"
              aria-label={`Edit ${word} ${row.numbers}`}
              onClick={() => setEditing(true)}
            >
              Edit
            </Button>
          )}
          <span className="spacer" />
          {!isCurrent && (
            <Button
              size="sm"
              variant="ghost"
              className="btn-danger-ghost"
              icon="trash"
              disabledReason={deleteReason}
              aria-label={`Delete ${word} ${row.numbers}`}
              onClick={() => setConfirmDelete(true)}
            >
              Delete
            </Button>
          )}
        </div>
        {(rollback.error ?? undoRollback.error) && (
          <ErrorNotice
            error={rollback.error ?? undoRollback.error}
            compact
            title={rollback.error ? 'The rollback did not happen' : 'The rollback was not undone'}
          />
        )}
      </article>
      {editing && <EditDialog row={row} open={editing} onClose={() => setEditing(false)} />}
      <ConfirmDialog
        open={confirmDelete}
        title={`Delete ${word} ${row.numbers}?`}
        confirmLabel={`Delete ${word}`}
        tone="danger"
        operation={remove}
        onCancel={() => setConfirmDelete(false)}
        onConfirm={() =>
          remove.mutate(
            { snapshots: numbers },
            {
              onSuccess: (result) => {
                setConfirmDelete(false);
                toast('success', result.message || `${capitalise(word)} ${row.numbers} deleted.`);
              },
            },
          )
        }
      >
        <p>
          {row.kind === 'pre-post'
            ? `Both halves of “${rowTitle(row)}” (${plural(numbers.length, WORDS.entry)}: ${numbers.join(' and ')}) are deleted.`
            : `${capitalise(WORDS.entry)} ${row.numbers} (“${rowTitle(row)}”) is deleted.`}{' '}
          You cannot roll back to it or compare with it afterwards; this cannot be undone.
        </p>
      </ConfirmDialog>
    </li>
  );
}

function PendingRollbackBanner({ status }: { status: SnapperStatus }) {
  const undo = useOperation('snapshots:undo-rollback');
  const toast = useUi((s) => s.toast);
  const pending = status.pendingRollback;
  if (!pending) return null;
  const next = nextBootNumber(status);
  const running = runningNumber(status);
  return (
    <Notice
      tone="accent"
      icon="power"
      title={`${capitalise(WORDS.entry)} ${next ?? '?'} boots next (rolled back to ${pending.target})`}
      actions={
        <Button
          variant="primary"
          icon="undo"
          busy={undo.isPending}
          onClick={() =>
            undo.mutate(
              {},
              { onSuccess: (result) => toast('success', result.message, { topic: 'next-boot' }) },
            )
          }
        >
          Undo rollback
        </Button>
      }
    >
      <p>
        {running !== null ? `You are running ${WORDS.entry} ${running}. ` : ''}Restart to switch. Until then,
        Undo rollback boots {WORDS.entry} {pending.previousDefault} again
        {pending.made.length > 0
          ? ` and removes what the rollback made (${plural(pending.made.length, WORDS.entry)}: ${pending.made.join(', ')})`
          : ''}
        .
      </p>
      {undo.error && <ErrorNotice error={undo.error} compact title="The rollback was not undone" />}
    </Notice>
  );
}

export function SnapshotsScreen() {
  const status = useSnapper();
  const navigate = useUi((s) => s.navigate);
  const rows = changeRows(status);
  const count = status.snapshots.filter((s) => s.number !== 0).length;
  const next = nextBootNumber(status);
  const running = runningNumber(status);
  // An update or a rollback made outside Hindsight also boots another snapshot next: say so.
  const otherNext = !status.pendingRollback && next !== null && running !== null && next !== running;

  return (
    <div className="screen">
      <ScreenHeader
        title={capitalise(WORDS.entries)}
        subtitle={`${plural(count, WORDS.entry)} of the ${WORDS.system} ${status.root}, newest first`}
      />
      {status.readOnlyRoot && (
        <Notice tone="neutral" icon="lock" title="Read-only root">
          <p>
            This system’s root cannot change while it runs: updates arrive as new {WORDS.entries} that boot
            next, and rolling back only changes which {WORDS.entry} boots.
          </p>
        </Notice>
      )}
      <PendingRollbackBanner status={status} />
      {otherNext && (
        <Notice tone="accent" icon="power" title={`${capitalise(WORDS.entry)} ${next} boots next`}>
          <p>
            You are running {WORDS.entry} {running}. Restart to switch, or roll back to another {WORDS.entry}.
          </p>
        </Notice>
      )}
      {rows.length <= 1 ? (
        <EmptyState icon="layers" title={`No ${WORDS.entries}`}>
          snapper has taken no {WORDS.entries} of this root yet.
        </EmptyState>
      ) : null}
      <ol className="timeline" aria-label={`${capitalise(WORDS.entries)}, newest first`}>
        {rows.map((row) => (
          <ChangeCard key={row.key} row={row} status={status} />
        ))}
      </ol>
      <p className="screen-foot muted">
        Rolling back changes only which {WORDS.entry} starts next; nothing is deleted.{' '}
        <button type="button" className="link" onClick={() => navigate('history')}>
          See the changes by day
        </button>
      </p>
    </div>
  );
}

/** snapper's changes by day, newest first: what ran, when, and a way into each. */
export function SnapperHistoryScreen() {
  const status = useSnapper();
  const navigate = useUi((s) => s.navigate);
  const days = rowsByDay(changeRows(status), formatDay);
  return (
    <div className="screen">
      <ScreenHeader
        title="History"
        subtitle={`What changed this ${WORDS.system}, as snapper recorded it, newest first`}
      />
      {days.length === 0 ? (
        <EmptyState icon="history" title="Nothing recorded yet" />
      ) : (
        days.map(([day, rows]) => (
          <section key={day} className="snapper-day" aria-label={day}>
            <h2 className="snapper-day-title">{day}</h2>
            <ul className="card snapper-day-list">
              {rows.map((row) => {
                const compare = compareDefault(row);
                return (
                  <li key={row.key} className="history-row">
                    <span className="history-icon is-ok" aria-hidden="true">
                      <Icon name={row.kind === 'pre-post' ? 'package' : 'layers'} size={14} />
                    </span>
                    <div className="history-main">
                      <p className="history-title">
                        <span className="mono">{row.numbers}</span> {rowTitle(row)}
                      </p>
                      <p className="history-detail muted">
                        {row.user ? `by ${row.user}` : ''}
                        {row.cleanup ? ` · cleanup ${row.cleanup}` : ''}
                      </p>
                    </div>
                    <span className="history-when">
                      <time dateTime={row.date ?? undefined}>{formatDate(row.date)}</time>
                    </span>
                    <Button
                      size="sm"
                      variant="ghost"
                      icon="compare"
                      aria-label={`Compare ${WORDS.entry} ${row.numbers}`}
                      onClick={() =>
                        navigate('compare', { from: String(compare.from), to: String(compare.to) })
                      }
                    >
                      Compare
                    </Button>
                  </li>
                );
              })}
            </ul>
          </section>
        ))
      )}
    </div>
  );
}
