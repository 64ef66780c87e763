import { type ReactNode, useEffect } from 'react';
import { BACKEND_WORDS, type BackendKind } from '../shared/backends.ts';
import { useConnection } from './api/connection.ts';
import { useAppInfo, useOperation, useStatus, useSystemEvents } from './api/queries.ts';
import { useSnapperStatus, useSnapperToastWatch } from './api/snapper-queries.ts';
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
import { SnapperCompareScreen } from './screens/snapshot-compare.tsx';
import { SnapperEtcScreen } from './screens/snapshot-etc.tsx';
import { SnapperHistoryScreen, SnapshotsScreen } from './screens/snapshots.tsx';
import { UpdatesScreen } from './screens/updates.tsx';
import { type Screen, useUi } from './state/ui-store.ts';

interface NavItem {
  screen: Screen;
  label: string;
  icon: IconName;
}

const NAV: NavItem[] = [
  { screen: 'deployments', label: 'Deployments', icon: 'layers' },
  { screen: 'compare', label: 'Compare', icon: 'compare' },
  { screen: 'etc', label: '/etc changes', icon: 'fileDiff' },
  { screen: 'merge', label: 'Upgrade review', icon: 'merge' },
  { screen: 'updates', label: 'Updates', icon: 'download' },
  { screen: 'rollback', label: 'Roll back', icon: 'rollback' },
  { screen: 'history', label: 'History', icon: 'history' },
];

/**
 * A snapper root's screens. They reuse the OSTree routes (the first one is still `deployments` in the
 * address) so bookmarks and the route type stay one list; the words on screen are snapper's.
 */
const SNAPPER_NAV: NavItem[] = [
  { screen: 'deployments', label: capitalise(BACKEND_WORDS.snapper.entries), icon: 'layers' },
  { screen: 'compare', label: 'Compare', icon: 'compare' },
  { screen: 'etc', label: '/etc changes', icon: 'fileDiff' },
  { screen: 'history', label: 'History', icon: 'history' },
];

function capitalise(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

/** OSTree only: the dot on Updates comes from the update check, which snapper roots never run. */
function UpdateDot() {
  const updateWaiting = useUpdateFlow().flow.kind === 'available';
  return updateWaiting ? <span className="nav-dot" role="img" aria-label="update available" /> : null;
}

function Sidebar({ nav, backend }: { nav: NavItem[]; backend: BackendKind }) {
  const screen = useUi((s) => s.route.screen);
  const navigate = useUi((s) => s.navigate);
  const info = useAppInfo();
  const unlock = useOperation('helper:unlock');

  return (
    <nav className="sidebar" aria-label="Hindsight">
      <div className="brand">
        <span className="brand-mark" aria-hidden="true">
          <Icon name="rollback" size={18} />
        </span>
        <span className="brand-name">Hindsight</span>
      </div>
      <ul className="nav-list">
        {nav.map((item, i) => (
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
              {item.screen === 'updates' && backend === 'ostree' && <UpdateDot />}
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

function SnapperScreen() {
  const screen = useUi((s) => s.route.screen);
  switch (screen) {
    case 'compare':
      return <SnapperCompareScreen />;
    case 'etc':
      return <SnapperEtcScreen />;
    case 'history':
      return <SnapperHistoryScreen />;
    default:
      return <SnapshotsScreen />;
  }
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

/** What the sysroot is decides the screens; nothing else is asked until it is known. */
export function App() {
  useSystemEvents();
  const info = useAppInfo();
  if (info.isPending) {
    return (
      <div className="app">
        <main id="main" className="main" tabIndex={-1}>
          <Loading label="Opening Hindsight…" />
        </main>
      </div>
    );
  }
  if (info.isError) {
    return (
      <div className="app">
        <main id="main" className="main" tabIndex={-1}>
          <div className="screen">
            <ErrorNotice
              title="Hindsight cannot read this system"
              error={info.error}
              onRetry={() => void info.refetch()}
            />
          </div>
        </main>
      </div>
    );
  }
  return info.data.backend === 'snapper' ? <SnapperShell /> : <OstreeShell />;
}

function OstreeShell() {
  const status = useStatus();
  const screen = useUi((s) => s.route.screen);
  return (
    <Shell nav={NAV} backend="ostree" status={status} loadingLabel="Reading deployments…">
      <CurrentScreen key={screen} />
    </Shell>
  );
}

function SnapperShell() {
  useSnapperToastWatch();
  const status = useSnapperStatus();
  const screen = useUi((s) => s.route.screen);
  return (
    <Shell
      nav={SNAPPER_NAV}
      backend="snapper"
      status={status}
      loadingLabel={`Reading ${BACKEND_WORDS.snapper.entries}…`}
    >
      <SnapperScreen key={screen} />
    </Shell>
  );
}

function Shell({
  nav,
  backend,
  status,
  loadingLabel,
  children,
}: {
  nav: NavItem[];
  backend: BackendKind;
  status: { isPending: boolean; isError: boolean; error: unknown; refetch: () => Promise<unknown> };
  loadingLabel: string;
  children: ReactNode;
}) {
  const screen = useUi((s) => s.route.screen);
  const navigate = useUi((s) => s.navigate);
  // What the screens show while Hindsight is out of reach is what it last said: marked as such here,
  // explained by the connection banner.
  const outOfReach = useConnection((s) => s.connection !== 'connected');

  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      if (!e.altKey || e.ctrlKey || e.metaKey) return;
      const n = Number(e.key);
      const item = nav[n - 1];
      if (item) {
        e.preventDefault();
        navigate(item.screen);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [navigate, nav]);

  return (
    <div className={`app${outOfReach ? ' is-stale' : ''}`}>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <Sidebar nav={nav} backend={backend} />
      <div className="main-column">
        <ConnectionStatus />
        <DemoBanner />
        <main id="main" className={`main screen-${screen}`} tabIndex={-1}>
          {status.isPending ? (
            <Loading label={loadingLabel} />
          ) : status.isError ? (
            <div className="screen">
              <ErrorNotice
                title="Hindsight cannot read this system"
                error={status.error}
                onRetry={() => void status.refetch()}
              />
            </div>
          ) : (
            children
          )}
        </main>
      </div>
      <Toasts />
    </div>
  );
}
