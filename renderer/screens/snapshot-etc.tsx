import { useEffect, useMemo, useState } from 'react';
import { BACKEND_WORDS } from '../../shared/backends.ts';
import type { ConfigDriftItem, PendingMergeView } from '../../shared/snapper.ts';
import { useOperation } from '../api/queries.ts';
import { useSnapperEtc } from '../api/snapper-queries.ts';
import { ConfirmDialog } from '../components/dialog.tsx';
import { composeResult, HunkMerge, HunkTools, useMergeModel } from '../components/merge-editor.tsx';
import {
  Badge,
  Button,
  EmptyState,
  ErrorNotice,
  Loading,
  Notice,
  ScreenHeader,
  Segmented,
} from '../components/ui.tsx';
import { plural } from '../lib/format.ts';
import { type MergeTake, mergedTake, pendingAsMergeFile, pendingTexts } from '../lib/snapper-merge.ts';
import { type FileDecision, useMergeStore } from '../state/merge-store.ts';
import { useUi } from '../state/ui-store.ts';
import { SnapperPicker } from './snapshot-compare.tsx';
import { useSnapper } from './snapshots.tsx';

const WORDS = BACKEND_WORDS.snapper;

const DRIFT_WORDS: Record<ConfigDriftItem['status'], string> = {
  modified: 'Changed',
  missing: 'Missing',
  replaced: 'Replaced',
  unreadable: 'Unreadable',
  unchecked: 'Not checked',
};
const DRIFT_TONE = {
  modified: 'accent',
  missing: 'danger',
  replaced: 'warning',
  unreadable: 'warning',
  unchecked: 'neutral',
} as const;
const CHANGE_WORDS: Record<ConfigDriftItem['changes'][number], string> = {
  content: 'content',
  link: 'link target',
  mode: 'permissions',
  owner: 'owner',
};

const FALLBACK: FileDecision = { mode: 'hunks', choices: {}, include: true };

type Pending = { label: string; take: MergeTake; explain: string };

function MergeDetail({ merge, snapshot }: { merge: PendingMergeView; snapshot: string }) {
  const file = useMemo(() => pendingAsMergeFile(merge), [merge]);
  const texts = useMemo(() => pendingTexts(merge), [merge]);
  const model = useMergeModel(texts);
  const key = `snapper|${snapshot}|${merge.path}`;
  const decision = useMergeStore((s) => s.decisions[key]) ?? FALLBACK;
  const patch = useMergeStore((s) => s.patchDecision);
  const [showBase, setShowBase] = useState(false);
  const [asking, setAsking] = useState<Pending | null>(null);
  const apply = useOperation('snapshots:apply-merge');
  const undo = useOperation('snapshots:undo-file');
  const toast = useUi((s) => s.toast);
  const live = snapshot === '0';
  const composed = useMemo(
    () => (texts && model ? composeResult(file, texts, model, decision.choices) : null),
    [file, texts, model, decision.choices],
  );
  const result =
    decision.mode === 'edit'
      ? { text: decision.editText ?? '', unresolved: 0 }
      : (composed ?? { text: merge.merged ?? '', unresolved: merge.merge === 'clean' ? 0 : 1 });
  const merged = texts ? mergedTake(merge, result, texts) : null;
  const pathArg = { path: merge.path };

  const ask = (p: Pending): void => {
    apply.reset();
    setAsking(p);
  };

  return (
    <section className="file-detail merge-detail" aria-label={`Merge of ${merge.path}`}>
      <header className="file-head">
        <h3 className="file-path mono">{merge.path}</h3>
        <div className="badges">
          <Badge tone="warning">{merge.mergePath.split('/').pop()} waiting</Badge>
          {merge.owners.map((o) => (
            <Badge key={o} tone="neutral">
              {o}
            </Badge>
          ))}
          <Badge
            tone={merge.merge === 'clean' ? 'success' : merge.merge === 'conflict' ? 'danger' : 'neutral'}
          >
            {merge.merge === 'clean'
              ? 'merges cleanly'
              : merge.merge === 'conflict'
                ? plural(merge.conflicts?.length ?? 1, 'conflict')
                : 'no line merge'}
          </Badge>
        </div>
      </header>
      <p className="outcome-explain">
        The package installed a new version of this file as <code>{merge.mergePath}</code> and left yours in
        place.{' '}
        {merge.baseFrom !== null
          ? `The base — the package’s previous version — comes from ${WORDS.entry} ${merge.baseFrom}.`
          : `No older ${WORDS.entry} holds the package’s previous version${merge.baseReason ? ` (${merge.baseReason})` : ''}, so every difference is a choice.`}
      </p>
      {texts && model && (
        <div className="merge-toolbar">
          <Segmented
            label="Result"
            size="sm"
            value={decision.mode === 'edit' ? 'edit' : 'hunks'}
            onChange={(mode) =>
              patch(key, FALLBACK, {
                mode,
                ...(mode === 'edit' && decision.editText === undefined ? { editText: result.text } : {}),
              })
            }
            options={[
              { value: 'hunks', label: 'Hunk by hunk' },
              { value: 'edit', label: 'Edit text', icon: 'pencil' },
            ]}
          />
          {decision.mode !== 'edit' && (
            <HunkTools
              regions={model.regions}
              decisionKey={key}
              decision={decision}
              showBase={showBase}
              onShowBase={setShowBase}
            />
          )}
        </div>
      )}
      {!texts || !model ? (
        <Notice tone="neutral" title="No line merge for this file">
          <p>One of the versions is not text (binary or too large): keep yours or take the package’s.</p>
        </Notice>
      ) : (
        <HunkMerge
          file={file}
          regions={model.regions}
          decisionKey={key}
          decision={decision}
          fallback={FALLBACK}
          showBase={showBase}
          label={`Three-way merge of ${merge.path}`}
          titles={{
            base: merge.baseFrom !== null ? `Base (${WORDS.entry} ${merge.baseFrom})` : 'Base (none)',
            yours: 'Yours (local)',
            result: 'Merged',
            upstream: 'Package’s new version',
          }}
          same={{
            title: 'Yours and the package’s are the same',
            text: `Nothing to merge; applying removes ${merge.mergePath}.`,
          }}
        />
      )}
      {live ? (
        <div className="card-actions">
          <Button
            variant="primary"
            size="sm"
            icon="merge"
            disabledReason={
              !merged
                ? 'There is no merged text for this file.'
                : 'unresolved' in merged
                  ? `${plural(merged.unresolved, 'conflict')} left: choose a side or edit each.`
                  : null
            }
            onClick={() =>
              merged &&
              !('unresolved' in merged) &&
              ask({
                label: 'Apply merged',
                take: merged,
                explain: `the merged text (${result.text.split('\n').length - (result.text.endsWith('\n') ? 1 : 0)} lines)`,
              })
            }
          >
            Apply merged
          </Button>
          <Button
            size="sm"
            onClick={() => ask({ label: 'Keep mine', take: { take: 'local' }, explain: 'your copy' })}
          >
            Keep mine
          </Button>
          <Button
            size="sm"
            onClick={() =>
              ask({
                label: 'Take package’s',
                take: { take: 'upstream' },
                explain: 'the package’s new version',
              })
            }
          >
            Take package’s
          </Button>
        </div>
      ) : (
        <Notice tone="neutral" compact>
          <p>
            {capitalise(WORDS.entry)} {snapshot} is read-only: merges are applied to the live root (
            {WORDS.entry} 0).
          </p>
        </Notice>
      )}
      {undo.error && <ErrorNotice error={undo.error} compact title="The merge was not undone" />}
      <ConfirmDialog
        open={asking !== null}
        title={`${asking?.label ?? 'Apply'}: write ${merge.path}?`}
        confirmLabel="Write into the running system"
        operation={apply}
        onCancel={() => setAsking(null)}
        onConfirm={() => {
          if (!asking) return;
          // The list refetches before the call returns and this file may leave it (the merge is done):
          // the promise still settles where mutate's callbacks would be dropped with the component.
          apply
            .mutateAsync({ path: pathArg, ...asking.take })
            .then((res) => {
              setAsking(null);
              const backupId = res.backupId;
              toast('success', res.message, {
                action: backupId ? { label: 'Undo', run: () => undo.mutate({ backupId }) } : undefined,
              });
            })
            .catch(() => {});
        }}
      >
        <p>
          {merge.path} in the running system becomes {asking?.explain ?? 'the chosen text'}, and{' '}
          {merge.mergePath} is removed. Both are kept as a backup first, so Undo puts them back.
        </p>
      </ConfirmDialog>
    </section>
  );
}

function capitalise(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

function DriftTable({ entries }: { entries: ConfigDriftItem[] }) {
  return (
    <div className="table-scroll">
      <table className="meta-table config-table">
        <caption className="sr-only">Config files that differ from their package</caption>
        <thead>
          <tr>
            <th scope="col">Path</th>
            <th scope="col">Package</th>
            <th scope="col">Status</th>
            <th scope="col">What changed</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((e) => (
            <tr key={e.path}>
              <th scope="row" className="mono">
                {e.path}
              </th>
              <td className="mono">{e.package}</td>
              <td>
                <Badge tone={DRIFT_TONE[e.status]}>{DRIFT_WORDS[e.status]}</Badge>
              </td>
              <td>
                {e.changes.length ? e.changes.map((c) => CHANGE_WORDS[c]).join(', ') : (e.reason ?? '—')}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function SnapperEtcScreen() {
  const status = useSnapper();
  const params = useUi((s) => s.route.params);
  const setParams = useUi((s) => s.setParams);
  const snapshot = params.snapshot ?? '0';
  const etc = useSnapperEtc(snapshot);
  const pending = etc.data?.pending ?? [];
  const selected = pending.find((p) => p.path === params.merge) ?? pending[0] ?? null;

  useEffect(() => {
    if (!params.snapshot) setParams({ snapshot });
  }, [params.snapshot, snapshot, setParams]);

  return (
    <div className="screen screen-review">
      <ScreenHeader
        title="/etc changes"
        subtitle={`Config files of ${snapshot === '0' ? 'the live root' : `${WORDS.entry} ${snapshot}`} that differ from what their packages installed`}
        actions={
          <SnapperPicker
            label={capitalise(WORDS.entry)}
            value={snapshot}
            onChange={(v) => setParams({ snapshot: v, merge: undefined })}
            snapshots={status.snapshots}
          />
        }
      />
      {etc.isPending ? (
        <Loading label="Checking config files against their packages…" />
      ) : etc.isError ? (
        <ErrorNotice title="/etc could not be read" error={etc.error} onRetry={() => void etc.refetch()} />
      ) : (
        <>
          {etc.data.problems.length > 0 && (
            <Notice tone="warning" title="Some files could not be checked">
              <ul>
                {etc.data.problems.map((p) => (
                  <li key={p}>{p}</li>
                ))}
              </ul>
            </Notice>
          )}
          <section className="snapper-section" aria-labelledby="pending-merges">
            <h2 id="pending-merges" className="section-title">
              Pending merges ({pending.length})
            </h2>
            {pending.length === 0 ? (
              <p className="muted">No package left a new config file beside yours.</p>
            ) : (
              <>
                {pending.length > 1 && (
                  <fieldset className="chips merge-chips">
                    <legend className="sr-only">Pending merges</legend>
                    {pending.map((p) => (
                      <button
                        key={p.path}
                        type="button"
                        className="chip"
                        aria-pressed={p === selected}
                        onClick={() => setParams({ merge: p.path })}
                      >
                        {p.path}
                      </button>
                    ))}
                  </fieldset>
                )}
                {selected && (
                  <MergeDetail key={`${snapshot}:${selected.path}`} merge={selected} snapshot={snapshot} />
                )}
              </>
            )}
          </section>
          <section className="snapper-section" aria-labelledby="config-drift">
            <h2 id="config-drift" className="section-title">
              Changed config files ({etc.data.entries.length})
            </h2>
            <p className="muted">
              {plural(etc.data.unchangedCount, 'config file')} {etc.data.unchangedCount === 1 ? 'is' : 'are'}{' '}
              as {etc.data.format} installed {etc.data.unchangedCount === 1 ? 'it' : 'them'} (from{' '}
              <code>{etc.data.source}</code>).
            </p>
            {etc.data.entries.length === 0 ? (
              <EmptyState icon="check" title="No config file differs from its package" />
            ) : (
              <DriftTable entries={etc.data.entries} />
            )}
          </section>
        </>
      )}
    </div>
  );
}
