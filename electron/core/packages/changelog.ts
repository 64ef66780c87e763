import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  mkdtempSync,
  openSync,
  readlinkSync,
  readSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, constants as zlib } from 'node:zlib';
import type {
  ChangelogEntry,
  DeltaChangelogs,
  PackageChange,
  PackageChangelog,
  PackageChangelogChange,
  PackageDelta,
  PackageFormat,
} from '../../../shared/types.ts';
import { compareDpkgVersions } from './dpkg-version.ts';
import { forEachRpmHeaderNamed, RPMDB_CANDIDATES } from './rpm-db.ts';
import { parseRpmHeaderBlob, RPMTAG, RpmTagReader, rpmEvr } from './rpm-header.ts';
import { compareRpmEvr, parseRpmEvr } from './rpm-version.ts';

/**
 * What changed in a package between two versions, from the changelog the newer package carries:
 * rpm keeps it in the header (CHANGELOGTIME/NAME/TEXT), Debian packages ship it as
 * /usr/share/doc/PKG/changelog.Debian.gz. Entries are newest first, as both formats write them.
 */

export type { ChangelogEntry, DeltaChangelogs, PackageChangelog, PackageChangelogChange };

/** Per package: entries beyond this are dropped (a first-time view of a kernel would hold thousands). */
export const MAX_ENTRIES = 200;
/** Per entry, in characters; longer text is cut (CVE ids are still collected from all of it). */
export const MAX_ENTRY_TEXT = 16 * 1024;
/** Per package, all entries' text together. */
export const MAX_PACKAGE_TEXT = 512 * 1024;
/** Compressed bytes read first, and at most: the wanted entries sit at the top of the file. */
const FIRST_READ = 16 * 1024;
const MAX_READ = 1024 * 1024;
/** Decompressed text at most; a gzip bomb is cut here rather than inflated whole. */
const MAX_INFLATED = 8 * 1024 * 1024;

/**
 * Files of a tree, read by path relative to its root. A checked-out folder is one
 * (`folderReader`); a reader of an OSTree commit that is not checked out can plug in the same way.
 * Symbolic links are followed, but only inside the tree (an absolute target is taken from the
 * tree's root), because dpkg's doc links (`/usr/share/doc/PKG` → another package's folder) are
 * links, and a tree's links must never lead to the host's files.
 */
export interface TreeReader {
  /** A label for messages: the folder, or the commit. */
  readonly name: string;
  /** The first `maxBytes` bytes of a regular file, or null when there is none at that path. */
  readFile(relPath: string, maxBytes: number): Buffer | null;
  /** A path on this machine holding the file (sqlite opens files, not buffers); null when there is none. */
  localPath?(relPath: string): string | null;
}

const MAX_LINKS = 40;

/**
 * `relPath` resolved inside `root` the way a chroot would resolve it, or null when a component is
 * missing or the links go round. `..` stops at the root.
 */
export function resolveInTree(root: string, relPath: string): string | null {
  const pending = relPath.split('/').filter((c) => c !== '' && c !== '.');
  pending.reverse();
  const done: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const part = pending.pop() as string;
    if (part === '.' || part === '') continue;
    if (part === '..') {
      done.pop();
      continue;
    }
    const here = join(root, ...done, part);
    let isLink: boolean;
    try {
      isLink = lstatSync(here).isSymbolicLink();
    } catch {
      return null;
    }
    if (!isLink) {
      done.push(part);
      continue;
    }
    if (++links > MAX_LINKS) return null;
    let target: string;
    try {
      target = readlinkSync(here);
    } catch {
      return null;
    }
    if (target.startsWith('/')) done.length = 0;
    const parts = target.split('/').filter((c) => c !== '' && c !== '.');
    for (let i = parts.length - 1; i >= 0; i--) pending.push(parts[i] as string);
  }
  return join(root, ...done);
}

/** Reads a checked-out tree: a deployment folder or a snapper snapshot. */
export function folderReader(tree: string): TreeReader {
  return {
    name: tree,
    localPath: (relPath) => resolveInTree(tree, relPath),
    readFile(relPath, maxBytes) {
      const file = resolveInTree(tree, relPath);
      if (!file) return null;
      let fd: number;
      try {
        // O_NONBLOCK: a FIFO planted in a tree must not hang the read; it is refused below.
        fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
      } catch {
        return null;
      }
      try {
        const stat = fstatSync(fd);
        if (!stat.isFile()) return null;
        const buffer = Buffer.alloc(Math.min(maxBytes, stat.size));
        let done = 0;
        while (done < buffer.length) {
          const n = readSync(fd, buffer, done, buffer.length - done, done);
          if (n === 0) break;
          done += n;
        }
        return buffer.subarray(0, done);
      } finally {
        closeSync(fd);
      }
    },
  };
}

function readerOf(tree: string | TreeReader): TreeReader {
  return typeof tree === 'string' ? folderReader(tree) : tree;
}

// ---------------------------------------------------------------------------------------------
// Shared: caps and CVE ids

const CVE_RE = /\bCVE-\d{4}-\d{4,}\b/gi;

export function cveIds(text: string): string[] {
  return [...new Set([...text.matchAll(CVE_RE)].map((m) => m[0].toUpperCase()))];
}

/** Applies the caps and gathers CVE ids from the full text of the entries kept. */
function finish(entries: ChangelogEntry[], source: string, cut: boolean): PackageChangelog {
  let truncated = cut || entries.length > MAX_ENTRIES;
  const kept = entries.slice(0, MAX_ENTRIES);
  const cves = new Set<string>();
  let budget = MAX_PACKAGE_TEXT;
  const out: ChangelogEntry[] = [];
  for (const entry of kept) {
    for (const id of cveIds(entry.text)) cves.add(id);
    let text = entry.text;
    const room = Math.min(MAX_ENTRY_TEXT, budget);
    if (text.length > room) {
      text = `${text.slice(0, room)}…`;
      truncated = true;
    }
    budget -= Math.min(text.length, budget);
    out.push({ ...entry, text });
  }
  return { entries: out, cves: [...cves], source, ...(truncated ? { truncated } : {}) };
}

// ---------------------------------------------------------------------------------------------
// dpkg

/** Tried in order; `changelog.gz` only counts when it is in Debian format (a native package's). */
const DPKG_CHANGELOGS = ['changelog.Debian.gz', 'changelog.Debian', 'changelog.gz', 'changelog'];
const DPKG_NAME_RE = /^[a-z0-9][a-z0-9+.-]*$/;

// Dpkg::Changelog::Entry::Debian's $regex_header and $regex_trailer.
const HEADER_RE = /^(\w[-+0-9a-z.]*) \(([^() \t]+)\)((?:\s+[-+0-9a-z.]+)+);(.*?)\s*$/i;
const TRAILER_RE =
  /^ -- (.*) <(.*)>( {1,2})(((\w+),\s*)?(\d{1,2}\s+(\w+)\s+\d{4}\s+\d{1,2}:\d\d:\d\d\s+[-+]\d{4}))\s*$/;
// Dpkg::Changelog::Debian's markers for what is not entries: the rest of the file is left unparsed.
const ANCIENT_RE = new RegExp(
  [
    String.raw`\w+\s+\w+\s+\d{1,2} \d{1,2}:\d{1,2}:\d{1,2}\s+[\w\s]*\d{4}\s+.*\s+[<(].*[)>]`,
    String.raw`\w+\s+\w+\s+\d{1,2},?\s*\d{4}\s+.*\s+[<(].*[)>]`,
    String.raw`\w[-+0-9a-z.]* \([^() \t]+\);?`,
    String.raw`[\w.+-]+[- ]\S+ Debian \S+`,
    'Changes from version .* to .*:',
    String.raw`Changes for [\w.+-]+-[\w.+-]+:?\s*$`,
    String.raw`Old Changelog:\s*$`,
    String.raw`(?:\d+:)?\w[\w.+~-]*:?\s*$`,
  ]
    .map((alternative) => `(?:${alternative})`)
    .join('|')
    .replace(/^/, '^(?:')
    .concat(')'),
  'i',
);

export interface DpkgChangelogEntry extends ChangelogEntry {
  source: string;
  version: string;
  distributions: string;
  urgency: string | null;
}

/**
 * Parses a Debian changelog as Dpkg::Changelog::Debian does: `pkg (version) dists; urgency=x`,
 * indented change lines, ` -- Name <mail>  date`. Blank lines between change lines belong to the
 * text; those after the header or before the trailer do not. `complete` false means the text is a
 * prefix of the file: its last entry may be cut, so it is dropped unless its trailer was seen.
 */
export function parseDebianChangelog(
  text: string,
  complete = true,
  stopAt?: (version: string) => boolean,
): DpkgChangelogEntry[] {
  type Expect = 'first' | 'changes-start' | 'changes-or-trailer' | 'next';
  const out: DpkgChangelogEntry[] = [];
  let expect: Expect = 'first';
  let current: (DpkgChangelogEntry & { lines: string[]; trailed: boolean }) | null = null;
  let blanks: string[] = [];
  const flush = (): void => {
    if (current && (current.trailed || complete)) {
      const { lines, trailed: _, ...entry } = current;
      out.push({ ...entry, text: lines.join('\n') });
    }
    current = null;
  };
  const lines = text.split('\n');
  if (!complete) lines.pop();
  for (const line of lines) {
    const header = HEADER_RE.exec(line);
    if (header) {
      flush();
      // The rest of a long changelog is older than anything asked for: not parsed at all.
      if (stopAt?.(header[2] as string)) return out;
      const options = header[4] as string;
      const urgency = /(?:^|[\s,])urgency=([^\s,]+)/i.exec(options)?.[1] ?? null;
      current = {
        source: header[1] as string,
        version: header[2] as string,
        distributions: (header[3] as string).trim(),
        urgency: urgency ? urgency.toLowerCase() : null,
        date: null,
        author: '',
        text: '',
        lines: [],
        trailed: false,
      };
      expect = 'changes-start';
      blanks = [];
      continue;
    }
    if (/^(?:;;\s*)?Local variables:/i.test(line) || /^vim:/i.test(line)) break;
    if (/^\$\w+:.*\$/.test(line) || line.startsWith('# ') || /^\/\*.*\*\//.test(line)) continue;
    if (ANCIENT_RE.test(line)) break;
    if (/^\S/.test(line)) continue; // a badly formatted heading: dpkg reports it and goes on
    const trailer = TRAILER_RE.exec(line);
    if (trailer) {
      if (current) {
        current.author = `${trailer[1]} <${trailer[2]}>`;
        current.date = debianDate(trailer[7] as string);
        current.trailed = true;
      }
      blanks = [];
      expect = 'next';
      continue;
    }
    if (line.startsWith(' --')) continue; // a badly formatted trailer
    if (/^\s{2,}\S/.test(line)) {
      if (expect === 'next' && current) {
        // dpkg assumes a header was missed and starts an unnamed entry; it has no version to place.
        flush();
      }
      current?.lines.push(...blanks, line);
      blanks = [];
      expect = 'changes-or-trailer';
      continue;
    }
    if (!/\S/.test(line)) {
      if (expect === 'changes-or-trailer') blanks.push(line);
      continue;
    }
    // An unrecognised line (one leading space): dpkg keeps it only when it did not expect changes.
    if (expect !== 'changes-start' && expect !== 'changes-or-trailer') {
      current?.lines.push(...blanks, line);
      blanks = [];
      expect = 'changes-or-trailer';
    }
  }
  flush();
  return out;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/** `26 Nov 2026 00:00:51 +0100` (RFC 2822, as the trailer gives it) → ISO 8601, or null. */
function debianDate(text: string): string | null {
  const m = /^(\d{1,2})\s+(\w+)\s+(\d{4})\s+(\d{1,2}):(\d\d):(\d\d)\s+([-+])(\d\d)(\d\d)$/.exec(text);
  if (!m) return null;
  const month = MONTHS.indexOf((m[2] as string).slice(0, 3).toLowerCase());
  if (month < 0) return null;
  const offset = (m[7] === '-' ? -1 : 1) * (Number(m[8]) * 60 + Number(m[9]));
  const utc = Date.UTC(Number(m[3]), month, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  const time = utc - offset * 60_000;
  return Number.isFinite(time) ? new Date(time).toISOString() : null;
}

/**
 * A gzip file's text, inflated from a prefix of it: Z_SYNC_FLUSH lets a cut stream give what it
 * holds rather than fail. `complete` is false when the input or the output was cut.
 */
function inflatePrefix(bytes: Buffer, wholeFile: boolean): { text: string; complete: boolean } | null {
  let input = bytes;
  for (;;) {
    try {
      const out = gunzipSync(input, { finishFlush: zlib.Z_SYNC_FLUSH, maxOutputLength: MAX_INFLATED });
      return { text: out.toString('utf8'), complete: wholeFile && input === bytes };
    } catch (error) {
      // Too much output (a bomb, or an enormous file): inflate less of it.
      if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' && input.length > 1024) {
        input = input.subarray(0, input.length >> 2);
        continue;
      }
      return null;
    }
  }
}

function decodeChangelogFile(bytes: Buffer, wholeFile: boolean, gz: boolean) {
  if (gz) return inflatePrefix(bytes, wholeFile);
  return { text: bytes.toString('utf8'), complete: wholeFile };
}

function isDebianFormat(text: string): boolean {
  const first = text.split('\n', 20).find((l) => l.trim() !== '');
  return first !== undefined && HEADER_RE.test(first);
}

/** Whether `v` is a version dpkg can order; an entry with anything else cannot be placed. */
function dpkgCompare(a: string, b: string): number | null {
  try {
    return compareDpkgVersions(a, b);
  } catch {
    return null;
  }
}

/**
 * Entries with a version above `from` and at most `to`, newest first, reading from the top of the
 * file until the first entry at or below `from` (as `dpkg-parsechangelog --since` stops at it).
 */
function dpkgEntriesBetween(
  parsed: DpkgChangelogEntry[],
  from: string,
  to: string,
): { entries: ChangelogEntry[]; reachedFrom: boolean } {
  const entries: ChangelogEntry[] = [];
  // By position, as dpkg-parsechangelog --since/--to reads it: from the first entry at or below the
  // installed version down to the old one. Below that first entry a higher version can follow: a
  // stable backport (5.7-0.5~deb12u1) sits above the unstable upload it came from (5.7-0.5).
  let started = false;
  for (const entry of parsed) {
    const below = dpkgCompare(entry.version, from);
    if (below !== null && below <= 0) return { entries, reachedFrom: true };
    if (!started) {
      const above = dpkgCompare(entry.version, to);
      if (above !== null && above > 0) continue;
      started = true;
    }
    entries.push({ version: entry.version, date: entry.date, author: entry.author, text: entry.text });
  }
  return { entries, reachedFrom: false };
}

function dpkgChangelog(reader: TreeReader, change: PackageChange): PackageChangelog | null {
  if (!DPKG_NAME_RE.test(change.name)) return null;
  const names = [...DPKG_CHANGELOGS];
  // A binNMU of a Multi-Arch: same package puts its own entry in a per-architecture file.
  if (/^[a-z0-9-]+$/.test(change.arch)) names.splice(1, 0, `changelog.Debian.${change.arch}.gz`);
  for (const file of names) {
    const relPath = `usr/share/doc/${change.name}/${file}`;
    const gz = file.endsWith('.gz');
    let size = FIRST_READ;
    for (;;) {
      const bytes = reader.readFile(relPath, size);
      if (!bytes) break;
      const whole = bytes.length < size;
      const decoded = decodeChangelogFile(bytes, whole, gz);
      if (!decoded || !isDebianFormat(decoded.text)) break;
      let metFrom = false;
      const parsed = parseDebianChangelog(decoded.text, decoded.complete, (v) => {
        const order = dpkgCompare(v, change.from);
        metFrom = order !== null && order <= 0;
        return metFrom;
      });
      const between = dpkgEntriesBetween(parsed, change.from, change.to);
      const { entries } = between;
      // Met: the entry at or below `from` was in the part read, so that part holds all that is wanted.
      const reachedFrom = metFrom || between.reachedFrom;
      // The wanted entries are all in the part read, or there is no more to read.
      if (reachedFrom || decoded.complete || size >= MAX_READ || entries.length > MAX_ENTRIES) {
        return finish(entries, relPath, !reachedFrom && !decoded.complete);
      }
      size = MAX_READ;
    }
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// rpm

/**
 * The EVR at the end of an rpm changelog name: `Name <mail> - 1.2-3`, `Name <mail> 1:1.2-3`. Null
 * when the name carries none. rpm itself does not parse it; this is the packaging guidelines' form.
 */
export function rpmChangelogVersion(name: string): { author: string; version: string | null } {
  const trimmed = name.trim();
  const mail = trimmed.lastIndexOf('>');
  // Without a mail address only ` - EVR` marks a version: a bare trailing number may be part of a name.
  const m =
    mail >= 0
      ? /^(?:-\s*)?\[?((?:\d+:)?\d[^\s[\]<>]*)\]?$/.exec(trimmed.slice(mail + 1).trim())
      : /\s-\s+\[?((?:\d+:)?\d[^\s[\]<>]*)\]?$/.exec(trimmed);
  if (!m) return { author: trimmed, version: null };
  const author = mail >= 0 ? trimmed.slice(0, mail + 1) : trimmed.slice(0, m.index).trim();
  return { author, version: m[1] as string };
}

/**
 * Orders a changelog's EVR against an installed one. Changelogs usually leave out the epoch and the
 * dist tag: a missing epoch is taken as the installed one's (else every entry of an epoch-1 package
 * would sort below it), while the dist tag needs nothing, as `3` < `3.fc40` < `4` in rpm's order.
 */
function compareChangelogEvr(entry: string, installed: string): number {
  const inst = parseRpmEvr(installed);
  const withEpoch = entry.includes(':') || inst.epoch === 0 ? entry : `${inst.epoch}:${entry}`;
  return compareRpmEvr(withEpoch, installed);
}

function rpmEntriesSince(blob: Buffer, where: string, from: string, source: string): PackageChangelog | null {
  const tags = new RpmTagReader(blob, where);
  const count = tags.count(RPMTAG.CHANGELOGTEXT);
  if (count === 0) return null;
  // Every entry up to the first one at or below `from` may be wanted, and the caps cut after.
  const limit = Math.min(count, MAX_ENTRIES * 4);
  const times = tags.numbers(RPMTAG.CHANGELOGTIME, limit) ?? [];
  const names = tags.strings(RPMTAG.CHANGELOGNAME, limit) ?? [];
  const texts = tags.strings(RPMTAG.CHANGELOGTEXT, limit) ?? [];
  const candidates: (ChangelogEntry & { time: number | null })[] = [];
  let boundary: number | null = null;
  let reachedFrom = false;
  for (let i = 0; i < texts.length; i++) {
    const { author, version } = rpmChangelogVersion(names[i] ?? '');
    const time = times[i] ?? null;
    if (version !== null) {
      let order: number;
      try {
        order = compareChangelogEvr(version, from);
      } catch {
        order = 1;
      }
      if (order <= 0) {
        boundary = time;
        reachedFrom = true;
        break;
      }
    }
    candidates.push({
      version,
      date: time === null ? null : new Date(time * 1000).toISOString(),
      author,
      text: texts[i] as string,
      time,
    });
  }
  // An entry without a version is placed by time: newer than the newest entry of `from` or older.
  const entries = candidates
    .filter((e) => e.version !== null || boundary === null || e.time === null || e.time > boundary)
    .map(({ time: _, ...e }) => e);
  return finish(entries, source, !reachedFrom && texts.length < count);
}

/** The header that is `change` (name, arch and version) among those sharing its name. */
function pickHeader(blobs: { blob: Buffer; where: string }[], change: PackageChange) {
  const described = blobs.map((b) => ({ ...b, header: parseRpmHeaderBlob(b.blob, b.where) }));
  return (
    described.find((d) => (d.header.arch ?? '(none)') === change.arch && rpmEvr(d.header) === change.to) ??
    described.find((d) => rpmEvr(d.header) === change.to) ??
    described.find((d) => (d.header.arch ?? '(none)') === change.arch) ??
    described[0] ??
    null
  );
}

/** Reads the headers of the named packages out of the tree's rpm database, once for all of them. */
function rpmHeadersByName(reader: TreeReader, names: Set<string>) {
  const found = new Map<string, { blob: Buffer; where: string }[]>();
  const visit = (blob: Buffer, where: string): void => {
    const name = parseRpmHeaderBlob(blob, where).name;
    const list = found.get(name) ?? [];
    // Copied out: the blob belongs to sqlite's row, which the next step reuses.
    list.push({ blob: Buffer.from(blob), where });
    found.set(name, list);
  };
  for (const relPath of RPMDB_CANDIDATES) {
    const local = reader.localPath?.(relPath);
    if (local !== undefined) {
      if (local === null) continue;
      forEachRpmHeaderNamed(local, names, visit, relPath);
      return { found, source: relPath };
    }
    // No path on this machine (a commit reader): the database goes to a private temporary file.
    const bytes = reader.readFile(relPath, 2 ** 31 - 1);
    if (!bytes) continue;
    const dir = mkdtempSync(join(tmpdir(), 'hindsight-changelog-'));
    try {
      const file = join(dir, 'rpmdb.sqlite');
      writeFileSync(file, bytes, { mode: 0o600 });
      forEachRpmHeaderNamed(file, names, visit, relPath);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    return { found, source: relPath };
  }
  return null;
}

function rpmChangelogs(reader: TreeReader, changes: PackageChange[]): (PackageChangelog | null)[] {
  if (changes.length === 0) return [];
  const db = rpmHeadersByName(reader, new Set(changes.map((c) => c.name)));
  if (!db) return changes.map(() => null);
  return changes.map((change) => {
    const picked = pickHeader(db.found.get(change.name) ?? [], change);
    return picked ? rpmEntriesSince(picked.blob, picked.where, change.from, db.source) : null;
  });
}

// ---------------------------------------------------------------------------------------------
// Public

/**
 * The changelog entries of `change.name` newer than `change.from`, read from `tree`, which holds
 * version `change.to`. dpkg: also at most `change.to`. Null when the package ships no changelog
 * there (no rpm changelog tags, no Debian-format changelog in its doc folder; pacman keeps none).
 */
export function changelogBetween(
  tree: string | TreeReader,
  format: PackageFormat,
  change: PackageChange,
): PackageChangelog | null {
  const reader = readerOf(tree);
  if (format === 'dpkg') return dpkgChangelog(reader, change);
  if (format === 'rpm') return rpmChangelogs(reader, [change])[0] ?? null;
  return null;
}

/** Changelogs for every upgraded and downgraded package of a delta between two trees. */
export function deltaChangelogs(
  treeFrom: string | TreeReader,
  treeTo: string | TreeReader,
  delta: Pick<PackageDelta, 'format' | 'upgraded' | 'downgraded'>,
): DeltaChangelogs {
  const from = readerOf(treeFrom);
  const to = readerOf(treeTo);
  const problems: string[] = [];
  // A downgrade reads the older tree's package, whose version is the change's `from`.
  const lost = delta.downgraded.map((c) => ({ ...c, from: c.to, to: c.from }));
  const read = (reader: TreeReader, changes: PackageChange[]): (PackageChangelog | null)[] => {
    if (delta.format === 'rpm') {
      try {
        return rpmChangelogs(reader, changes);
      } catch (error) {
        problems.push(`rpm database of ${reader.name}: ${(error as Error).message}`);
        return changes.map(() => null);
      }
    }
    return changes.map((change) => {
      try {
        return delta.format === 'dpkg' ? dpkgChangelog(reader, change) : null;
      } catch (error) {
        problems.push(`${change.name}: ${(error as Error).message}`);
        return null;
      }
    });
  };
  const upgrades = read(to, delta.upgraded);
  const downgrades = read(from, lost);
  const packages: PackageChangelogChange[] = [
    ...delta.upgraded.map((c, i) => ({
      ...c,
      direction: 'upgrade' as const,
      changelog: upgrades[i] ?? null,
    })),
    ...delta.downgraded.map((c, i) => ({
      ...c,
      direction: 'downgrade' as const,
      changelog: downgrades[i] ?? null,
    })),
  ];
  const fixed = new Set<string>();
  const gone = new Set<string>();
  for (const p of packages) {
    for (const id of p.changelog?.cves ?? []) (p.direction === 'upgrade' ? fixed : gone).add(id);
  }
  return { packages, cvesFixed: [...fixed], cvesLost: [...gone], problems };
}
