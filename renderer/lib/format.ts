import type { Deployment, FileMeta, SnapshotRef } from '../../shared/types.ts';

/** The first ten hex digits are what ostree's own status prints; enough to tell commits apart. */
export function shortChecksum(checksum: string): string {
  return checksum.slice(0, 10);
}

/** A selector that survives reordering: the checksum and serial, not the index that a rollback changes. */
export function deploymentSelector(d: Pick<Deployment, 'checksum' | 'serial'>): string {
  return `${d.checksum}.${d.serial}`;
}

export function deploymentKey(d: Pick<Deployment, 'checksum' | 'serial'>): string {
  return `${d.checksum}.${d.serial}`;
}

export function versionName(ref: Pick<SnapshotRef, 'version' | 'checksum'>): string {
  return ref.version ? ref.version : shortChecksum(ref.checksum);
}

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const dayFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });

export function formatDate(iso: string | null | undefined): string {
  if (!iso) return 'unknown date';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : dateFormat.format(date);
}

export function formatDay(iso: string | null | undefined): string {
  if (!iso) return 'unknown date';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : dayFormat.format(date);
}

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['year', 365 * 24 * 3600],
  ['month', 30 * 24 * 3600],
  ['week', 7 * 24 * 3600],
  ['day', 24 * 3600],
  ['hour', 3600],
  ['minute', 60],
];

export function formatRelative(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '';
  const time = new Date(iso).getTime();
  if (Number.isNaN(time)) return '';
  const seconds = (time - now) / 1000;
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size) return relative.format(Math.round(seconds / size), unit);
  }
  return 'just now';
}

export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return '';
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return unit === 0
    ? `${value} ${value === 1 ? 'byte' : 'bytes'}`
    : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count.toLocaleString()} ${count === 1 ? one : many}`;
}

export function formatMode(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

export function describeMeta(meta: FileMeta | null): string {
  if (!meta) return 'absent';
  const kind = meta.type === 'file' ? 'file' : meta.type === 'directory' ? 'folder' : meta.type;
  const parts = [kind, `mode ${formatMode(meta.mode)}`, `owner ${meta.uid}:${meta.gid}`];
  if (meta.type === 'file') parts.push(formatBytes(meta.size));
  if (meta.target !== undefined) parts.push(`→ ${meta.target}`);
  return parts.join(' · ');
}

/** How to name a snapshot of a delta in a request: a deployment by checksum and serial, a commit by checksum. */
export function snapshotSelector(ref: Pick<SnapshotRef, 'checksum' | 'serial' | 'index'>): string {
  return ref.index !== null && ref.serial !== null ? `${ref.checksum}.${ref.serial}` : ref.checksum;
}
