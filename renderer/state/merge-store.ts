import { create } from 'zustand';
import type { Choice, Choices } from '../lib/merge-model.ts';

/**
 * How the person resolves one /etc path: the engine's merge as is, hunk by hunk, one whole side, or
 * their own text. Kept per (source, target, path) so moving between files loses nothing.
 */
export type ResolutionMode = 'auto' | 'hunks' | 'yours' | 'upstream' | 'edit';

export interface Composed {
  text: string;
  unresolved: number;
  /** Which side the result equals, so Apply sends the lightest resolution. */
  equals: 'local' | 'upstream' | 'merged' | null;
}

export interface FileDecision {
  mode: ResolutionMode;
  choices: Choices;
  editText?: string;
  /** Whether Apply writes this path. */
  include: boolean;
  /** The hunk-by-hunk result, kept current by the open editor. */
  composed?: Composed;
}

export interface AppliedBackup {
  backupId: string;
  source: string;
  target: string;
  paths: string[];
  time: string;
}

interface MergeState {
  decisions: Record<string, FileDecision>;
  lastApply: AppliedBackup | null;
  setDecision(key: string, decision: FileDecision): void;
  patchDecision(key: string, fallback: FileDecision, patch: Partial<FileDecision>): void;
  setChoice(key: string, fallback: FileDecision, region: number, choice: Choice | undefined): void;
  clearPair(prefix: string): void;
  setLastApply(backup: AppliedBackup | null): void;
}

export function decisionKey(source: string, target: string, path: string): string {
  return `${source}|${target}|${path}`;
}

export const useMergeStore = create<MergeState>((set) => ({
  decisions: {},
  lastApply: null,
  setDecision(key, decision) {
    set((s) => ({ decisions: { ...s.decisions, [key]: decision } }));
  },
  patchDecision(key, fallback, patch) {
    set((s) => ({ decisions: { ...s.decisions, [key]: { ...(s.decisions[key] ?? fallback), ...patch } } }));
  },
  setChoice(key, fallback, region, choice) {
    set((s) => {
      const current = s.decisions[key] ?? fallback;
      return {
        decisions: {
          ...s.decisions,
          [key]: { ...current, mode: 'hunks', choices: { ...current.choices, [region]: choice } },
        },
      };
    });
  },
  clearPair(prefix) {
    set((s) => ({
      decisions: Object.fromEntries(Object.entries(s.decisions).filter(([k]) => !k.startsWith(prefix))),
    }));
  },
  setLastApply(backup) {
    set({ lastApply: backup });
  },
}));
