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

export interface Toast {
  id: number;
  tone: 'success' | 'danger' | 'info';
  message: string;
}

interface UiState {
  route: Route;
  toasts: Toast[];
  progress: ProgressEvent | null;
  navigate(screen: Screen, params?: Record<string, string>, options?: { replace?: boolean }): void;
  /** Changes the current screen's parameters without a new history entry. */
  setParams(params: Record<string, string | undefined>): void;
  syncFromHash(): void;
  toast(tone: Toast['tone'], message: string): void;
  dismissToast(id: number): void;
  setProgress(progress: ProgressEvent | null): void;
}

let toastId = 0;

export const useUi = create<UiState>((set, get) => ({
  route: parseHash(window.location.hash),
  toasts: [],
  progress: null,
  navigate(screen, params = {}, options = {}) {
    const route = { screen, params };
    const hash = routeHash(route);
    if (options.replace) window.history.replaceState(null, '', hash);
    else if (window.location.hash !== hash) window.history.pushState(null, '', hash);
    set({ route });
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
    set({ route: parseHash(window.location.hash) });
  },
  toast(tone, message) {
    const id = ++toastId;
    set((s) => ({ toasts: [...s.toasts.slice(-3), { id, tone, message }] }));
    window.setTimeout(() => get().dismissToast(id), tone === 'danger' ? 10_000 : 5_000);
  },
  dismissToast(id) {
    set((s) => ({ toasts: s.toasts.filter((t) => t.id !== id) }));
  },
  setProgress(progress) {
    set({ progress });
  },
}));

window.addEventListener('popstate', () => useUi.getState().syncFromHash());
