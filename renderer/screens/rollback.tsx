import { useState } from 'react';
import type { EtcLostEdit } from '../../shared/types.ts';
import { useOperation, useRollbackPreview } from '../api/queries.ts';
import { useSystem } from '../api/use-system.ts';
import { SnapshotPicker } from '../components/deployment-picker.tsx';
import { Icon } from '../components/icons.tsx';
import { DeltaSummary, PackageDeltaView } from '../components/package-delta-view.tsx';
import { RebootButton } from '../components/reboot-button.tsx';
import { Button, EmptyState, ErrorNotice, Loading, Notice, ScreenHeader } from '../components/ui.tsx';
import { deploymentSelector, formatDate, plural, shortChecksum, versionName } from '../lib/format.ts';
import { LOST_LABELS } from '../lib/labels.ts';
import { useUi } from '../state/ui-store.ts';

function LostEdits({ edits, from, to }: { edits: EtcLostEdit[]; from: string; to: string }) {
  if (!edits.length) {
    return (
      <Notice tone="success" compact title="No /etc edits are left behind">
        <p>
          {to}’s /etc already has every edit that {from}’s /etc has.
        </p>
      </Notice>
    );
  }
  return (
    <section className="lost-edits" aria-labelledby="lost-title">
      <h3 id="lost-title" className="section-title">
        /etc edits that {to} does not have <span className="count">{edits.length}</span>
      </h3>
      <p className="muted">
        Each deployment keeps its own /etc and a rollback does not merge them. After rolling back these
        differences are absent; they stay in {from}’s /etc and come back if you boot it again.
      </p>
      <ul className="lost-list">
        {edits.map((e) => (
          <li key={e.path}>
            <code>/etc/{e.path}</code>
            <span className={`lost-kind lost-${e.change}`}>{LOST_LABELS[e.change]}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}

export function RollbackScreen() {
  const system = useSystem();
  const params = useUi((s) => s.route.params);
  const setParams = useUi((s) => s.setParams);
  const navigate = useUi((s) => s.navigate);
  const toast = useUi((s) => s.toast);
  const rollback = useOperation('deployments:rollback');
  const [done, setDone] = useState<{ to: string; previous: string | null } | null>(null);
  const candidates = system.deployments.filter((d) => !d.default || deploymentSelector(d) === params.target);
  const target = params.target ?? (system.rollback ? deploymentSelector(system.rollback) : undefined);
  const targetDeployment = system.find(target);
  const preview = useRollbackPreview(targetDeployment && !targetDeployment.default ? target : undefined);
  const enabled = !!targetDeployment && !targetDeployment.default;

  return (
    <div className="screen">
      <ScreenHeader
        title="Roll back"
        subtitle="Choose which deployment starts next. Nothing is deleted and nothing is redeployed."
        // One "Reboot now" on screen: the notice's, once a rollback is done.
        actions={done ? undefined : <RebootButton />}
      />
      {done && (
        <Notice
          tone="success"
          title={`${done.to} starts on the next boot`}
          actions={
            <>
              <RebootButton variant="primary" />
              {done.previous && (
                <Button
                  icon="undo"
                  busy={rollback.isPending}
                  onClick={() =>
                    rollback.mutate(
                      { to: done.previous as string },
                      {
                        onSuccess: () => {
                          toast('success', 'The rollback was undone.');
                          setDone(null);
                        },
                      },
                    )
                  }
                >
                  Undo
                </Button>
              )}
            </>
          }
        >
          <p>
            The order of deployments changed; every deployment and its /etc are still there. Restart when you
            are ready.
          </p>
        </Notice>
      )}
      {system.deployments.length < 2 ? (
        <EmptyState icon="rollback" title="Nothing to roll back to">
          There is only one deployment. An older one appears here after the next update.
        </EmptyState>
      ) : (
        <>
          <div className="card rollback-pick">
            <SnapshotPicker
              label="Go back to"
              value={target}
              onChange={(v) => {
                setDone(null);
                setParams({ target: v });
              }}
              deployments={candidates}
              labels={system.labels}
            />
          </div>
          {!targetDeployment ? (
            <EmptyState icon="rollback" title="Choose a deployment to go back to" />
          ) : targetDeployment.default ? (
            done ? null : (
              <Notice tone="info" title={`${versionName(targetDeployment)} already starts on the next boot`}>
                <p>Choose another deployment to see what going back to it changes.</p>
              </Notice>
            )
          ) : preview.isPending ? (
            <Loading label="Working out what a rollback changes…" />
          ) : preview.isError ? (
            <ErrorNotice
              title="The rollback preview could not be made"
              error={preview.error}
              onRetry={() => void preview.refetch()}
            />
          ) : (
            <article className="card rollback-card" aria-labelledby="rollback-title">
              <header className="rollback-head">
                <div className="rollback-path">
                  <div className="rollback-end">
                    <span className="muted">
                      {preview.data.current.booted ? 'Running now' : 'Next boot now'}
                    </span>
                    <strong>{versionName(preview.data.current)}</strong>
                    <span className="muted mono">{shortChecksum(preview.data.current.checksum)}</span>
                  </div>
                  <Icon name="arrowRight" size={20} />
                  <div className="rollback-end">
                    <span className="muted">Next boot after</span>
                    <strong>{versionName(preview.data.target)}</strong>
                    <span className="muted mono">{shortChecksum(preview.data.target.checksum)}</span>
                  </div>
                </div>
                <h2 id="rollback-title" className="sr-only">
                  Roll back from {versionName(preview.data.current)} to {versionName(preview.data.target)}
                </h2>
                <div className="rollback-actions">
                  <Button
                    variant="primary"
                    size="lg"
                    icon="rollback"
                    busy={rollback.isPending}
                    disabled={!enabled}
                    onClick={() => {
                      const previous = system.next ? deploymentSelector(system.next) : null;
                      const to = versionName(preview.data.target);
                      rollback.mutate(
                        { to: target as string },
                        {
                          onSuccess: () => {
                            setDone({ to, previous });
                            toast('success', `${to} will start on the next boot.`);
                          },
                        },
                      );
                    }}
                  >
                    Roll back on next boot
                  </Button>
                </div>
              </header>
              <p className="muted">
                {versionName(preview.data.target)} was built {formatDate(preview.data.target.timestamp)}.{' '}
                {preview.data.target.pinned ? 'It is pinned. ' : ''}
                The current deployment stays installed, so you can switch back the same way.
              </p>
              {rollback.error && <ErrorNotice title="The next boot was not changed" error={rollback.error} />}
              <LostEdits
                edits={preview.data.etcLost}
                from={versionName(preview.data.current)}
                to={versionName(preview.data.target)}
              />
              <h3 className="section-title">Package changes</h3>
              <DeltaSummary delta={preview.data.packages} />
              <PackageDeltaView delta={preview.data.packages} height={380} />
              <p className="muted">
                {plural(preview.data.packages.downgraded.length, 'package')} go back to an older version.{' '}
                <button
                  type="button"
                  className="link"
                  onClick={() =>
                    navigate('compare', {
                      from: deploymentSelector(preview.data.current),
                      to: deploymentSelector(preview.data.target),
                    })
                  }
                >
                  Open in Compare
                </button>
              </p>
            </article>
          )}
        </>
      )}
    </div>
  );
}
