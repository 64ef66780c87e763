import { useMemo } from 'react';
import type { DeploymentNoteRecord } from '../../shared/ipc-contract.ts';
import type { Deployment } from '../../shared/types.ts';
import { deploymentKey, deploymentSelector } from '../lib/format.ts';
import { stagedUpdateIn } from '../lib/update-flow.ts';
import { useNotes, useStatus } from './queries.ts';

export interface SystemView {
  deployments: Deployment[];
  booted: Deployment | null;
  next: Deployment | null;
  rollback: Deployment | null;
  /** The update that boots next and can still be cancelled (lib/update-flow). */
  stagedUpdate: Deployment | null;
  /** The deployment whose /etc is "yours" now: the running one, or the next boot on a folder. */
  current: Deployment | null;
  notes: Map<string, DeploymentNoteRecord>;
  labels: Record<string, string | null>;
  find(selector: string | undefined): Deployment | null;
}

/** Deployments and the person's notes, with the roles the screens keep asking about. */
export function useSystem(): SystemView {
  const status = useStatus();
  const notes = useNotes();
  return useMemo(() => {
    const deployments = status.data?.deployments ?? [];
    const noteMap = new Map<string, DeploymentNoteRecord>();
    for (const n of notes.data ?? []) noteMap.set(`${n.checksum}.${n.serial}`, n);
    const labels: Record<string, string | null> = {};
    for (const d of deployments) labels[deploymentSelector(d)] = noteMap.get(deploymentKey(d))?.label ?? null;
    const booted = deployments.find((d) => d.booted) ?? null;
    const next = deployments.find((d) => d.default) ?? null;
    const rollback = deployments.find((d) => d.rollback) ?? null;
    return {
      deployments,
      booted,
      next,
      rollback,
      stagedUpdate: stagedUpdateIn(status.data),
      current: booted ?? next,
      notes: noteMap,
      labels,
      find(selector) {
        if (!selector) return null;
        return deployments.find((d) => deploymentSelector(d) === selector) ?? null;
      },
    };
  }, [status.data, notes.data]);
}
