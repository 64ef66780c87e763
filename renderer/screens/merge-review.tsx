import { useEffect, useId, useMemo, useState } from 'react';
import type { Resolution } from '../../shared/schemas.ts';
import type { Deployment, EtcMergeFile, EtcMergeReport } from '../../shared/types.ts';
import { useEtcFile, useMerge, useOperation, useUpdateCheck } from '../api/queries.ts';
import { type SystemView, useSystem } from '../api/use-system.ts';
import { SnapshotPicker } from '../components/deployment-picker.tsx';
import { ConfirmDialog } from '../components/dialog.tsx';
import { Icon } from '../components/icons.tsx';
import { ListToggle } from '../components/list-toggle.tsx';
import {
  composeResult,
  EntryMergePanes,
  HunkMerge,
  HunkTools,
  type MergeTexts,
  useMergeModel,
} from '../components/merge-editor.tsx';
import {
  Badge,
  Button,
  EmptyState,
  ErrorNotice,
  Loading,
  Notice,
  ScreenHeader,
  Segmented,
  type SegmentOption,
} from '../components/ui.tsx';
import { deploymentSelector, plural, shortChecksum, versionName } from '../lib/format.ts';
import {
  isNotDownloaded,
  type MergeOutcome,
  mergeOutcome,
  OSTREE_LABELS,
  OUTCOME_INFO,
  outcomeCount,
  SIDE_LABELS,
} from '../lib/labels.ts';
import { type FileDecision, type ResolutionMode, useMergeStore } from '../state/merge-store.ts';
import { useUi } from '../state/ui-store.ts';
import { LockedFile } from './etc-drift.tsx';

const OUTCOME_ORDER: MergeOutcome[] = [
  'refused',
  'conflict',
  'deleted-changed',
  'hidden',
  'auto-merged',
  'took-upstream',
  'kept',
];

/** What Hindsight proposes before the person touches anything. */
export function fallbackDecision(file: EtcMergeFile): FileDecision {
  const outcome = mergeOutcome(file);
  if (file.merge === 'not-text') return { mode: 'yours', choices: {}, include: false };
  if (outcome === 'conflict') return { mode: 'hunks', choices: {}, include: true };
  if ((outcome === 'hidden' || outcome === 'auto-merged') && file.merge === 'clean') {
    return { mode: file.strategy === 'entries' ? 'auto' : 'hunks', choices: {}, include: true };
  }
  if (outcome === 'deleted-changed' || outcome === 'refused')
    return { mode: 'upstream', choices: {}, include: false };
  return { mode: 'hunks', choices: {}, include: false };
}

type Planned =
  | { kind: 'write'; resolution: Resolution; label: string }
  | { kind: 'unresolved'; count: number }
  | { kind: 'skip' };

/** The resolution Apply sends for a file, or why it cannot yet. */
export function planFor(file: EtcMergeFile, decision: FileDecision): Planned {
  if (!decision.include) return { kind: 'skip' };
  const path = { path: file.path, ...(file.pathBase64 ? { pathBase64: file.pathBase64 } : {}) };
  switch (decision.mode) {
    case 'auto':
      return { kind: 'write', resolution: { path, take: 'merged' }, label: 'Hindsight’s merge' };
    case 'yours':
      return { kind: 'write', resolution: { path, take: 'local' }, label: 'your copy' };
    case 'upstream':
      return { kind: 'write', resolution: { path, take: 'upstream' }, label: 'the new image’s version' };
    case 'edit':
      return {
        kind: 'write',
        resolution: { path, take: 'edited', text: decision.editText ?? '' },
        label: 'your edited text',
      };
    default: {
      const c = decision.composed;
      if (!c) {
        if (file.merge === 'conflict') return { kind: 'unresolved', count: file.conflicts?.length ?? 1 };
        if (file.merge === 'clean')
          return { kind: 'write', resolution: { path, take: 'merged' }, label: 'the line merge' };
        return { kind: 'write', resolution: { path, take: 'local' }, label: 'your copy' };
      }
      if (c.unresolved > 0) return { kind: 'unresolved', count: c.unresolved };
      if (c.equals === 'merged')
        return { kind: 'write', resolution: { path, take: 'merged' }, label: 'the line merge' };
      if (c.equals === 'local')
        return { kind: 'write', resolution: { path, take: 'local' }, label: 'your copy' };
      if (c.equals === 'upstream')
        return { kind: 'write', resolution: { path, take: 'upstream' }, label: 'the new image’s version' };
      return {
        kind: 'write',
        resolution: { path, take: 'edited', text: c.text },
        label: 'your hunk choices',
      };
    }
  }
}

interface Destination {
  text: string;
  writesBooted: boolean;
  note: string | null;
}

/** Where a resolution lands: the target's own /etc, or — for a staged or undeployed target — the merge source. */
export function destinationOf(report: EtcMergeReport, system: SystemView): Destination {
  const { source, target } = report;
  const targetDeployment =
    target.index !== null ? system.deployments.find((d) => d.index === target.index) : undefined;
  if (target.deployed && !target.staged) {
    return {
      text: `${versionName(target)}’s /etc (deployment ${target.index})`,
      writesBooted: !!targetDeployment?.booted,
      note: targetDeployment?.booted
        ? 'This is the running system’s /etc: changes take effect for programs that read them from now on.'
        : null,
    };
  }
  const where = `${versionName(source)}’s /etc (${source.booted ? 'the running system' : `deployment ${source.index}`})`;
  return {
    text: where,
    writesBooted: source.booted,
    note: target.staged
      ? `${versionName(target)} is staged: OSTree builds its /etc from the running /etc when the computer shuts down. So the resolution has to go through ${where}; it reaches ${versionName(target)} at shutdown.`
      : `${versionName(target)} is not deployed yet. The resolution is written to ${where}, the /etc that deploying ${versionName(target)} starts from, so it carries over.`,
  };
}

function useDefaultPair(system: SystemView): { source?: string; target?: string; waiting: boolean } {
  const updates = useUpdateCheck(true);
  const pending = system.deployments.find((d) => (d.staged || d.pending) && !d.booted);
  if (pending) {
    const source = system.booted ?? system.deployments.find((d) => d.index === pending.index + 1);
    return {
      source: source ? deploymentSelector(source) : undefined,
      target: deploymentSelector(pending),
      waiting: false,
    };
  }
  const available = updates.data?.available;
  // An update not downloaded yet has no /etc here to review: start from a pair that can be.
  if (
    available?.downloaded &&
    !system.deployments.some((d) => d.checksum === available.checksum) &&
    system.current
  ) {
    return { source: deploymentSelector(system.current), target: available.checksum, waiting: false };
  }
  if (updates.isFetching) return { waiting: true };
  if (system.rollback && system.next && system.rollback !== system.next) {
    return {
      source: deploymentSelector(system.rollback),
      target: deploymentSelector(system.next),
      waiting: false,
    };
  }
  return { waiting: false };
}

function FileList({
  report,
  pairKey,
  selected,
  onSelect,
  applied,
}: {
  report: EtcMergeReport;
  pairKey: string;
  selected: string | undefined;
  onSelect: (path: string) => void;
  applied: Set<string>;
}) {
  const decisions = useMergeStore((s) => s.decisions);
  const groups = OUTCOME_ORDER.map((o) => ({
    outcome: o,
    files: report.files.filter((f) => mergeOutcome(f) === o),
  })).filter((g) => g.files.length);
  return (
    <div className="merge-list">
      {groups.map((g) => {
        const info = OUTCOME_INFO[g.outcome];
        return (
          <section key={g.outcome} className="merge-group" aria-label={`${info.label}: ${g.files.length}`}>
            <h3 className={`merge-group-title tone-${info.tone}`}>
              {info.label} <span className="merge-group-count">{g.files.length}</span>
            </h3>
            <ul>
              {g.files.map((f) => {
                const decision = decisions[`${pairKey}|${f.path}`] ?? fallbackDecision(f);
                const plan = planFor(f, decision);
                return (
                  <li key={f.path}>
                    <button
                      type="button"
                      className={`merge-item${selected === f.path ? ' is-selected' : ''}`}
                      aria-current={selected === f.path ? 'true' : undefined}
                      onClick={() => onSelect(f.path)}
                    >
                      <span className="merge-item-path mono">{f.path}</span>
                      <span className={`merge-item-plan plan-${plan.kind}`}>
                        {applied.has(f.path) ? (
                          <>
                            <Icon name="check" size={12} /> Applied
                          </>
                        ) : plan.kind === 'write' ? (
                          'Will write'
                        ) : plan.kind === 'unresolved' ? (
                          'Unresolved'
                        ) : (
                          'No action'
                        )}
                      </span>
                    </button>
                  </li>
                );
              })}
            </ul>
          </section>
        );
      })}
    </div>
  );
}

function MergeFileDetail({
  report,
  file,
  source,
  target,
  pairKey,
}: {
  report: EtcMergeReport;
  file: EtcMergeFile;
  source: string;
  target: string;
  pairKey: string;
}) {
  const system = useSystem();
  const key = `${pairKey}|${file.path}`;
  const fallback = useMemo(() => fallbackDecision(file), [file]);
  const decision = useMergeStore((s) => s.decisions[key]) ?? fallback;
  const patch = useMergeStore((s) => s.patchDecision);
  const [showBase, setShowBase] = useState(false);
  const includeId = useId();
  const view = useEtcFile(source, file.path, target);
  const outcome = mergeOutcome(file);
  const info = OUTCOME_INFO[outcome];

  const texts: MergeTexts | null = useMemo(() => {
    const v = view.data;
    if (!v) return null;
    const up = v.upstream;
    if (v.local.content !== 'text' || !up || up.content !== 'text') return null;
    return { base: v.base.text ?? '', yours: v.local.text ?? '', upstream: up.text ?? '' };
  }, [view.data]);
  const model = useMergeModel(texts);
  const composed = useMemo(
    () => (texts && model ? composeResult(file, texts, model, decision.choices) : null),
    [file, texts, model, decision.choices],
  );

  useEffect(() => {
    if (!composed) return;
    const prev = useMergeStore.getState().decisions[key]?.composed;
    if (
      prev &&
      prev.text === composed.text &&
      prev.unresolved === composed.unresolved &&
      prev.equals === composed.equals
    )
      return;
    patch(key, fallback, { composed });
  }, [composed, key, fallback, patch]);

  const setMode = (mode: ResolutionMode): void => {
    const editText =
      mode === 'edit' && decision.editText === undefined
        ? decision.mode === 'auto'
          ? (file.merged ?? '')
          : (composed?.text ?? texts?.yours ?? '')
        : decision.editText;
    patch(key, fallback, { mode, ...(editText !== undefined ? { editText } : {}) });
  };

  const modeOptions: SegmentOption<ResolutionMode>[] = texts
    ? [
        ...(file.strategy === 'entries' && file.merge === 'clean'
          ? [{ value: 'auto' as const, label: 'Entry merge' }]
          : []),
        { value: 'hunks', label: 'Hunk by hunk' },
        { value: 'edit', label: 'Edit text', icon: 'pencil' as const },
      ]
    : [
        { value: 'yours', label: 'Keep yours', disabled: file.local === 'absent' },
        {
          value: 'upstream',
          label: 'Take upstream',
          disabled: file.upstream === 'absent' || file.upstream === 'removed',
        },
      ];
  const plan = planFor(file, decision);

  return (
    <section className="file-detail merge-detail" aria-label={`/etc/${file.path}`}>
      <header className="file-head">
        <h2 className="file-path mono">/etc/{file.path}</h2>
        <div className="badges">
          <Badge tone={info.tone}>{info.label}</Badge>
          {file.strategy === 'entries' && <Badge tone="neutral">account database</Badge>}
        </div>
      </header>
      <p className="outcome-explain">{info.explain}</p>
      {file.restored?.length ? (
        <Notice
          tone="warning"
          compact
          title={`Missing system ${file.restored.length === 1 ? 'account' : 'accounts'}: ${file.restored.join(', ')}`}
        >
          <p>
            Both images define {file.restored.length === 1 ? 'it' : 'them'}, but this /etc lacks{' '}
            {file.restored.length === 1 ? 'it' : 'them'} (an earlier whole-file merge kept an older copy).
            OSTree would keep {file.restored.length === 1 ? 'it' : 'them'} missing; Hindsight’s merge puts{' '}
            {file.restored.length === 1 ? 'it' : 'them'} back.
          </p>
        </Notice>
      ) : null}
      <div className="facts-row">
        <dl className="facts">
          <div>
            <dt>You</dt>
            <dd>{SIDE_LABELS[file.local]}</dd>
          </div>
          <div>
            <dt>New image</dt>
            <dd>{SIDE_LABELS[file.upstream]}</dd>
          </div>
          <div>
            <dt>OSTree</dt>
            <dd>{OSTREE_LABELS[file.ostree]}</dd>
          </div>
          <div>
            <dt>Line merge</dt>
            <dd>
              {file.merge === 'clean'
                ? file.strategy === 'entries'
                  ? 'clean, entry by entry'
                  : 'clean'
                : file.merge === 'conflict'
                  ? plural(file.conflicts?.length ?? 1, 'conflict')
                  : file.merge === 'not-text'
                    ? 'not text'
                    : 'not needed'}
            </dd>
          </div>
        </dl>
        <label className="check check-strong facts-include" htmlFor={includeId}>
          <input
            id={includeId}
            type="checkbox"
            checked={decision.include}
            onChange={(e) => patch(key, fallback, { include: e.target.checked })}
          />
          Include when applying
        </label>
      </div>

      <div className="merge-toolbar">
        {modeOptions.length > 0 && (
          <Segmented
            label="Result"
            size="sm"
            value={decision.mode}
            onChange={setMode}
            options={modeOptions}
          />
        )}
        {model && decision.mode === 'hunks' && (
          <HunkTools
            regions={model.regions}
            decisionKey={key}
            decision={decision}
            showBase={showBase}
            onShowBase={setShowBase}
          />
        )}
      </div>

      {view.isPending ? (
        <Loading label="Reading yours, the base and upstream…" compact />
      ) : view.isError ? (
        view.error.code === 'not-authorized' ? (
          <LockedFile path={file.path} />
        ) : (
          <ErrorNotice
            title="This file could not be read"
            error={view.error}
            onRetry={() => void view.refetch()}
          />
        )
      ) : !texts || !model ? (
        <Notice tone="neutral" title="No line merge for this path">
          <p>
            {file.merge === 'not-text'
              ? 'One of the versions is not text (binary or too large), so only a whole side can be chosen.'
              : file.local === 'removed'
                ? 'You deleted this file. Keep it deleted (leave it out), or take the new image’s version.'
                : 'Only one side has this file as text. Choose a whole side, or leave the file out.'}
          </p>
        </Notice>
      ) : decision.mode === 'auto' ? (
        <EntryMergePanes file={file} texts={texts} />
      ) : (
        <HunkMerge
          file={file}
          regions={model.regions}
          decisionKey={key}
          decision={decision}
          fallback={fallback}
          showBase={showBase}
          same={{ title: 'Yours and upstream are the same', text: 'Nothing to merge.' }}
        />
      )}
      <p className={`plan-line plan-${plan.kind}`} aria-live="polite">
        {plan.kind === 'write'
          ? `Apply writes ${plan.label} to ${destinationOf(report, system).text}.`
          : plan.kind === 'unresolved'
            ? `${plural(plan.count, 'conflict')} left: choose yours, upstream, both or edit for each, or leave the file out.`
            : 'Left out: Apply does not touch this path.'}
      </p>
    </section>
  );
}

function ApplyBar({
  report,
  pairKey,
  source,
  target,
}: {
  report: EtcMergeReport;
  pairKey: string;
  source: string;
  target: string;
}) {
  const system = useSystem();
  const decisions = useMergeStore((s) => s.decisions);
  const lastApply = useMergeStore((s) => s.lastApply);
  const setLastApply = useMergeStore((s) => s.setLastApply);
  const toast = useUi((s) => s.toast);
  const apply = useOperation('etc:apply');
  const undo = useOperation('etc:undo');
  const [confirm, setConfirm] = useState(false);
  const destination = destinationOf(report, system);

  const plans = report.files.map((f) => ({
    file: f,
    plan: planFor(f, decisions[`${pairKey}|${f.path}`] ?? fallbackDecision(f)),
  }));
  const writes = plans.filter((p) => p.plan.kind === 'write');
  const unresolved = plans.filter((p) => p.plan.kind === 'unresolved');
  const reason = unresolved.length
    ? `${plural(unresolved.length, 'file')} with open conflicts: resolve ${unresolved.length === 1 ? 'it' : 'them'} or leave ${unresolved.length === 1 ? 'it' : 'them'} out.`
    : writes.length === 0
      ? 'Nothing is included yet.'
      : null;

  const undoApply = (backupId: string) =>
    undo.mutate(
      { backupId },
      {
        onSuccess: (result) => {
          setLastApply(null);
          toast('success', `Restored ${plural(result.written.length, 'file')} from the backup.`, {
            topic: 'etc-apply',
          });
        },
      },
    );
  const applyNow = () =>
    apply.mutate(
      {
        source,
        target,
        resolutions: writes.map((w) => (w.plan as Extract<Planned, { kind: 'write' }>).resolution),
        ...(destination.writesBooted ? { allowBooted: true } : {}),
      },
      {
        onSuccess: (result) => {
          setConfirm(false);
          setLastApply({
            backupId: result.backupId,
            source,
            target,
            paths: result.written.map((p) => p.path),
            time: new Date().toISOString(),
          });
          toast('success', `Wrote ${plural(result.written.length, 'file')} to ${destination.text}.`, {
            topic: 'etc-apply',
            action: { label: 'Undo', run: () => undoApply(result.backupId) },
          });
        },
      },
    );

  return (
    <section className="apply-bar" aria-label="Apply resolutions">
      <div className="apply-text">
        <p className="apply-title">
          {writes.length ? `${plural(writes.length, 'file')} to write` : 'No file to write'}
          {unresolved.length ? ` · ${unresolved.length} unresolved` : ''}
        </p>
        <p className="apply-where muted">Into {destination.text}. A backup is kept; Undo restores it.</p>
      </div>
      {lastApply && lastApply.source === source && lastApply.target === target && (
        <Button icon="undo" busy={undo.isPending} onClick={() => undoApply(lastApply.backupId)}>
          Undo last apply
        </Button>
      )}
      {/* The running /etc changes at once, under running programs: that asks first. Any other
          deployment's /etc is only read at its boot, so Apply acts at once and offers Undo. */}
      <Button
        variant="primary"
        icon="check"
        disabledReason={reason}
        busy={!confirm && apply.isPending}
        onClick={() => (destination.writesBooted ? setConfirm(true) : applyNow())}
      >
        {destination.writesBooted ? 'Apply…' : 'Apply'}
      </Button>
      {undo.error && <ErrorNotice error={undo.error} compact title="Undo failed" />}
      {!confirm && apply.error && <ErrorNotice error={apply.error} compact title="Nothing was written" />}
      <ConfirmDialog
        open={confirm}
        title={`Write ${plural(writes.length, 'file')} to ${destination.text}?`}
        confirmLabel="Apply"
        operation={apply}
        onCancel={() => setConfirm(false)}
        onConfirm={applyNow}
      >
        <ul className="apply-list">
          {writes.map((w) => (
            <li key={w.file.path}>
              <code>/etc/{w.file.path}</code> ← {(w.plan as Extract<Planned, { kind: 'write' }>).label}
            </li>
          ))}
        </ul>
        {destination.note && <p>{destination.note}</p>}
        <p>The current versions are backed up first; “Undo last apply” puts them back.</p>
      </ConfirmDialog>
    </section>
  );
}

function targetName(report: EtcMergeReport): string {
  return report.target.deployed
    ? `${versionName(report.target)} (deployment ${report.target.index})`
    : `${versionName(report.target)} (not deployed, ${shortChecksum(report.target.checksum)})`;
}

export function MergeScreen() {
  const system = useSystem();
  const params = useUi((s) => s.route.params);
  const setParams = useUi((s) => s.setParams);
  const updates = useUpdateCheck(true);
  const defaults = useDefaultPair(system);
  const source = params.source ?? defaults.source;
  const target = params.target ?? defaults.target;
  const merge = useMerge(source, target);
  const lastApply = useMergeStore((s) => s.lastApply);
  const [listOpen, setListOpen] = useState(false);
  const listId = useId();

  useEffect(() => {
    if ((!params.source && source) || (!params.target && target)) setParams({ source, target });
  }, [params.source, params.target, source, target, setParams]);

  const report = merge.data;
  const pairKey = source && target ? `${source}|${target}` : '';
  const files = report?.files ?? [];
  const counts = useMemo(() => {
    const out: Partial<Record<MergeOutcome, number>> = {};
    for (const f of files) {
      const o = mergeOutcome(f);
      out[o] = (out[o] ?? 0) + 1;
    }
    return out;
  }, [files]);
  // Open the most serious path first, in the order the list shows them.
  const ordered = OUTCOME_ORDER.flatMap((o) => files.filter((f) => mergeOutcome(f) === o));
  const selectedPath = params.path ?? ordered[0]?.path;
  const selected = files.find((f) => f.path === selectedPath);
  const applied = new Set(
    lastApply && lastApply.source === source && lastApply.target === target ? lastApply.paths : [],
  );
  const available = updates.data?.available;
  const extra =
    available?.downloaded && !system.deployments.some((d) => d.checksum === available.checksum)
      ? [
          {
            value: available.checksum,
            label: `${versionName(available)} — available update (${shortChecksum(available.checksum)})`,
          },
        ]
      : [];
  const destination = report ? destinationOf(report, system) : null;

  return (
    <div className="screen screen-review">
      <ScreenHeader
        title="Upgrade review"
        subtitle="What happens to your /etc edits on the way to another image"
        actions={
          <div className="header-pickers">
            <SnapshotPicker
              label="Your /etc from"
              value={source}
              onChange={(v) => setParams({ source: v, path: undefined })}
              deployments={system.deployments}
              labels={system.labels}
            />
            <span className="picker-arrow" aria-hidden="true">
              <Icon name="arrowRight" size={18} />
            </span>
            <SnapshotPicker
              label="Upgrading to"
              value={target}
              onChange={(v) => setParams({ target: v, path: undefined })}
              deployments={system.deployments}
              labels={system.labels}
              extra={extra}
              allowCommit
            />
          </div>
        }
      />
      {!source || !target ? (
        defaults.waiting ? (
          <Loading label="Looking for a pending deployment or an update…" />
        ) : (
          <EmptyState icon="merge" title="Nothing to review yet">
            There is no pending deployment and no update. Choose a deployment and a target above to see what
            would happen to its /etc.
          </EmptyState>
        )
      ) : merge.isPending ? (
        <Loading label="Comparing yours, the old image and the new image…" />
      ) : merge.isError && isNotDownloaded(merge.error) ? (
        <EmptyState
          icon="download"
          title="This update is not downloaded yet"
          action={
            system.rollback && system.next && system.rollback !== system.next ? (
              <Button
                icon="merge"
                onClick={() =>
                  setParams({
                    source: deploymentSelector(system.rollback as Deployment),
                    target: deploymentSelector(system.next as Deployment),
                    path: undefined,
                  })
                }
              >
                Review the last upgrade instead ({versionName(system.rollback)} → {versionName(system.next)})
              </Button>
            ) : null
          }
        >
          Only its package list is on this computer so far, so its /etc cannot be compared. Staging it from
          Updates downloads it; or pick a deployment as the target above.
        </EmptyState>
      ) : merge.isError ? (
        <ErrorNotice
          title="The merge could not be analysed"
          error={merge.error}
          onRetry={() => void merge.refetch()}
        />
      ) : report ? (
        <>
          <div className="merge-summary">
            <p>
              From <strong>{versionName(report.source)}</strong>’s /etc to{' '}
              <strong>{targetName(report)}</strong>: {plural(files.length, 'path')} you changed or the image
              changed.
            </p>
            <ul className="outcome-chips" aria-label="Outcomes">
              {OUTCOME_ORDER.filter((o) => counts[o]).map((o) => (
                <li key={o}>
                  <Badge tone={OUTCOME_INFO[o].tone}>{outcomeCount(o, counts[o] ?? 0)}</Badge>
                </li>
              ))}
            </ul>
          </div>
          {destination?.note && (
            <Notice
              tone="info"
              compact
              title={
                report.target.staged
                  ? 'Staged deployment'
                  : report.target.deployed
                    ? 'Running system'
                    : 'Not deployed yet'
              }
            >
              <p>{destination.note}</p>
            </Notice>
          )}
          {files.length === 0 ? (
            <EmptyState icon="check" title="Nothing to merge">
              Neither you nor the new image changed anything in /etc that the other would affect.
            </EmptyState>
          ) : (
            <>
              <div className="split-pane">
                <aside
                  className={`pane pane-list${listOpen ? '' : ' is-collapsed'}`}
                  aria-label="Paths and outcomes"
                >
                  <ListToggle
                    label="Paths"
                    count={files.length}
                    current={selectedPath ? `/etc/${selectedPath}` : undefined}
                    open={listOpen}
                    onToggle={() => setListOpen((open) => !open)}
                    controls={listId}
                  />
                  <div className="pane-list-body" id={listId}>
                    <FileList
                      report={report}
                      pairKey={pairKey}
                      selected={selectedPath}
                      onSelect={(path) => {
                        setParams({ path });
                        setListOpen(false);
                      }}
                      applied={applied}
                    />
                  </div>
                </aside>
                <div className="pane pane-detail">
                  {selected ? (
                    <MergeFileDetail
                      key={`${pairKey}|${selected.path}`}
                      report={report}
                      file={selected}
                      source={source}
                      target={target}
                      pairKey={pairKey}
                    />
                  ) : (
                    <EmptyState icon="file" title="Choose a path" />
                  )}
                </div>
              </div>
              <ApplyBar report={report} pairKey={pairKey} source={source} target={target} />
            </>
          )}
        </>
      ) : null}
    </div>
  );
}
