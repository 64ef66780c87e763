import type { ErrorCode } from '../../shared/errors.ts';
import type {
  Deployment,
  EtcChangeKind,
  EtcLostEdit,
  EtcMergeFile,
  OstreeOutcome,
  SideStatus,
} from '../../shared/types.ts';

export const CHANGE_LABELS: Record<EtcChangeKind, string> = {
  content: 'content',
  mode: 'permissions',
  owner: 'owner',
  symlink: 'link target',
  type: 'file type',
};

/** How a path differs between two trees: an /etc against its defaults, two snapshots, two commits. */
export type ChangeStatus = 'added' | 'modified' | 'removed';

export const STATUS_LABELS: Record<ChangeStatus, string> = {
  added: 'Added',
  modified: 'Changed',
  removed: 'Removed',
};

export const STATUS_TONES = {
  added: 'success',
  modified: 'accent',
  removed: 'danger',
} as const satisfies Record<ChangeStatus, Tone>;

export const STATUS_LETTERS: Record<ChangeStatus, string> = { added: 'A', modified: 'M', removed: 'D' };

export const SIDE_LABELS: Record<SideStatus, string> = {
  unchanged: 'unchanged',
  added: 'added',
  modified: 'changed',
  removed: 'deleted',
  absent: 'absent',
};

export const OSTREE_LABELS: Record<OstreeOutcome, string> = {
  'kept-local': 'keeps your copy',
  'took-upstream': 'takes the new default',
  deleted: 'stays deleted',
  unchanged: 'nothing to do',
  refused: 'refuses to deploy',
};

export const LOST_LABELS: Record<EtcLostEdit['change'], string> = {
  content: 'Content differs',
  mode: 'Permissions differ',
  owner: 'Owner differs',
  symlink: 'Link target differs',
  type: 'File type differs',
  'only-current': 'Only in the current /etc',
  'only-target': 'Only in the older /etc',
};

export type MergeOutcome =
  | 'refused'
  | 'conflict'
  | 'deleted-changed'
  | 'hidden'
  | 'auto-merged'
  | 'took-upstream'
  | 'kept';

/** The one outcome a person needs to know about a path, most serious first. */
export function mergeOutcome(file: EtcMergeFile): MergeOutcome {
  if (file.ostree === 'refused' || file.flags.includes('type-conflict')) return 'refused';
  if (file.flags.includes('deleted-but-changed-upstream')) return 'deleted-changed';
  if (file.merge === 'conflict') return 'conflict';
  if (file.flags.includes('upstream-hidden')) return 'hidden';
  if (file.ostree === 'took-upstream') return 'took-upstream';
  if (file.merge === 'clean') return 'auto-merged';
  return 'kept';
}

/** "2 upstream changes hidden": the outcome's label for a count. */
export function outcomeCount(outcome: MergeOutcome, n: number): string {
  const one = n === 1;
  const words: Record<MergeOutcome, string> = {
    refused: one ? 'path OSTree will refuse' : 'paths OSTree will refuse',
    conflict: one ? 'conflict' : 'conflicts',
    'deleted-changed': 'deleted here, changed upstream',
    hidden: one ? 'upstream change hidden' : 'upstream changes hidden',
    'auto-merged': 'auto-merged',
    'took-upstream': one ? 'takes the new default' : 'take the new default',
    kept: 'kept as you changed them',
  };
  return `${n} ${words[outcome]}`;
}

export const OUTCOME_INFO: Record<MergeOutcome, { label: string; tone: Tone; explain: string }> = {
  refused: {
    label: 'OSTree will refuse',
    tone: 'danger',
    explain:
      'Your copy and the new image disagree on what this path is (file vs folder). The deploy fails until it is fixed.',
  },
  conflict: {
    label: 'Conflict',
    tone: 'danger',
    explain:
      'You and the new image changed the same lines. OSTree keeps your file and drops the image’s change.',
  },
  'deleted-changed': {
    label: 'Deleted here, changed upstream',
    tone: 'warning',
    explain: 'You deleted this file; the new image changed it. It stays deleted and the change is lost.',
  },
  hidden: {
    label: 'Upstream change hidden',
    tone: 'warning',
    explain:
      'The new image changed this file, but OSTree keeps your copy whole, so the change never arrives. A line merge can keep both.',
  },
  'auto-merged': {
    label: 'Auto-merged',
    tone: 'success',
    explain: 'Both sides changed different parts; the line merge combines them cleanly.',
  },
  'took-upstream': {
    label: 'Takes the new default',
    tone: 'info',
    explain: 'You did not change this file; the new image’s version is used.',
  },
  kept: {
    label: 'Kept as you changed it',
    tone: 'neutral',
    explain: 'Only you changed this path; your copy carries over unchanged.',
  },
};

export type Tone = 'neutral' | 'info' | 'success' | 'warning' | 'danger' | 'accent';

export interface BadgeSpec {
  label: string;
  tone: Tone;
  title: string;
}

/** `stagedUpdate`: it is the update that boots next and can still be cancelled (lib/update-flow). */
export function deploymentBadges(d: Deployment, stagedUpdate = d.staged): BadgeSpec[] {
  const out: BadgeSpec[] = [];
  if (d.booted)
    out.push({ label: 'Running now', tone: 'success', title: 'The system is running this deployment' });
  if (d.default && !d.booted)
    out.push({ label: 'Next boot', tone: 'accent', title: 'This deployment starts on the next boot' });
  else if (d.default)
    out.push({ label: 'Next boot', tone: 'accent', title: 'It also starts on the next boot' });
  if (stagedUpdate)
    out.push({
      label: 'Staged',
      tone: 'info',
      title: d.staged
        ? 'A new update: its /etc is finished when the system shuts down; Updates can cancel it'
        : 'A new update that has not run yet; Updates can cancel it',
    });
  if (d.rollback) out.push({ label: 'Rollback', tone: 'neutral', title: 'The deployment to go back to' });
  if (d.pinned)
    out.push({ label: 'Pinned', tone: 'warning', title: 'Kept even when newer deployments are added' });
  return out;
}

export const OPERATION_LABELS: Record<string, string> = {
  rollback: 'Changed the next boot',
  upgrade: 'Staged an update',
  deploy: 'Staged a version',
  pin: 'Pinned a deployment',
  unpin: 'Unpinned a deployment',
  undeploy: 'Removed a deployment',
  cancel: 'Cancelled a staged update',
  etcApply: 'Applied /etc resolutions',
  etcUndo: 'Undid /etc resolutions',
  etcRemoveBackup: 'Removed an /etc backup',
  reboot: 'Rebooted',
};

/** Plain words for the codes that a person can act on; other codes keep the engine's own message. */
export const ERROR_HINTS: Partial<Record<ErrorCode, string>> = {
  'not-authorized': 'Hindsight was not allowed to do this. Administrator rights are needed.',
  'auth-dismissed': 'The password prompt was closed, so nothing was changed.',
  busy: 'Another operation is running on this system. Wait for it to finish and try again.',
  'ostree-missing': 'The ostree program is not installed on this computer.',
  'io-error': 'Hindsight could not be reached or could not read a file.',
  unreadable: 'This file can be read only by an administrator.',
};

/** Before an update is downloaded only its commit and package list are local: not an error of the system. */
export function isNotDownloaded(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === 'not-downloaded';
}
