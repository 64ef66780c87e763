import type { AuditRecord, Deployment, EtcBackupInfo } from '../../shared/types.ts';

/**
 * History rows as a person would say them. The helper's audit record keeps what was asked (selectors
 * as typed, method names) and a detail written for the terminal (labels like `2.0 (abe16aff2f.0)`,
 * CLI hints, "2 file(s) written"); the format is the helper's and stays as it is, so the words are
 * made here, from the record and from what the system shows now.
 */

export type DeploymentLike = Pick<
  Deployment,
  'index' | 'checksum' | 'serial' | 'version' | 'default' | 'booted' | 'staged' | 'pinned' | 'rollback'
>;

export interface SentenceContext {
  /** Deployments as they are now, index 0 boots next. */
  deployments: DeploymentLike[];
  /** The /etc backups, or null when they cannot be read (not root). */
  backups: EtcBackupInfo[] | null;
  /** Every record, newest first: an undo names the time of the apply it undid. */
  records: AuditRecord[];
  /** The update the last check found, to name a commit that was never deployed. */
  update?: { checksum: string; version: string | null } | null;
  /** Today's date for short times; a parameter so tests do not depend on the clock. */
  now?: Date;
}

export type Outcome = 'done' | 'no-change' | 'failed';

export interface HistorySentence {
  text: string;
  outcome: Outcome;
  /** A second line when the record knows more that a person may want (what it replaced). */
  note: string | null;
}

const LABEL = /([^\s()](?:[^()]*?[^\s()])?) \(([0-9a-f]{10})\.(\d+)\)/g;

interface Named {
  name: string;
  short: string;
  serial: number;
}

/** The `version (checksum.serial)` labels the helper writes, in order. */
export function labelsIn(text: string): Named[] {
  return [...text.matchAll(LABEL)].map((m) => ({
    // The label may follow other words ("Removed deployment 2.0"): its name is the last word.
    name: (m[1] as string).split(' ').pop() as string,
    short: m[2] as string,
    serial: Number(m[3]),
  }));
}

export function findLabelled(deployments: DeploymentLike[], label: Named | undefined): DeploymentLike | null {
  if (!label) return null;
  return deployments.find((d) => d.checksum.startsWith(label.short) && d.serial === label.serial) ?? null;
}

const ALIASES: Record<string, string> = {
  booted: 'the running deployment',
  default: 'the next-boot deployment',
  pending: 'the pending deployment',
  staged: 'the staged deployment',
  rollback: 'the rollback deployment',
};

/** A selector as typed (index, alias, checksum[.serial], ref) as words; indexes are as they were then. */
export function nameSelector(selector: unknown, ctx: SentenceContext, record?: AuditRecord): string {
  if (typeof selector !== 'string' || !selector) return 'a deployment';
  const positional = ALIASES[selector] !== undefined || /^\d+$/.test(selector);
  if (positional && record && orderUnchangedSince(record, ctx)) {
    // Nothing reordered the deployments since: the index or role still names the same one.
    const now = resolvePositional(selector, ctx.deployments);
    if (now?.version) return now.version;
  }
  if (ALIASES[selector]) return ALIASES[selector] as string;
  if (/^\d+$/.test(selector)) return `deployment ${selector}`;
  const m = /^([0-9a-f]{7,64})(?:\.(\d+))?$/.exec(selector);
  if (m) {
    const prefix = m[1] as string;
    const serial = m[2] === undefined ? null : Number(m[2]);
    const d = ctx.deployments.find(
      (x) => x.checksum.startsWith(prefix) && (serial === null || x.serial === serial),
    );
    if (d?.version) return d.version;
    if (ctx.update?.checksum.startsWith(prefix) && ctx.update.version) return ctx.update.version;
    return prefix.slice(0, 10);
  }
  return selector;
}

/** Operations that change what boots next: they reorder the list, and only the newest of them can still be undone from its row. */
const NEXT_BOOT_CHANGES = new Set(['rollback', 'upgrade', 'deploy', 'cancel', 'undeploy', 'reboot']);

function resolvePositional(selector: string, deployments: DeploymentLike[]): DeploymentLike | null {
  if (/^\d+$/.test(selector)) return deployments.find((d) => d.index === Number(selector)) ?? null;
  if (selector === 'booted') return deployments.find((d) => d.booted) ?? null;
  if (selector === 'default') return deployments[0] ?? null;
  if (selector === 'staged') return deployments.find((d) => d.staged) ?? null;
  if (selector === 'rollback') return deployments.find((d) => d.rollback) ?? null;
  return null;
}

/** True when no change to the deployment list (order or members) was recorded after this record. */
function orderUnchangedSince(record: AuditRecord, ctx: SentenceContext): boolean {
  return !ctx.records.some(
    (r) => r.time > record.time && r.result === 'ok' && NEXT_BOOT_CHANGES.has(r.operation),
  );
}

export function backupIdOf(record: AuditRecord): string | null {
  const fromParams = record.params.backupId;
  if (typeof fromParams === 'string') return fromParams;
  return /\bbackup ([\w.-]+)/.exec(record.detail)?.[1] ?? null;
}

function writtenCount(record: AuditRecord): number | null {
  const m = /^(\d+) file\(s\) written/.exec(record.detail) ?? /\((\d+) files?\)/.exec(record.detail);
  if (m) return Number(m[1]);
  const resolutions = record.params.resolutions;
  return Array.isArray(resolutions) ? resolutions.length : null;
}

/** Backup ids start with the UTC time they were made (20261207T002419Z-…). */
export function backupIdTime(id: string): string | null {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z/.exec(id);
  return m ? `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z` : null;
}

const timeOnly = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dayAndTime = new Intl.DateTimeFormat(undefined, {
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
});

/** "14:02" today, "Dec 5, 14:02" before: enough to tell one change from another in the list. */
export function shortTime(iso: string, now = new Date()): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toDateString() === now.toDateString() ? timeOnly.format(date) : dayAndTime.format(date);
}

function files(n: number | null): string {
  if (n === null) return '/etc files';
  return `${n.toLocaleString()} /etc ${n === 1 ? 'file' : 'files'}`;
}

const METHOD_WORDS: Record<string, string> = {
  etcApply: 'applying /etc files',
  etcRestore: 'restoring an /etc file',
  etcUndo: 'undoing an /etc change',
  etcRemoveBackup: 'removing an /etc backup',
  etcBackups: 'listing the /etc backups',
  upgradeCheck: 'checking for updates',
};

/**
 * The detail of a failure on one line, in the app's words: CLI hints are the terminal's way to go
 * on and mean nothing here, labels lose their checksums, method names become words.
 */
export function oneLineReason(detail: string): string {
  let text = (detail.split('\n')[0] ?? '').trim();
  if (!text || text === 'interrupted') return 'it was interrupted before it finished';
  text = text
    .replace(/\(run hindsight cancel first\)/g, '(cancel the staged update first)')
    .replace(/\s*\((?:run |use |with )?`?hindsight [^)]*\)/g, '')
    .replace(/\s*\((?:use|run) [^)]*\)/g, '')
    // A sentence that is only a command to type ("To undo: hindsight rollback.").
    .replace(/\s*[^.;:]*:?\s*`?hindsight [^.;]*[.;]?/g, '')
    .replace(LABEL, (_all, name: string) => name);
  for (const [method, words] of Object.entries(METHOD_WORDS)) {
    text = text.replace(new RegExp(`\\b${method}\\b`, 'g'), words);
  }
  text = text.replace(/\s+/g, ' ').trim();
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}

function failed(doing: string, record: AuditRecord): HistorySentence {
  return { text: `${doing} failed: ${oneLineReason(record.detail)}`, outcome: 'failed', note: null };
}

function done(text: string, note: string | null = null, outcome: Outcome = 'done'): HistorySentence {
  return { text, outcome, note };
}

function backupInfo(ctx: SentenceContext, id: string | null): EtcBackupInfo | null {
  if (!id || !ctx.backups) return null;
  return ctx.backups.find((b) => b.id === id) ?? null;
}

/** When the apply that a backup belongs to was made: its record, its backup, or its id. */
function applyTime(ctx: SentenceContext, id: string | null): string | null {
  if (!id) return null;
  const apply = ctx.records.find(
    (r) => (r.operation === 'etcApply' || r.operation === 'etcRestore') && backupIdOf(r) === id,
  );
  return apply?.time ?? backupInfo(ctx, id)?.time ?? backupIdTime(id);
}

function etcTarget(record: AuditRecord, ctx: SentenceContext): string {
  const info = backupInfo(ctx, backupIdOf(record));
  if (info?.target.version) return info.target.version;
  return nameSelector(record.params.target ?? record.params.deployment, ctx, record);
}

/** The /etc path an `etc restore` put back, as `/etc/…`. */
function restoredPath(record: AuditRecord): string {
  const path = (record.params.path as { path?: unknown } | undefined)?.path;
  return typeof path === 'string' ? `/etc/${path}` : 'an /etc file';
}

export function historySentence(record: AuditRecord, ctx: SentenceContext): HistorySentence {
  const ok = record.result === 'ok';
  const labels = labelsIn(record.detail);
  const first = labels[0]?.name;
  switch (record.operation) {
    case 'rollback': {
      const to = first ?? nameSelector(record.params.to ?? 'rollback', ctx, record);
      if (!ok)
        return failed(`Rolling back to ${nameSelector(record.params.to ?? 'rollback', ctx, record)}`, record);
      const was = labels[1]?.name;
      return done(`Rolled back to ${to} for the next boot`, was ? `Before, ${was} was the next boot.` : null);
    }
    case 'upgrade': {
      const name = first ?? (record.params.commit ? nameSelector(record.params.commit, ctx) : 'the update');
      if (!ok) return failed(`Staging ${name}`, record);
      if (/^Already up to date/.test(record.detail))
        return done('Looked for an update: there was nothing newer', null, 'no-change');
      const rollbackTo = labels[1]?.name;
      const note = rollbackTo ? `${rollbackTo} stays as the rollback.` : null;
      return done(`Staged ${name} for the next boot`, note);
    }
    case 'deploy': {
      if (!ok) return failed(`Deploying ${nameSelector(record.params.commit, ctx)}`, record);
      return done(`Staged ${first ?? nameSelector(record.params.commit, ctx)} for the next boot`);
    }
    case 'pin':
    case 'unpin': {
      const pin = record.operation === 'pin';
      if (!ok)
        return failed(
          `${pin ? 'Pinning' : 'Unpinning'} ${nameSelector(record.params.deployment, ctx, record)}`,
          record,
        );
      const name = first ?? nameSelector(record.params.deployment, ctx, record);
      if (/ is already /.test(record.detail))
        return done(
          `${pin ? 'Pinned' : 'Unpinned'} ${name}`,
          `It was ${pin ? 'pinned' : 'not pinned'} already.`,
          'no-change',
        );
      return done(`${pin ? 'Pinned' : 'Unpinned'} ${name}`);
    }
    case 'undeploy': {
      if (!ok) return failed(`Removing ${nameSelector(record.params.deployment, ctx, record)}`, record);
      const next = labels[1]?.name;
      return done(
        `Removed deployment ${first ?? nameSelector(record.params.deployment, ctx, record)}`,
        next ? `${next} boots next.` : null,
      );
    }
    case 'cancel': {
      if (!ok) return failed('Cancelling the update', record);
      const next = labels[1]?.name;
      return done(
        `Cancelled the staged update${first ? ` ${first}` : ''}`,
        next ? `${next} boots next.` : null,
      );
    }
    case 'etcApply': {
      const count = writtenCount(record);
      const target = etcTarget(record, ctx);
      if (!ok) return failed(`Applying ${files(count)} to ${target}`, record);
      return done(`Applied ${files(count)} to ${target}`);
    }
    case 'etcRestore': {
      const target = etcTarget(record, ctx);
      const from =
        typeof record.params.from === 'string'
          ? `${nameSelector(record.params.from, ctx, record)}’s copy`
          : 'the image default';
      if (!ok) return failed(`Restoring ${restoredPath(record)} of ${target}`, record);
      return done(`Restored ${restoredPath(record)} of ${target} to ${from}`);
    }
    case 'etcUndo': {
      const id = backupIdOf(record);
      const time = applyTime(ctx, id);
      const change = time ? `the /etc change of ${shortTime(time, ctx.now)}` : 'the last /etc change';
      if (!ok) return failed(`Undoing ${change}`, record);
      const count = writtenCount(record);
      return done(
        `Undid ${change}${count === null ? '' : ` (${count.toLocaleString()} ${count === 1 ? 'file' : 'files'} restored)`}`,
      );
    }
    case 'etcRemoveBackup': {
      const id = backupIdOf(record);
      const time = applyTime(ctx, id);
      if (!ok) return failed('Removing an /etc backup', record);
      const count = writtenCount(record);
      const of = time ? ` of ${shortTime(time, ctx.now)}` : '';
      return done(
        `Removed an /etc backup${of}${count === null ? '' : ` (${count.toLocaleString()} ${count === 1 ? 'file' : 'files'})`}`,
        'That change can no longer be undone.',
      );
    }
    case 'reboot': {
      if (!ok) return failed('Restarting', record);
      return done(`Restarted${first ? ` into ${first}` : ''}`);
    }
    default: {
      const words = record.operation.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
      return ok ? done(`Changed the system (${words})`) : failed(`Changing the system (${words})`, record);
    }
  }
}

export type RowAction =
  | { kind: 'undo-etc'; backupId: string; target: string; targetBooted: boolean }
  | { kind: 'undo-rollback'; to: DeploymentLike; from: DeploymentLike }
  | { kind: 'cancel-update'; deployment: DeploymentLike };

/**
 * What a row still lets a person do, checked against the system as it is now: an /etc apply whose
 * backup is still there and not undone, a rollback or an update that is still the pending next boot.
 */
export function rowAction(record: AuditRecord, ctx: SentenceContext): RowAction | null {
  if (record.result !== 'ok') return null;
  if (record.operation === 'etcApply' || record.operation === 'etcRestore') {
    const id = backupIdOf(record);
    if (!id) return null;
    const undone = ctx.records.some(
      (r) =>
        r.result === 'ok' &&
        ((r.operation === 'etcUndo' && backupIdOf(r) === id) ||
          (r.operation === 'etcRemoveBackup' && backupIdOf(r) === id)),
    );
    if (undone) return null;
    let targetBooted = false;
    if (ctx.backups) {
      // The backup list is the authority where it can be read: pruned or undone backups cannot undo.
      const info = backupInfo(ctx, id);
      if (!info || info.state === 'undone' || info.target.index === null) return null;
      const t = info.target;
      targetBooted = ctx.deployments.some(
        (d) => d.checksum === t.checksum && d.serial === t.serial && d.booted,
      );
    }
    return { kind: 'undo-etc', backupId: id, target: etcTarget(record, ctx), targetBooted };
  }
  if (!NEXT_BOOT_CHANGES.has(record.operation)) return null;
  const newest = ctx.records.find((r) => r.result === 'ok' && NEXT_BOOT_CHANGES.has(r.operation));
  if (newest?.id !== record.id) return null;
  const next = ctx.deployments[0];
  if (!next || next.booted) return null;
  const labels = labelsIn(record.detail);
  const target = findLabelled(ctx.deployments, labels[0]);
  if (!target || target !== next) return null;
  if (record.operation === 'rollback') {
    const from = findLabelled(ctx.deployments, labels[1]);
    // A staged deployment makes the helper refuse any reorder; it could not be undone from here.
    if (!from || from === next || ctx.deployments.some((d) => d.staged)) return null;
    return { kind: 'undo-rollback', to: from, from: target };
  }
  if ((record.operation === 'upgrade' || record.operation === 'deploy') && !target.pinned) {
    return { kind: 'cancel-update', deployment: target };
  }
  return null;
}
