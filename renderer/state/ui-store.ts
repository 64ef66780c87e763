import { create } from 'zustand';
import type { ProgressEvent } from '../../shared/types.ts';

/** Screens and their parameters; the route lives in the address's hash so Back and deep links work. */
export type Screen = 'deployments' | 'compare' | 'etc' | 'merge' | 'updates' | 'rollback' | 'history';

export interface Route {
  screen: Screen;
  params: Record<string, string>;
}

export const SCREENS: Screen[] = ['deployments', 'compare', 'etc', 'merge', 'updates', 'rollback', 'history'];

export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#\/?/, '');
  const [path = '', query = ''] = raw.split('?');
  const screen = (SCREENS as string[]).includes(path) ? (path as Screen) : 'deployments';
  const params: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(query)) params[key] = value;
  return { screen, params };
}

export function routeHash(route: Route): string {
  const query = new URLSearchParams(
    Object.entries(route.params).filter(([, v]) => v !== undefined && v !== ''),
  ).toString();
  return `#/${route.screen}${query ? `?${query}` : ''}`;
}

export type ToastTone = 'success' | 'danger' | 'info';

export interface ToastOptions {
  /** A button in the toast, such as "Undo": clicking it runs this and dismisses the toast. */
  action?: { label: string; run: () => void };
  /**
   * What the toast is about, such as `pin:<deployment>`. A newer toast on the same topic replaces
   * it, and it goes away once the system or the screen changes after it was shown: by then it may
   * describe a state that is no longer there, and its action would act on the wrong one.
   */
  topic?: string;
}

export interface Toast extends ToastOptions {
  id: number;
  tone: ToastTone;
  message: string;
  /** Topic toasts only: the system's signature when shown; null until the read under way lands. */
  seen?: string | null;
  /** Topic toasts only: the screen it was shown on. */
  screen?: Screen;
}

/** What the system looks like now, for topic toasts; queries.ts provides it. */
export interface SystemSnapshot {
  signature: string | null;
  /** A read of the system is under way: it may carry the very change the toast is about. */
  settling: boolean;
}

let systemNow: () => SystemSnapshot = () => ({ signature: null, settling: false });

export function watchSystemForToasts(source: () => SystemSnapshot): void {
  systemNow = source;
}

interface UiState {
  route: Route;
  toasts: Toast[];
  progress: ProgressEvent | null;
  navigate(screen: Screen, params?: Record<string, string>, options?: { replace?: boolean }): void;
  /** Changes the current screen's parameters without a new history entry. */
  setParams(params: Record<string, string | undefined>): void;
  syncFromHash(): void;
  toast(tone: ToastTone, message: string, options?: ToastOptions): void;
  dismissToast(id: number): void;
  /** Keeps a toast up while the person is reading or about to click it. */
  holdToast(id: number, held: boolean): void;
  /** The system's signature changed: topic toasts shown before it go away. */
  systemChanged(signature: string): void;
  setProgress(progress: ProgressEvent | null): void;
}

let toastId = 0;
/** How long a toast stays; one with an action stays long enough to reach and press it. */
const TOAST_MS = { plain: 5_000, danger: 10_000, action: 10_000 };
const timers = new Map<number, number>();
const held = new Set<number>();

function toastLifetime(t: Toast): number {
  return t.action ? TOAST_MS.action : t.tone === 'danger' ? TOAST_MS.danger : TOAST_MS.plain;
}

/** A topic toast describes the screen it was shown on: another screen leaves it behind. */
function leftBehind(toasts: Toast[], screen: Screen): Toast[] {
  const kept = toasts.filter((t) => t.topic === undefined || t.screen === screen);
  return kept.length === toasts.length ? toasts : kept;
}

export const useUi = create<UiState>((set, get) => {
  const schedule = (t: Toast): void => {
    window.clearTimeout(timers.get(t.id));
    timers.set(
      t.id,
      window.setTimeout(() => {
        timers.delete(t.id);
        if (!held.has(t.id)) get().dismissToast(t.id);
      }, toastLifetime(t)),
    );
  };
  const goTo = (route: Route): void => {
    set((s) => ({
      route,
      toasts: route.screen === s.route.screen ? s.toasts : leftBehind(s.toasts, route.screen),
    }));
  };
  return {
    route: parseHash(window.location.hash),
    toasts: [],
    progress: null,
    navigate(screen, params = {}, options = {}) {
      const route = { screen, params };
      const hash = routeHash(route);
      if (options.replace) window.history.replaceState(null, '', hash);
      else if (window.location.hash !== hash) window.history.pushState(null, '', hash);
      goTo(route);
    },
    setParams(params) {
      const current = get().route;
      const merged: Record<string, string> = { ...current.params };
      for (const [k, v] of Object.entries(params)) {
        if (v === undefined || v === '') delete merged[k];
        else merged[k] = v;
      }
      const route = { screen: current.screen, params: merged };
      window.history.replaceState(null, '', routeHash(route));
      set({ route });
    },
    syncFromHash() {
      goTo(parseHash(window.location.hash));
    },
    toast(tone, message, options = {}) {
      const id = ++toastId;
      const t: Toast = { id, tone, message, ...options };
      if (options.topic !== undefined) {
        const now = systemNow();
        t.seen = now.settling ? null : now.signature;
        t.screen = get().route.screen;
      }
      set((s) => {
        const others = s.toasts.filter((o) => o.topic === undefined || o.topic !== options.topic);
        for (const o of s.toasts) if (!others.includes(o)) forget(o.id);
        const kept = others.slice(-3);
        for (const o of others) if (!kept.includes(o)) forget(o.id);
        return { toasts: [...kept, t] };
      });
      schedule(t);
    },
    dismissToast(id) {
      forget(id);
      set((s) => ({ toasts: s.toasts.filter((t) => t.id !== id) }));
    },
    holdToast(id, hold) {
      if (hold) {
        held.add(id);
        return;
      }
      held.delete(id);
      // Let go: it gets a fresh lifetime rather than vanishing under the pointer as it leaves.
      const t = get().toasts.find((o) => o.id === id);
      if (t) schedule(t);
    },
    systemChanged(signature) {
      const { toasts } = get();
      if (!toasts.some((t) => t.topic !== undefined)) return;
      const next: Toast[] = [];
      for (const t of toasts) {
        if (t.topic === undefined || t.seen === signature) next.push(t);
        else if (t.seen === null) next.push({ ...t, seen: signature });
        else forget(t.id);
      }
      set({ toasts: next });
    },
    setProgress(progress) {
      set({ progress });
    },
  };
});

function forget(id: number): void {
  window.clearTimeout(timers.get(id));
  timers.delete(id);
  held.delete(id);
}

/** Shows a toast; see {@link ToastOptions} for actions and topics. */
export function toast(tone: ToastTone, message: string, options?: ToastOptions): void {
  useUi.getState().toast(tone, message, options);
}

window.addEventListener('popstate', () => useUi.getState().syncFromHash());
