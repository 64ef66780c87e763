import type {
  AuditRecord,
  DeltaChangelogs,
  Deployment,
  DiskUsageReport,
  EtcApplyResult,
  EtcBackupList,
  EtcDriftEntry,
  EtcDriftReport,
  EtcMergeReport,
  EtcPath,
  FileChangeCounts,
  FileChangeEntry,
  OperationResult,
  PackageDelta,
  ProgressEvent,
  RollbackPreview,
  SnapshotRef,
  StatusReport,
  UpgradeCheck,
} from '../../shared/types.ts';
import { upgradeCommand } from '../core/ostree/origin.ts';
import { sameDeployment } from '../helper/context.ts';

/** Human output: aligned columns, nvd-like package deltas, names quoted when they hold odd bytes. */

/**
 * Colour is decided once per run by the CLI (a terminal, no NO_COLOR, or --color=always); the
 * formatters only ask. Plain ANSI codes: node:util's styleText needs Node 20.12 and we allow any 20.
 */
let colour = false;
export function setColour(on: boolean): void {
  colour = on;
}
const CODES = { bold: 1, red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36, dim: 2 } as const;
export function paint(style: keyof typeof CODES, text: string): string {
  return colour && text ? `\x1b[${CODES[style]}m${text}\x1b[0m` : text;
}
const ANSI = /\x1b\[[0-9;]*m/g;
/** Width on screen: escape codes take no columns. */
const visible = (text: string): number => text.replace(ANSI, '').length;

export function table(rows: string[][], indent = ''): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, visible(cell));
    });
  }
  return rows
    .map(
      (row) =>
        indent +
        row
          .map((cell, i) =>
            i === row.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - visible(cell)),
          )
          .join('  ')
          .trimEnd(),
    )
    .join('\n');
}

/** Shows a path as it is when plain, quoted with escapes when it holds control characters or bad bytes. */
export function showPath(p: EtcPath): string {
  if (p.pathBase64 === undefined && !/[\u0000-\u001f\u007f"\\]/.test(p.path)) return p.path;
  const bytes = p.pathBase64 !== undefined ? Buffer.from(p.pathBase64, 'base64') : Buffer.from(p.path);
  let out = '"';
  for (const byte of bytes) {
    if (byte === 0x5c) out += '\\\\';
    else if (byte === 0x22) out += '\\"';
    else if (byte === 0x0a) out += '\\n';
    else if (byte === 0x09) out += '\\t';
    else if (byte < 0x20 || byte >= 0x7f) out += `\\x${byte.toString(16).padStart(2, '0')}`;
    else out += String.fromCharCode(byte);
  }
  // Valid multi-byte UTF-8 reads better as itself.
  if (p.pathBase64 === undefined)
    out = `"${p.path.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\t/g, '\\t')}`;
  return `${out}"`;
}

export function shortDate(iso: string | null): string {
  if (!iso) return '-';
  return iso.replace('T', ' ').slice(0, 16);
}

/** Whether `d` is the update that boots next and `cancel` drops: "staged" in every word Hindsight uses. */
function isStagedUpdate(report: StatusReport, d: Deployment): boolean {
  return !!report.stagedUpdate && sameDeployment(report.stagedUpdate, d);
}

export function deploymentStates(d: Deployment, stagedUpdate = d.staged): string[] {
  const states: string[] = [];
  if (d.booted) states.push('running');
  if (d.default) states.push('next boot');
  if (d.staged || stagedUpdate) states.push('staged');
  if (d.pending && !d.default) states.push('pending');
  if (d.rollback) states.push('rollback');
  if (d.pinned) states.push('pinned');
  return states;
}

const STATE_STYLE: Record<string, keyof typeof CODES> = {
  running: 'green',
  'next boot': 'cyan',
  staged: 'yellow',
  pending: 'yellow',
  rollback: 'magenta',
  pinned: 'blue',
};

/** The user's words on a deployment (kept in the app's local cache, keyed by checksum and serial). */
export interface StatusNote {
  note: string;
  label: string | null;
}
export const noteKey = (d: { checksum: string; serial: number }): string => `${d.checksum}.${d.serial}`;

export function formatStatus(
  report: StatusReport,
  notes: ReadonlyMap<string, StatusNote> = new Map(),
): string {
  if (!report.deployments.length)
    return `No deployments in ${report.sysroot} (stateroot ${report.stateroot}).`;
  const rows = [['', '#', 'VERSION', 'DATE', 'COMMIT', 'KERNEL', 'ORIGIN', 'STATE']];
  for (const d of report.deployments) {
    rows.push([
      d.booted ? paint('green', '●') : ' ',
      String(d.index),
      d.version ?? '-',
      shortDate(d.timestamp),
      `${d.checksum.slice(0, 10)}.${d.serial}`,
      d.kernel ?? '-',
      d.origin ?? '-',
      deploymentStates(d, isStagedUpdate(report, d))
        .map((s) => paint(STATE_STYLE[s] ?? 'bold', s))
        .join(', '),
    ]);
  }
  // A note goes on its own line under its row, lined up with VERSION: free text fits no column.
  const lines = table(rows).split('\n');
  const indent = ' '.repeat(lines[0]?.indexOf('VERSION') ?? 0);
  const body: string[] = [lines[0] ?? ''];
  report.deployments.forEach((d, i) => {
    body.push(lines[i + 1] ?? '');
    const note = notes.get(noteKey(d));
    if (!note) return;
    const text = [note.label, note.note].filter(Boolean).join(': ').replace(/\s+/g, ' ').trim();
    if (text) body.push(`${indent}${paint('dim', 'note:')} ${text}`);
  });
  // What rpm-ostree or bootc keeps in an origin, under the table: such a deployment is theirs to upgrade.
  const managed: string[] = [];
  for (const d of report.deployments) {
    const facts: string[] = [];
    if (d.imageReference) facts.push(`container image ${d.imageReference}`);
    if (d.layeredPackages.length) facts.push(`layered packages: ${d.layeredPackages.join(', ')}`);
    if (d.managedBy) {
      managed.push(
        `Deployment ${d.index}: ${facts.length ? `${facts.join('; ')}; ` : ''}upgraded by ${d.managedBy} (${upgradeCommand(d.managedBy)}), not by ostree admin.`,
      );
    }
  }
  return `${body.join('\n')}\n${managed.length ? `\n${managed.join('\n')}\n` : ''}`;
}

function describeSnapshot(s: SnapshotRef): string {
  const where = s.index === null ? 'commit' : `deployment ${s.index}`;
  return `${where}: ${s.version ?? 'no version'} (${s.checksum.slice(0, 10)}, ${shortDate(s.timestamp)})`;
}

export function formatPackageDelta(delta: PackageDelta, options: { files?: boolean } = {}): string {
  const { files } = delta;
  return packageDeltaText(
    describeSnapshot(delta.from),
    describeSnapshot(delta.to),
    delta,
    options.files === false
      ? ''
      : files.pending
        ? ' Files: known once the commit is downloaded (only its package database is here).'
        : ` Files: ${files.added} added, ${files.removed} removed, ${files.modified} modified.`,
  );
}

/**
 * The body of a package delta, whatever the backend: `from` and `to` name the two sides in the
 * backend's words, `filesText` ends the summary line ('' for none).
 */
export function packageDeltaText(
  from: string,
  to: string,
  delta: Pick<PackageDelta, 'added' | 'removed' | 'upgraded' | 'downgraded'> & {
    from: { packages: number };
    to: { packages: number };
  },
  filesText: string,
): string {
  const lines = [`<<< ${from}`, `>>> ${to}`];
  const changes = [
    ...delta.upgraded.map((c) => ({ ...c, mark: paint('green', '[U.]') })),
    ...delta.downgraded.map((c) => ({ ...c, mark: paint('yellow', '[D.]') })),
  ].sort((a, b) => (a.name < b.name ? -1 : 1));
  if (changes.length) {
    lines.push('', 'Version changes:');
    lines.push(table(changes.map((c, i) => [c.mark, `#${i + 1}`, c.name, c.arch, `${c.from} -> ${c.to}`])));
  }
  if (delta.added.length) {
    lines.push('', 'Added packages:');
    lines.push(
      table(delta.added.map((p, i) => [paint('green', '[A.]'), `#${i + 1}`, p.name, p.arch, p.version])),
    );
  }
  if (delta.removed.length) {
    lines.push('', 'Removed packages:');
    lines.push(
      table(delta.removed.map((p, i) => [paint('red', '[R.]'), `#${i + 1}`, p.name, p.arch, p.version])),
    );
  }
  if (!changes.length && !delta.added.length && !delta.removed.length) lines.push('', 'No package changes.');
  lines.push(
    '',
    `Packages: ${delta.from.packages} -> ${delta.to.packages} (${delta.upgraded.length} upgraded, ${delta.downgraded.length} downgraded, ` +
      `${delta.added.length} added, ${delta.removed.length} removed).${filesText}`,
  );
  return `${lines.join('\n')}\n`;
}

const STATUS_LETTER = { added: 'A', modified: 'M', removed: 'D' } as const;

function modeText(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}

export function formatDrift(report: EtcDriftReport): string {
  const d = report.deployment;
  const head = `/etc drift of deployment ${d.index} (${d.version ?? d.checksum.slice(0, 10)}): ${report.entries.length} changed path${report.entries.length === 1 ? '' : 's'}`;
  if (!report.entries.length) return `${head}\n`;
  const rows = report.entries.map((e) => {
    const details: string[] = [];
    if (e.changes.includes('mode') && e.base && e.local)
      details.push(`mode ${modeText(e.base.mode)} -> ${modeText(e.local.mode)}`);
    if (e.changes.includes('owner') && e.base && e.local)
      details.push(`owner ${e.base.uid}:${e.base.gid} -> ${e.local.uid}:${e.local.gid}`);
    if (e.changes.includes('symlink') && e.base && e.local)
      details.push(`-> ${e.local.target ?? ''} (was ${e.base.target ?? ''})`);
    if (e.changes.includes('type') && e.base && e.local) details.push(`${e.base.type} -> ${e.local.type}`);
    if (e.content === 'binary' || e.content === 'large') details.push(e.content);
    const name = showPath(e) + ((e.local ?? e.base)?.type === 'directory' ? '/' : '');
    return [STATUS_LETTER[e.status], e.changes.join(',') || '-', name, details.join('; ')];
  });
  const body = [table(rows)];
  for (const e of report.entries) {
    if (!e.hunks?.length) continue;
    body.push('', ...unifiedDiff(e));
  }
  return `${head}\n${body.join('\n')}\n`;
}

/**
 * One file's diff as `patch -p1` and `git apply` take it, from the image's /etc (a/) to the local
 * one (b/): run in a folder holding the image's etc/, it reproduces the local files. A file that
 * only one side has is named /dev/null on the other, so the tools create or delete it.
 */
function unifiedDiff(e: EtcDriftEntry): string[] {
  const name = showPath(e);
  // showPath quotes odd names; the prefix then goes inside the quotes, as git writes it.
  const side = (prefix: string): string =>
    name.startsWith('"') ? `"${prefix}/etc/${name.slice(1)}` : `${prefix}/etc/${name}`;
  const lines = [
    `--- ${e.status === 'added' ? '/dev/null' : side('a')}`,
    `+++ ${e.status === 'removed' ? '/dev/null' : side('b')}`,
  ];
  // An empty side starts at line 0 in a unified diff (jsdiff's hunks say 1, as formatPatch fixes).
  const range = (start: number, count: number): string => `${count === 0 ? start - 1 : start},${count}`;
  for (const h of e.hunks ?? [])
    lines.push(
      paint('cyan', `@@ -${range(h.oldStart, h.oldLines)} +${range(h.newStart, h.newLines)} @@`),
      ...h.lines.map((l) =>
        l.startsWith('+') ? paint('green', l) : l.startsWith('-') ? paint('red', l) : l,
      ),
    );
  return lines;
}

export function formatMerge(report: EtcMergeReport): string {
  const t = report.target;
  const lines = [
    `/etc merge from deployment ${report.source.index} (${report.source.version ?? report.source.checksum.slice(0, 10)}) to ${
      t.index === null ? 'commit' : `deployment ${t.index}`
    } (${t.version ?? t.checksum.slice(0, 10)})`,
  ];
  if (t.staged) {
    lines.push(
      'The target is staged: its /etc is built at shutdown from the running /etc, so resolve through the running /etc.',
    );
  }
  if (!report.files.length) return `${lines.join('\n')}\nNothing to merge.\n`;
  const rows = [['PATH', 'LOCAL', 'UPSTREAM', 'OSTREE DOES', 'LINE MERGE', 'FLAGS']];
  for (const f of report.files)
    rows.push([showPath(f), f.local, f.upstream, f.ostree, f.merge, f.flags.join(',')]);
  const counts = (key: string): number => report.files.filter((f) => f.flags.includes(key as never)).length;
  lines.push(table(rows));
  lines.push(
    '',
    `${report.files.length} paths; ${counts('upstream-hidden')} upstream changes hidden by local copies, ` +
      `${counts('deleted-but-changed-upstream')} deleted here but changed upstream, ${counts('type-conflict')} that OSTree refuses; ` +
      `${report.files.filter((f) => f.merge === 'conflict').length} line-merge conflicts.`,
  );
  for (const f of report.files.filter((f) => f.restored?.length)) {
    lines.push(
      `${showPath(f)}: missing system accounts ${f.restored?.join(', ')}: both images define them; OSTree keeps them missing, the entry merge restores them.`,
    );
  }
  return `${lines.join('\n')}\n`;
}

export function formatRollbackPreview(preview: RollbackPreview): string {
  const lines = [
    `Rolling back from deployment ${preview.current.index} (${preview.current.version ?? '-'}) to deployment ${preview.target.index} (${preview.target.version ?? '-'})`,
    '',
    formatPackageDelta(preview.packages).trimEnd(),
    '',
  ];
  if (preview.etcLost.length) {
    lines.push(
      `/etc edits that deployment ${preview.target.index} does not have (${preview.etcLost.length}):`,
    );
    lines.push(
      table(
        preview.etcLost.map((e) => [e.change, showPath(e)]),
        '  ',
      ),
    );
  } else lines.push(`Deployment ${preview.target.index} has every /etc edit made since.`);
  return `${lines.join('\n')}\n`;
}

/** The result of a change: what happened in one line, then the deployments as ostree now lists them. */
export function formatOperation(result: OperationResult): string {
  return `${result.message}\n\n${formatStatus(result.status)}`;
}

/**
 * `booted`: whether the sysroot's current deployment is the one running. On a sysroot that is not
 * booted (the demo, a disk mounted elsewhere) nothing runs: the current one is the next boot.
 */
export function formatUpgradeCheck(check: UpgradeCheck, options: { booted?: boolean } = {}): string {
  const current = `${check.current.version ?? '-'} (${check.current.checksum.slice(0, 10)})`;
  const compared =
    options.booted === false
      ? `current: deployment ${check.current.index ?? '?'}, ${current}, the next boot (this sysroot is not booted)`
      : `running ${current}`;
  if (!check.available) {
    return `Up to date: ${check.origin} offers nothing newer than ${current} (checked ${shortDate(check.checkedAt)} UTC).\n`;
  }
  const a = check.available;
  const lines = [
    `Available from ${check.origin}: ${a.version ?? 'no version'} (${a.checksum.slice(0, 10)}, ${shortDate(a.timestamp)}), ${compared}.`,
  ];
  if (a.subject) lines.push(`  ${a.subject}`);
  lines.push('');
  // The tree is not pulled for a check, so whole-tree file counts are unknown until the upgrade.
  if (a.delta) lines.push(formatPackageDelta(a.delta, { files: false }).trimEnd());
  else lines.push('The new image has no package database Hindsight can read.');
  return `${lines.join('\n')}\n`;
}

/** `etc apply` and `etc restore` (Wrote, Put back: a backup to undo) and `etc undo` (Restored). */
export function formatEtcApply(result: EtcApplyResult, verb: 'Wrote' | 'Put back' | 'Restored'): string {
  const where = `deployment ${result.target.index ?? '?'} (${result.target.version ?? result.target.checksum.slice(0, 10)})`;
  const lines = [
    `${verb} ${result.written.length} path${result.written.length === 1 ? '' : 's'} in /etc of ${where}:`,
  ];
  for (const p of result.written) lines.push(`  ${showPath(p)}`);
  lines.push(
    verb === 'Restored'
      ? `Backup ${result.backupId} is undone.`
      : `Backup ${result.backupId}; undo with: hindsight etc undo ${result.backupId}`,
  );
  return `${lines.join('\n')}\n`;
}

export function formatHistory(records: AuditRecord[]): string {
  if (!records.length) return 'No changes recorded yet.\n';
  const rows = [['TIME', 'USER', 'OPERATION', 'RESULT', 'DETAIL']];
  for (const r of records) {
    rows.push([
      shortDate(r.time),
      r.user ?? (r.uid === null ? '-' : String(r.uid)),
      r.operation,
      r.result,
      r.detail.replace(/\s+/g, ' '),
    ]);
  }
  return `${table(rows)}\n`;
}

function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

export function formatEtcBackups(list: EtcBackupList): string {
  const { maxCount, maxAgeDays } = list.limits;
  const lines = [
    `/etc backups in ${list.root} (root only). Kept: at most ${maxCount}, none older than ${maxAgeDays} days,`,
    'and always the newest backup of each deployment that has not been undone.',
  ];
  if (!list.readable) {
    lines.push('Only root can list them: run this as root (sudo hindsight etc backups).');
    return `${lines.join('\n')}\n`;
  }
  if (!list.backups.length) {
    lines.push('No backups.');
    return `${lines.join('\n')}\n`;
  }
  const rows = [['ID', 'TIME', 'DEPLOYMENT', 'STATE', 'FILES', 'SIZE']];
  for (const b of list.backups) {
    const t = b.target;
    const where =
      t.index === null
        ? `gone (${t.checksum.slice(0, 10)}.${t.serial})`
        : `${t.index} ${t.version ?? t.checksum.slice(0, 10)}`;
    rows.push([
      b.id,
      shortDate(b.time),
      where,
      b.keptForUndo ? `${b.state}, kept for undo` : b.state,
      String(b.files),
      formatSize(b.bytes),
    ]);
  }
  lines.push(
    '',
    table(rows),
    '',
    'Undo one: hindsight etc undo ID · remove one: hindsight etc backups remove ID',
  );
  return `${lines.join('\n')}\n`;
}

const MiB = 1024 * 1024;

/** One progress line: phase, objects and bytes when known, percentage. */
export function formatProgress(event: ProgressEvent): string {
  const parts = [event.phase];
  if (event.objectsTotal) parts.push(`${event.objectsDone ?? 0}/${event.objectsTotal} objects`);
  if (event.bytes) parts.push(`${(event.bytes / MiB).toFixed(1)} MiB`);
  if (event.fraction !== null && event.fraction !== undefined)
    parts.push(`${Math.round(event.fraction * 100)}%`);
  else if (event.message) parts.push(event.message);
  return `${parts.join(', ')}\n`;
}

const FILE_LETTER = { added: 'A', removed: 'D', modified: 'M' } as const;
const FILE_STYLE = { added: 'green', removed: 'red', modified: 'yellow' } as const;

/** `files diff` on OSTree: ostree diff's letters, then what changed and the owning package. */
export function formatFilesDiff(diff: {
  from: SnapshotRef;
  to: SnapshotRef;
  entries: (FileChangeEntry & { package?: string })[];
  counts: FileChangeCounts;
}): string {
  const lines = [`<<< ${describeSnapshot(diff.from)}`, `>>> ${describeSnapshot(diff.to)}`, ''];
  for (const e of diff.entries) {
    const what = e.status === 'modified' && e.changes.length ? `  (${e.changes.join(', ')})` : '';
    const owner = e.package ? `  [${e.package}]` : '';
    lines.push(`${paint(FILE_STYLE[e.status], FILE_LETTER[e.status])} ${e.path}${what}${owner}`);
  }
  if (diff.entries.length) lines.push('');
  const { added, removed, modified } = diff.counts;
  lines.push(
    diff.entries.length ? `${added} added, ${removed} removed, ${modified} modified.` : 'No files differ.',
  );
  return `${lines.join('\n')}\n`;
}

/** `packages diff --changelogs`: each changed package's entries, newest first, and the CVEs named. */
export function formatChangelogs(changelogs: DeltaChangelogs): string {
  const lines: string[] = [];
  for (const p of changelogs.packages) {
    const arrow = p.direction === 'upgrade' ? '→' : '← back to';
    lines.push(paint('bold', `${p.name} ${p.from} ${arrow} ${p.to}`));
    if (!p.changelog) {
      lines.push('  (no changelog in the package)', '');
      continue;
    }
    if (p.direction === 'downgrade') lines.push('  Going back loses:');
    for (const entry of p.changelog.entries) {
      lines.push(
        `  ${paint('cyan', entry.version ?? '(no version)')}  ${entry.author}${entry.date ? `  ${entry.date.slice(0, 10)}` : ''}`,
      );
      for (const line of entry.text.split('\n')) if (line.trim()) lines.push(`    ${line.trim()}`);
    }
    if (p.changelog.truncated) lines.push('  … (cut short)');
    lines.push('');
  }
  const fixed = changelogs.cvesFixed.length;
  lines.push(
    fixed
      ? `Fixes ${fixed} CVE${fixed === 1 ? '' : 's'}: ${changelogs.cvesFixed.join(', ')}.`
      : 'Names no CVEs.',
  );
  if (changelogs.cvesLost.length)
    lines.push(
      `Going back loses fixes for ${changelogs.cvesLost.length}: ${changelogs.cvesLost.join(', ')}.`,
    );
  for (const problem of changelogs.problems) lines.push(paint('yellow', `Not read: ${problem}`));
  return `${lines.join('\n')}\n`;
}

/** Binary units as the app shows them: 412 MB, 38 MB, 1.2 GB. */
function bytesText(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 || value >= 10 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

/** `hindsight disk`: what each deployment holds alone and what removing it frees, then free space. */
export function formatDisk(usage: DiskUsageReport, report: StatusReport): string {
  const rows = [['#', 'VERSION', 'COMMIT', 'ONLY IT HOLDS', 'REMOVING IT FREES', 'KERNEL IN /BOOT']];
  for (const d of usage.deployments) {
    const dep = report.deployments.find((x) => sameDeployment(x, d));
    rows.push([
      String(d.index),
      dep?.version ?? '-',
      `${d.checksum.slice(0, 10)}.${d.serial}`,
      bytesText(d.uniqueBytes),
      `${bytesText(d.freedByRemoval)} (${bytesText(d.freedInBoot)} in /boot)`,
      d.bootPath ? `${bytesText(d.bootBytes)}${d.bootShared ? ', shared' : ''}` : '-',
    ]);
  }
  const space = (s: { path: string; total: number; free: number } | null, name: string): string =>
    s ? `${name} (${s.path}): ${bytesText(s.free)} free of ${bytesText(s.total)}` : `${name}: unknown`;
  const lines = [table(rows), ''];
  lines.push(space(usage.sysroot, 'Sysroot'));
  if (usage.boot && !usage.boot.sameFilesystemAsSysroot) lines.push(space(usage.boot, '/boot'));
  else if (usage.boot) lines.push('/boot is on the same filesystem.');
  for (const problem of usage.problems) lines.push(paint('yellow', `Not read: ${problem}`));
  return `${lines.join('\n')}\n`;
}
