import { useEffect } from 'react';
import { useConnection } from './api/connection.ts';
import { useAppInfo, useOperation, useStatus, useSystemEvents } from './api/queries.ts';
import { useUpdateFlow } from './api/use-update-flow.ts';
import { ConnectionStatus } from './components/connection-status.tsx';
import { Icon, type IconName } from './components/icons.tsx';
import { Toasts } from './components/toasts.tsx';
import { Button, ErrorNotice, Loading } from './components/ui.tsx';
import { CompareScreen } from './screens/compare.tsx';
import { DeploymentsScreen } from './screens/deployments.tsx';
import { EtcDriftScreen } from './screens/etc-drift.tsx';
import { HistoryScreen } from './screens/history.tsx';
import { MergeScreen } from './screens/merge-review.tsx';
import { RollbackScreen } from './screens/rollback.tsx';
import { UpdatesScreen } from './screens/updates.tsx';
import { type Screen, useUi } from './state/ui-store.ts';

const NAV: { screen: Screen; label: string; icon: IconName }[] = [
  { screen: 'deployments', label: 'Deployments', icon: 'layers' },
  { screen: 'compare', label: 'Compare', icon: 'compare' },
  { screen: 'etc', label: '/etc changes', icon: 'fileDiff' },
  { screen: 'merge', label: 'Upgrade review', icon: 'merge' },
  { screen: 'updates', label: 'Updates', icon: 'download' },
  { screen: 'rollback', label: 'Roll back', icon: 'rollback' },
  { screen: 'history', label: 'History', icon: 'history' },
];

function Sidebar() {
  const screen = useUi((s) => s.route.screen);
  const navigate = useUi((s) => s.navigate);
  const info = useAppInfo();
  const unlock = useOperation('helper:unlock');
  const updateWaiting = useUpdateFlow().flow.kind === 'available';

  return (
    <nav className="sidebar" aria-label="Hindsight">
      <div className="brand">
        <span className="brand-mark" aria-hidden="true">
          <Icon name="rollback" size={18} />
        </span>
        <span className="brand-name">Hindsight</span>
      </div>
      <ul className="nav-list">
        {NAV.map((item, i) => (
          <li key={item.screen}>
            <button
              type="button"
              className="nav-item"
              aria-current={screen === item.screen ? 'page' : undefined}
              onClick={() => navigate(item.screen)}
              title={`${item.label} (Alt+${i + 1})`}
              aria-label={item.label}
            >
              <Icon name={item.icon} size={16} />
              <span>{item.label}</span>
              {item.screen === 'updates' && updateWaiting && (
                <span className="nav-dot" role="img" aria-label="update available" />
              )}
            </button>
          </li>
        ))}
      </ul>
      <div className="sidebar-footer">
        {info.data && (
          <>
            <p className="sidebar-meta" title={info.data.sysroot}>
              <Icon name={info.data.bootedSystem ? 'power' : 'folder'} size={12} />
              <span className="truncate">{info.data.bootedSystem ? 'This computer' : info.data.sysroot}</span>
            </p>
            {info.data.privileged ? (
              <p className="sidebar-meta">
                <Icon name="shield" size={12} /> Reading as administrator
              </p>
            ) : (
              <div className="sidebar-unlock">
                <p className="sidebar-meta">
                  <Icon name="lock" size={12} /> Root-only files locked
                </p>
                <Button size="sm" icon="lock" busy={unlock.isPending} onClick={() => unlock.mutate({})}>
                  Unlock
                </Button>
                {unlock.error && <ErrorNotice error={unlock.error} compact />}
              </div>
            )}
          </>
        )}
      </div>
    </nav>
  );
}

function DemoBanner() {
  const info = useAppInfo();
  if (!info.data?.demo) return null;
  return (
    <div className="demo-banner" role="note">
      <Icon name="flask" size={16} />
      <p>
        <strong>Demo mode.</strong> You are looking at a demo system built in <code>{info.data.sysroot}</code>
        . Every action is real, but only on that folder — nothing on this computer changes.
      </p>
    </div>
  );
}

function CurrentScreen() {
  const screen = useUi((s) => s.route.screen);
  switch (screen) {
    case 'compare':
      return <CompareScreen />;
    case 'etc':
      return <EtcDriftScreen />;
    case 'merge':
      return <MergeScreen />;
    case 'updates':
      return <UpdatesScreen />;
    case 'rollback':
      return <RollbackScreen />;
    case 'history':
      return <HistoryScreen />;
    default:
      return <DeploymentsScreen />;
  }
}

export function App() {
  useSystemEvents();
  const screen = useUi((s) => s.route.screen);
  const navigate = useUi((s) => s.navigate);
  const status = useStatus();
  // What the screens show while Hindsight is out of reach is what it last said: marked as such here,
  // explained by the connection banner.
  const outOfReach = useConnection((s) => s.connection !== 'connected');

  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      if (!e.altKey || e.ctrlKey || e.metaKey) return;
      const n = Number(e.key);
      const item = NAV[n - 1];
      if (item) {
        e.preventDefault();
        navigate(item.screen);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [navigate]);

  return (
    <div className={`app${outOfReach ? ' is-stale' : ''}`}>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <Sidebar />
      <div className="main-column">
        <ConnectionStatus />
        <DemoBanner />
        <main id="main" className={`main screen-${screen}`} tabIndex={-1}>
          {status.isPending ? (
            <Loading label="Reading deployments…" />
          ) : status.isError ? (
            <div className="screen">
              <ErrorNotice
                title="Hindsight cannot read this system"
                error={status.error}
                onRetry={() => void status.refetch()}
              />
            </div>
          ) : (
            <CurrentScreen key={screen} />
          )}
        </main>
      </div>
      <Toasts />
    </div>
  );
}
