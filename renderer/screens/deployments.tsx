import { useId, useState } from 'react';
import type { DeploymentNoteRecord } from '../../shared/ipc-contract.ts';
import type { Deployment, DeploymentDiskUsage, DiskUsageReport } from '../../shared/types.ts';
import { useDiskUsage, useOperation } from '../api/queries.ts';
import { useSystem } from '../api/use-system.ts';
import { ConfirmDialog } from '../components/dialog.tsx';
import { Icon } from '../components/icons.tsx';
import { RebootButton } from '../components/reboot-button.tsx';
import {
  Badge,
  Button,
  EmptyState,
  ErrorNotice,
  IconButton,
  Notice,
  ScreenHeader,
} from '../components/ui.tsx';
import { UpdateStatus } from '../components/update-status.tsx';
import {
  deploymentSelector,
  formatBytes,
  formatDate,
  formatDay,
  formatRelative,
  plural,
  shortChecksum,
  versionName,
} from '../lib/format.ts';
import { deploymentBadges } from '../lib/labels.ts';
import { foldPackages, updateCommand } from '../lib/managed-origin.ts';
import { useUi } from '../state/ui-store.ts';

/** Lets long refs wrap after a separator rather than in the middle of a word. */
function Breakable({ text }: { text: string }) {
  const parts = text.split(/(?<=[/:])/);
  return (
    <>
      {parts.map((part, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: the parts of one string are positional
        <span key={i}>
          {part}
          {i < parts.length - 1 && <wbr />}
        </span>
      ))}
    </>
  );
}

/** Newest first by the commit's date; the boot order is in the badges and the "boot order" line. */
function timelineOrder(deployments: Deployment[]): Deployment[] {
  return [...deployments].sort((a, b) => {
    const ta = a.timestamp ? Date.parse(a.timestamp) : 0;
    const tb = b.timestamp ? Date.parse(b.timestamp) : 0;
    return tb - ta || a.index - b.index;
  });
}

/** rpm-ostree's layered packages: a few names at once, the rest one click away. */
function LayeredPackages({ packages }: { packages: string[] }) {
  const [open, setOpen] = useState(false);
  const listId = useId();
  const { visible, folded } = foldPackages(packages);
  const shown = open ? [...visible, ...folded] : visible;
  return (
    <div className="meta-wide">
      <dt>Layered packages ({visible.length + folded.length})</dt>
      <dd>
        <ul className="package-pills" id={listId}>
          {shown.map((name) => (
            <li key={name} className="mono">
              {name}
            </li>
          ))}
        </ul>
        {folded.length > 0 && (
          <button
            type="button"
            className="link package-pills-more"
            aria-expanded={open}
            aria-controls={listId}
            onClick={() => setOpen(!open)}
          >
            {open ? 'Show fewer' : `and ${folded.length} more`}
          </button>
        )}
      </dd>
    </div>
  );
}

function NoteEditor({
  deployment,
  note,
  onDone,
}: {
  deployment: Deployment;
  note: DeploymentNoteRecord | undefined;
  onDone: () => void;
}) {
  const [label, setLabel] = useState(note?.label ?? '');
  const [text, setText] = useState(note?.note ?? '');
  const save = useOperation('notes:set');
  const labelId = useId();
  const noteId = useId();
  return (
    <form
      className="note-editor"
      onSubmit={(e) => {
        e.preventDefault();
        save.mutate(
          {
            checksum: deployment.checksum,
            serial: deployment.serial,
            note: text.trim(),
            label: label.trim(),
          },
          { onSuccess: onDone },
        );
      }}
      onKeyDown={(e) => {
        if (e.key === 'Escape') {
          e.preventDefault();
          onDone();
        }
      }}
    >
      <label htmlFor={labelId} className="field-label">
        Short name
      </label>
      <input
        id={labelId}
        className="input"
        value={label}
        maxLength={60}
        placeholder="e.g. Before the driver update"
        onChange={(e) => setLabel(e.target.value)}
        // biome-ignore lint/a11y/noAutofocus: the editor opens because the person asked to type
        autoFocus
      />
      <label htmlFor={noteId} className="field-label">
        Note
      </label>
      <textarea
        id={noteId}
        className="input textarea"
        value={text}
        maxLength={2000}
        rows={3}
        placeholder="What is special about this deployment?"
        onChange={(e) => setText(e.target.value)}
      />
      {save.error && <ErrorNotice error={save.error} compact title="The note was not saved" />}
      <div className="row-actions">
        <Button type="submit" variant="primary" size="sm" busy={save.isPending}>
          Save note
        </Button>
        <Button size="sm" onClick={onDone}>
          Cancel
        </Button>
      </div>
    </form>
  );
}

/** What removing a deployment frees, and how much of it /boot gets back: "Frees 412 MB (38 MB in /boot)". */
function freedWords(usage: DeploymentDiskUsage): string {
  const boot = usage.freedInBoot > 0 ? ` (${formatBytes(usage.freedInBoot)} in /boot)` : '';
  return `${formatBytes(usage.freedByRemoval)}${boot}`;
}

/** What the deployment holds alone, and what removing it gives back. */
function DiskFacts({
  deployment: d,
  usage,
  state,
}: {
  deployment: Deployment;
  usage: DeploymentDiskUsage | undefined;
  state: 'pending' | 'error' | 'ready';
}) {
  return (
    <div>
      <dt>On disk</dt>
      <dd>
        {usage ? (
          <>
            Holds {formatBytes(usage.uniqueBytes)} alone
            <span className="meta-sub">
              {d.booted ? 'Running, so it cannot be removed' : `Removing frees ${freedWords(usage)}`}
            </span>
          </>
        ) : state === 'pending' ? (
          <span className="muted">Measuring…</span>
        ) : (
          <span className="muted">Not measured</span>
        )}
      </dd>
    </div>
  );
}

/** The free space where deployments live, and on /boot when it is a filesystem of its own. */
function DiskSpace({ report }: { report: DiskUsageReport }) {
  const { sysroot, boot } = report;
  if (!sysroot && !boot) return null;
  const separateBoot = boot && !boot.sameFilesystemAsSysroot;
  return (
    <div className="disk-space card">
      <span className="disk-space-icon" aria-hidden="true">
        <Icon name="hardDrive" size={16} />
      </span>
      <div>
        <p>
          {sysroot && (
            <>
              <strong>{formatBytes(sysroot.free)} free</strong> of {formatBytes(sysroot.total)} on the sysroot
            </>
          )}
          {separateBoot && (
            <>
              {sysroot ? '; ' : ''}
              <strong>{formatBytes(boot.free)} free</strong> of {formatBytes(boot.total)} on /boot
            </>
          )}
          {boot && !separateBoot && <span className="muted"> (/boot is on the same filesystem)</span>}
        </p>
        <details className="disk-note">
          <summary>What “holds alone” and “frees” count</summary>
          <p className="muted">{report.note}</p>
          {report.problems.length > 0 && (
            <ul className="muted">
              {report.problems.map((p) => (
                <li key={p}>{p}</li>
              ))}
            </ul>
          )}
        </details>
      </div>
    </div>
  );
}

function DeploymentCard({
  deployment: d,
  total,
  usage,
  diskState,
}: {
  deployment: Deployment;
  total: number;
  usage: DeploymentDiskUsage | undefined;
  diskState: 'pending' | 'error' | 'ready';
}) {
  const system = useSystem();
  const navigate = useUi((s) => s.navigate);
  const toast = useUi((s) => s.toast);
  const note = system.notes.get(deploymentSelector(d));
  const [editing, setEditing] = useState(false);
  const [confirmRemove, setConfirmRemove] = useState(false);
  const makeDefault = useOperation('deployments:rollback');
  const pin = useOperation('deployments:pin');
  const unpin = useOperation('deployments:unpin');
  const remove = useOperation('deployments:undeploy');
  const selector = deploymentSelector(d);
  const name = versionName(d);
  const titleId = useId();
  const actionError = makeDefault.error ?? pin.error ?? unpin.error;
  const previousNext = system.next && system.next !== d ? system.next : null;

  const compareWith = (): void => {
    const other = d.default
      ? system.booted && !system.booted.default
        ? system.booted
        : system.rollback
      : system.next;
    if (!other) {
      navigate('compare', { to: selector });
      return;
    }
    // Older on the left, newer on the right, so upgrades read as upgrades.
    const otherFirst = (Date.parse(other.timestamp ?? '') || 0) <= (Date.parse(d.timestamp ?? '') || 0);
    const a = deploymentSelector(other);
    navigate('compare', otherFirst ? { from: a, to: selector } : { from: selector, to: a });
  };

  const removeReason = d.booted
    ? 'The running deployment cannot be removed.'
    : total <= 1
      ? 'The only deployment cannot be removed.'
      : null;

  return (
    <li className={`timeline-item${d.default ? ' is-next' : ''}${d.booted ? ' is-booted' : ''}`}>
      <span className="timeline-dot" aria-hidden="true" />
      <article className="card deployment-card" aria-labelledby={titleId}>
        <header className="deployment-head">
          <div className="deployment-title">
            <h2 id={titleId}>
              <span className="sr-only">Deployment </span>
              {name}
              {note?.label && <span className="deployment-label">{note.label}</span>}
            </h2>
            <div className="badges">
              {deploymentBadges(d, d.staged || d === system.stagedUpdate).map((b) => (
                <Badge key={b.label} tone={b.tone} title={b.title}>
                  {b.label}
                </Badge>
              ))}
            </div>
          </div>
          <p className="deployment-subject">{d.subject ?? 'No description'}</p>
        </header>
        <dl className="meta-grid">
          <div>
            <dt>Date</dt>
            <dd title={formatDate(d.timestamp)}>
              {formatDay(d.timestamp)}
              <span className="meta-sub">{formatRelative(d.timestamp)}</span>
            </dd>
          </div>
          <div>
            <dt>Commit</dt>
            <dd className="mono">
              <span title={d.checksum}>{shortChecksum(d.checksum)}</span>
              <span className="muted">.{d.serial}</span>
              <IconButton
                icon="copy"
                label={`Copy the full commit checksum of ${name}`}
                onClick={() => {
                  void navigator.clipboard
                    ?.writeText(d.checksum)
                    .then(() => toast('success', 'Commit checksum copied'))
                    .catch(() => toast('danger', 'The clipboard is not available here'));
                }}
              />
            </dd>
          </div>
          <div>
            {/* A container image is the whole origin of a bootc deployment: call it what it is. */}
            <dt>{d.imageReference && d.origin === d.imageReference ? 'Image' : 'Origin'}</dt>
            <dd className="mono">
              {d.origin ? <Breakable text={d.origin} /> : <span className="muted">none</span>}
            </dd>
          </div>
          {d.managedBy && (
            <div>
              <dt>Managed by</dt>
              <dd>
                {d.managedBy}
                <span className="meta-sub">
                  updated with <code>{updateCommand(d.managedBy)}</code>
                </span>
              </dd>
            </div>
          )}
          {d.imageReference && d.origin !== d.imageReference && (
            <div className="meta-wide">
              <dt>Image</dt>
              <dd className="mono">
                <Breakable text={d.imageReference} />
              </dd>
            </div>
          )}
          <div>
            <dt>Kernel</dt>
            <dd className="mono">{d.kernel ?? <span className="muted">unknown</span>}</dd>
          </div>
          <div>
            <dt>Boot order</dt>
            <dd>
              {d.index === 0 ? 'First (boots next)' : `${d.index + 1} of ${total}`}
              <span className="meta-sub">stateroot {d.stateroot}</span>
            </dd>
          </div>
          <DiskFacts deployment={d} usage={usage} state={diskState} />
          {d.layeredPackages.length > 0 && <LayeredPackages packages={d.layeredPackages} />}
        </dl>

        {editing ? (
          <NoteEditor deployment={d} note={note} onDone={() => setEditing(false)} />
        ) : note?.note ? (
          <div className="note">
            <Icon name="pencil" size={14} />
            <p>{note.note}</p>
            <Button
              size="sm"
              variant="ghost"
              onClick={() => setEditing(true)}
              aria-label={`Edit the note on ${name}`}
            >
              Edit
            </Button>
          </div>
        ) : (
          <Button
            size="sm"
            variant="ghost"
            icon="pencil"
            className="add-note"
            onClick={() => setEditing(true)}
            aria-label={`Add a note to ${name}`}
          >
            {note?.label ? 'Add a note' : 'Add a name or note'}
          </Button>
        )}

        <div className="card-actions">
          {!d.default && (
            <Button
              variant="primary"
              size="sm"
              icon="rollback"
              busy={makeDefault.isPending}
              onClick={() =>
                // Undoable until the reboot, so it acts at once and offers the way back.
                makeDefault.mutate(
                  { to: selector },
                  {
                    onSuccess: () =>
                      toast('success', `${name} will start on the next boot.`, {
                        topic: 'next-boot',
                        action: previousNext
                          ? {
                              label: 'Undo',
                              run: () => makeDefault.mutate({ to: deploymentSelector(previousNext) }),
                            }
                          : undefined,
                      }),
                  },
                )
              }
            >
              Make next boot
            </Button>
          )}
          {!d.default && (
            <Button size="sm" variant="ghost" onClick={() => navigate('rollback', { target: selector })}>
              Preview rollback
            </Button>
          )}
          <Button size="sm" icon="compare" onClick={compareWith}>
            Compare
          </Button>
          <Button size="sm" icon="fileDiff" onClick={() => navigate('etc', { deployment: selector })}>
            /etc changes
          </Button>
          {d.pinned ? (
            <Button
              size="sm"
              icon="pin"
              busy={unpin.isPending}
              onClick={() =>
                unpin.mutate(
                  { deployment: selector },
                  {
                    onSuccess: () =>
                      toast('success', `${name} is no longer pinned.`, {
                        topic: `pin:${selector}`,
                        action: { label: 'Undo', run: () => pin.mutate({ deployment: selector }) },
                      }),
                  },
                )
              }
            >
              Unpin
            </Button>
          ) : (
            <Button
              size="sm"
              icon="pin"
              busy={pin.isPending}
              onClick={() =>
                pin.mutate(
                  { deployment: selector },
                  {
                    onSuccess: () =>
                      toast('success', `${name} is pinned.`, {
                        topic: `pin:${selector}`,
                        action: { label: 'Undo', run: () => unpin.mutate({ deployment: selector }) },
                      }),
                  },
                )
              }
            >
              Pin
            </Button>
          )}
          <span className="spacer" />
          <Button
            size="sm"
            variant="ghost"
            className="btn-danger-ghost"
            icon="trash"
            disabledReason={removeReason}
            onClick={() => setConfirmRemove(true)}
          >
            Remove
          </Button>
        </div>
        {actionError && (
          <ErrorNotice
            error={actionError}
            compact
            title={makeDefault.error ? 'The next boot was not changed' : 'The pin was not changed'}
          />
        )}
      </article>
      <ConfirmDialog
        open={confirmRemove}
        title={`Remove ${name}?`}
        confirmLabel="Remove deployment"
        tone="danger"
        operation={remove}
        onCancel={() => setConfirmRemove(false)}
        onConfirm={() =>
          remove.mutate(
            { deployment: selector },
            {
              onSuccess: () => {
                setConfirmRemove(false);
                toast('success', `${name} was removed.`);
              },
            },
          )
        }
      >
        {usage && (
          <p>
            <strong>Frees {freedWords(usage)}.</strong>
            {usage.bootShared ? ' Its kernel stays in /boot: another deployment boots it too.' : ''}
          </p>
        )}
        <p>
          Deployment {name} ({shortChecksum(d.checksum)}) and its own /etc are deleted. You will not be able
          to boot it again; its image stays in the repository only while something else refers to it.
        </p>
        {d.pinned && <p>It is pinned: removing it ignores the pin.</p>}
        {d.default && <p>It is the next boot: the deployment after it will start instead.</p>}
      </ConfirmDialog>
    </li>
  );
}

export function DeploymentsScreen() {
  const system = useSystem();
  const navigate = useUi((s) => s.navigate);
  const ordered = timelineOrder(system.deployments);
  const { booted, next } = system;
  // A staged update is told by the update status above; this notice is for any other switch.
  const pendingSwitch = booted && next && booted !== next && next !== system.stagedUpdate;
  // Refetched with everything else after each change ('sysroot:changed', useOperation).
  const disk = useDiskUsage(ordered.length > 0);
  const diskState = disk.isPending ? 'pending' : disk.isError ? 'error' : 'ready';
  const usageOf = (d: Deployment) =>
    disk.data?.deployments.find(
      (u) => u.checksum === d.checksum && u.serial === d.serial && u.stateroot === d.stateroot,
    );

  return (
    <div className="screen">
      <ScreenHeader
        title="Deployments"
        subtitle={`${plural(system.deployments.length, 'deployment')}, newest first`}
        // One "Reboot now" on screen: the notice's, when a switch is pending.
        actions={pendingSwitch ? undefined : <RebootButton />}
      />
      <UpdateStatus />
      {pendingSwitch && next && (
        <Notice
          tone="accent"
          icon="power"
          title={`${versionName(next)} starts on the next boot`}
          actions={<RebootButton variant="primary" />}
        >
          <p>
            You are running {versionName(booted)}. Restart to switch, or make another deployment the next
            boot.
          </p>
        </Notice>
      )}
      {ordered.length === 0 ? (
        <EmptyState icon="layers" title="No deployments">
          This sysroot has no deployments yet. Deploy an image with <code>ostree admin deploy</code> first.
        </EmptyState>
      ) : (
        <ol className="timeline" aria-label="Deployments, newest first">
          {ordered.map((d) => (
            <DeploymentCard
              key={deploymentSelector(d)}
              deployment={d}
              total={system.deployments.length}
              usage={usageOf(d)}
              diskState={diskState}
            />
          ))}
        </ol>
      )}
      {disk.data && <DiskSpace report={disk.data} />}
      {disk.isError && <ErrorNotice compact title="The disk use could not be measured" error={disk.error} />}
      <p className="screen-foot muted">
        Rolling back changes only which deployment starts next; nothing is deleted.{' '}
        <button type="button" className="link" onClick={() => navigate('rollback')}>
          See what a rollback changes
        </button>
      </p>
    </div>
  );
}
