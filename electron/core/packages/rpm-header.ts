import { HindsightError } from '../../../shared/errors.ts';
import type { PackageEntry } from '../../../shared/types.ts';

/**
 * Reads an rpm header as rpm's sqlite backend stores it (the `blob` column of `Packages`): the
 * output of rpm's `headerExport`, i.e. a header without its 8-byte magic. Layout, all big-endian:
 *
 *   int32 il, int32 dl, il × { int32 tag, uint32 type, int32 offset, uint32 count }, dl bytes of data
 *
 * The first entry is normally the immutable region tag (63) whose trailer sits inside the data;
 * entries after the region ("dribbles", such as INSTALLTIME) are added by rpm at install time.
 * Every read is bounds-checked: a corrupt blob is reported, never read past.
 */

export const RPMTAG = {
  HEADERIMMUTABLE: 63,
  NAME: 1000,
  VERSION: 1001,
  RELEASE: 1002,
  EPOCH: 1003,
  SUMMARY: 1004,
  SIZE: 1009,
  ARCH: 1022,
  OLDFILENAMES: 1027,
  CHANGELOGTIME: 1080,
  CHANGELOGNAME: 1081,
  CHANGELOGTEXT: 1082,
  DIRINDEXES: 1116,
  BASENAMES: 1117,
  DIRNAMES: 1118,
  LONGSIZE: 5009,
} as const;

const TYPE = {
  NULL: 0,
  CHAR: 1,
  INT8: 2,
  INT16: 3,
  INT32: 4,
  INT64: 5,
  STRING: 6,
  BIN: 7,
  STRING_ARRAY: 8,
  I18NSTRING: 9,
} as const;
const MAX_TYPE = TYPE.I18NSTRING;

/** rpm's own sanity limits (lib/header_internal.h: hdrchkTags, hdrchkData). */
const MAX_ENTRIES = 0x0000ffff;
const MAX_DATA = 0x0fffffff;
const ENTRY_SIZE = 16;
const PREAMBLE = 8;

/** Names rpm keeps in its database that are not packages: imported signing keys. */
const PSEUDO_PACKAGES = new Set(['gpg-pubkey']);

export interface RpmHeader {
  name: string;
  version: string;
  release: string;
  /** null when the package has no Epoch tag. */
  epoch: number | null;
  /** null when the header has no ARCH tag (rpm prints `(none)`). */
  arch: string | null;
  /** The first (untranslated, "C" locale) summary string. */
  summary: string | null;
  /** Installed size in bytes: LONGSIZE when present, else SIZE. */
  size: number | null;
}

interface Entry {
  tag: number;
  type: number;
  offset: number;
  count: number;
}

// Not fatal: a stray Latin-1 summary in an old package must not make the database unreadable.
const utf8 = new TextDecoder('utf-8');

export function parseRpmHeaderBlob(blob: Uint8Array, label = 'rpm header'): RpmHeader {
  const fail = (reason: string): never => {
    throw new HindsightError('unreadable', `${label} is corrupt: ${reason}`);
  };
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  if (blob.byteLength < PREAMBLE) fail(`${blob.byteLength} bytes, too short for a header`);
  const il = view.getUint32(0);
  const dl = view.getUint32(4);
  if (il < 1 || il > MAX_ENTRIES) fail(`bad index count ${il}`);
  if (dl > MAX_DATA) fail(`bad data length ${dl}`);
  const dataStart = PREAMBLE + il * ENTRY_SIZE;
  // rpm itself insists on the exact size (hdrblobInit: "blob size bad").
  if (blob.byteLength !== dataStart + dl) fail(`size ${blob.byteLength} does not match il=${il} dl=${dl}`);

  const entries: Entry[] = [];
  for (let i = 0; i < il; i++) {
    const at = PREAMBLE + i * ENTRY_SIZE;
    const entry: Entry = {
      tag: view.getInt32(at),
      type: view.getUint32(at + 4),
      offset: view.getInt32(at + 8),
      count: view.getUint32(at + 12),
    };
    if (entry.type > MAX_TYPE) fail(`entry ${i} (tag ${entry.tag}) has unknown type ${entry.type}`);
    if (entry.count < 1 || entry.count > dl)
      fail(`entry ${i} (tag ${entry.tag}) has bad count ${entry.count}`);
    // rpm's hdrchkRange; reads below check the full extent of the values they take.
    if (entry.offset < 0 || entry.offset > dl) {
      fail(`entry ${i} (tag ${entry.tag}) has offset ${entry.offset} outside ${dl} data bytes`);
    }
    const align =
      entry.type === TYPE.INT16 ? 2 : entry.type === TYPE.INT32 ? 4 : entry.type === TYPE.INT64 ? 8 : 1;
    if (entry.offset % align !== 0) fail(`entry ${i} (tag ${entry.tag}) is misaligned`);
    entries.push(entry);
  }
  checkRegion(entries, view, dataStart, dl, fail);

  // Dribble entries come after the region and override it, as in rpm's headerImport.
  const byTag = new Map<number, Entry>();
  for (const entry of entries) byTag.set(entry.tag, entry);

  const stringAt = (entry: Entry, what: string): string => {
    const start = dataStart + entry.offset;
    const end = blob.indexOf(0, start);
    if (end < 0) fail(`${what} string is not terminated`);
    return utf8.decode(blob.subarray(start, end));
  };
  const text = (tag: number, what: string): string | null => {
    const entry = byTag.get(tag);
    if (!entry) return null;
    if (entry.type === TYPE.STRING) {
      if (entry.count !== 1) fail(`${what} has count ${entry.count}`);
    } else if (entry.type !== TYPE.I18NSTRING && entry.type !== TYPE.STRING_ARRAY) {
      fail(`${what} has type ${entry.type}, not a string`);
    }
    return stringAt(entry, what);
  };
  const number = (tag: number, what: string): number | null => {
    const entry = byTag.get(tag);
    if (!entry) return null;
    const width = entry.type === TYPE.INT32 ? 4 : entry.type === TYPE.INT64 ? 8 : 0;
    if (width === 0) fail(`${what} has type ${entry.type}, not a number`);
    if (entry.offset + width > dl) fail(`${what} runs past the data`);
    const at = dataStart + entry.offset;
    if (width === 4) return view.getUint32(at);
    const value = view.getBigUint64(at);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) fail(`${what} is out of range`);
    return Number(value);
  };
  const required = (tag: number, what: string): string => {
    const value = text(tag, what);
    if (value === null || value === '') return fail(`no ${what}`);
    return value;
  };

  return {
    name: required(RPMTAG.NAME, 'NAME'),
    version: required(RPMTAG.VERSION, 'VERSION'),
    release: required(RPMTAG.RELEASE, 'RELEASE'),
    epoch: number(RPMTAG.EPOCH, 'EPOCH'),
    arch: text(RPMTAG.ARCH, 'ARCH'),
    summary: text(RPMTAG.SUMMARY, 'SUMMARY'),
    size: number(RPMTAG.LONGSIZE, 'LONGSIZE') ?? number(RPMTAG.SIZE, 'SIZE'),
  };
}

/**
 * Checks the immutable region the way rpm's hdrblobVerifyRegion does: a BIN entry of 16 bytes
 * whose trailer (a copy of the region entry with offset -16 × region entries) is inside the data.
 * Headers without a region (never written by rpm ≥ 4.16, but legal) are accepted.
 */
function checkRegion(
  entries: Entry[],
  view: DataView,
  dataStart: number,
  dl: number,
  fail: (reason: string) => never,
): void {
  const first = entries[0];
  if (!first || first.tag !== RPMTAG.HEADERIMMUTABLE) return;
  if (first.type !== TYPE.BIN || first.count !== ENTRY_SIZE) fail('bad region tag');
  if (first.offset + ENTRY_SIZE > dl) fail('region trailer outside the data');
  const at = dataStart + first.offset;
  const tag = view.getInt32(at);
  const type = view.getUint32(at + 4);
  const offset = view.getInt32(at + 8);
  const count = view.getUint32(at + 12);
  const regionEntries = -offset / ENTRY_SIZE;
  if (
    tag !== RPMTAG.HEADERIMMUTABLE ||
    type !== TYPE.BIN ||
    count !== ENTRY_SIZE ||
    !Number.isInteger(regionEntries) ||
    regionEntries < 1 ||
    regionEntries > entries.length
  ) {
    fail('bad region trailer');
  }
}

/**
 * The version as Hindsight shows rpm versions: `[epoch:]version-release`, with the epoch left out
 * when it is absent or 0. rpm orders a missing epoch as 0, `rpm -q --qf '%{EPOCHNUM}'` prints 0 for
 * both, and rpm-ostree's `rpmostree.rpmdb.pkglist` reads the same way (see commitPackageList), so
 * lists from the database and from commit metadata compare equal. (`%{EVR}` would print `0:` for an
 * explicit `Epoch: 0`; that difference never changes the order, so it is not kept.)
 */
export function rpmEvr(header: Pick<RpmHeader, 'epoch' | 'version' | 'release'>): string {
  const epoch = header.epoch ? `${header.epoch}:` : '';
  return `${epoch}${header.version}-${header.release}`;
}

/** The package list entry for a header, or null for rpm's non-package entries (gpg-pubkey). */
export function headerToPackage(header: RpmHeader): PackageEntry | null {
  if (PSEUDO_PACKAGES.has(header.name)) return null;
  return { name: header.name, version: rpmEvr(header), arch: header.arch ?? '(none)' };
}

/**
 * Array-valued tags of a header blob that parseRpmHeaderBlob has already checked (sizes, offsets in
 * range, the region): changelogs, file names. Every value read is checked to stay inside the data,
 * and string arrays can be read in part, so a kernel's thousands of changelog entries are not all
 * decoded to show the first few.
 */
export class RpmTagReader {
  private readonly view: DataView;
  private readonly dataStart: number;
  private readonly dl: number;
  private readonly entries = new Map<number, Entry>();

  constructor(
    private readonly blob: Uint8Array,
    private readonly label = 'rpm header',
  ) {
    this.view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
    const il = this.view.getUint32(0);
    this.dl = this.view.getUint32(4);
    this.dataStart = PREAMBLE + il * ENTRY_SIZE;
    // Later entries (dribbles added at install time) override the region, as in rpm's headerImport.
    for (let i = 0; i < il; i++) {
      const at = PREAMBLE + i * ENTRY_SIZE;
      this.entries.set(this.view.getInt32(at), {
        tag: this.view.getInt32(at),
        type: this.view.getUint32(at + 4),
        offset: this.view.getInt32(at + 8),
        count: this.view.getUint32(at + 12),
      });
    }
  }

  private fail(reason: string): never {
    throw new HindsightError('unreadable', `${this.label} is corrupt: ${reason}`);
  }

  count(tag: number): number {
    return this.entries.get(tag)?.count ?? 0;
  }

  /**
   * The first `limit` strings of a string tag as raw bytes (views into the blob, not copies), or
   * null when the header has no such tag.
   */
  rawStrings(tag: number, limit = Number.POSITIVE_INFINITY): Uint8Array[] | null {
    const entry = this.entries.get(tag);
    if (!entry) return null;
    if (entry.type !== TYPE.STRING_ARRAY && entry.type !== TYPE.STRING && entry.type !== TYPE.I18NSTRING) {
      this.fail(`tag ${tag} has type ${entry.type}, not strings`);
    }
    const out: Uint8Array[] = [];
    let at = this.dataStart + entry.offset;
    const end = this.dataStart + this.dl;
    const n = Math.min(entry.count, limit);
    for (let i = 0; i < n; i++) {
      const nul = this.blob.indexOf(0, at);
      if (nul < 0 || nul >= end) this.fail(`tag ${tag} string ${i} is not terminated`);
      out.push(this.blob.subarray(at, nul));
      at = nul + 1;
    }
    return out;
  }

  /** Like rawStrings, decoded as UTF-8 (a stray byte becomes U+FFFD rather than an error). */
  strings(tag: number, limit?: number): string[] | null {
    return this.rawStrings(tag, limit)?.map((bytes) => utf8.decode(bytes)) ?? null;
  }

  /** The first `limit` values of an integer tag (8, 16 or 32 bits, unsigned), or null. */
  numbers(tag: number, limit = Number.POSITIVE_INFINITY): number[] | null {
    const entry = this.entries.get(tag);
    if (!entry) return null;
    const width =
      entry.type === TYPE.INT32
        ? 4
        : entry.type === TYPE.INT16
          ? 2
          : entry.type === TYPE.CHAR || entry.type === TYPE.INT8
            ? 1
            : 0;
    if (width === 0) this.fail(`tag ${tag} has type ${entry.type}, not numbers`);
    if (entry.offset + width * entry.count > this.dl) this.fail(`tag ${tag} runs past the data`);
    const out: number[] = [];
    const start = this.dataStart + entry.offset;
    const n = Math.min(entry.count, limit);
    for (let i = 0; i < n; i++) {
      const at = start + i * width;
      out.push(
        width === 4
          ? this.view.getUint32(at)
          : width === 2
            ? this.view.getUint16(at)
            : this.view.getUint8(at),
      );
    }
    return out;
  }
}
