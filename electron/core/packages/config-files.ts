import { closeSync, constants, fstatSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HindsightError } from '../../../shared/errors.ts';
import type { FileType, PackageFormat } from '../../../shared/types.ts';
import { fileTypeOf } from '../file-type.ts';
import { DPKG_STATUS_CANDIDATES } from './dpkg-db.ts';
import { databaseInTree } from './package-source.ts';
import { descValue, PACMAN_LOCAL_DB, parsePacmanDesc, splitPacmanEntryName } from './pacman-db.ts';
import { forEachRpmHeader, RPMDB_CANDIDATES } from './rpm-db.ts';
import { parseRpmHeaderBlob } from './rpm-header.ts';

/**
 * The configuration files a root's package database records, with what it recorded about each as
 * installed: rpm's `%config` files (FILEFLAGS bit 0) with their FILEDIGESTS, dpkg's conffiles with
 * their md5 (`Conffiles:` in the status file), pacman's `backup=` files with their md5 (`%BACKUP%`
 * in each `local/*\/files`). These are what `rpm -V`, `dpkg --verify` and `pacman -Qii` hold a
 * root's files against; etc/package-drift.ts does the holding.
 */

export type DigestAlgo = 'md5' | 'sha1' | 'sha224' | 'sha256' | 'sha384' | 'sha512';
export type RecordedType = FileType;

export interface ConfigFile {
  /** Absolute inside the root, as the database names it: `/etc/ssh/sshd_config`. */
  path: string;
  /** The owning package's name. */
  package: string;
  /** What the package installed: dpkg and pacman record config files as regular files only. */
  type: RecordedType;
  /** The installed content's digest; null when nothing was recorded (a directory, a link, `newconffile`). */
  digest: { algo: DigestAlgo; hex: string } | null;
  /** rpm only: permission bits, owner and group names, a link's target. */
  mode?: number;
  user?: string;
  group?: string;
  linkTarget?: string;
  /** rpm `%config(noreplace)`: an upgrade keeps a local edit and writes `.rpmnew` beside it. */
  noreplace?: boolean;
  /** rpm `%config(missingok)`: rpm -V does not call it missing. */
  missingOk?: boolean;
  /** rpm `%ghost`: owned, never installed from the payload; rpm -V skips it. */
  ghost?: boolean;
  /**
   * Whether the file was put on disk. rpm records files it left out (--excludedocs, netshared
   * paths, another architecture's colour) as not installed, and files a later package took over
   * as replaced (rpm -V then checks only that it exists).
   */
  state?: 'normal' | 'replaced' | 'not-installed';
  /**
   * dpkg: `newconffile`, a conffile unpacked but never configured (or, with remove-on-upgrade, one
   * to be dropped): dpkg has no digest for it and `dpkg --verify` skips it, present or not.
   */
  newConffile?: boolean;
  /** dpkg: the package is removed with its configuration kept (`rc`); `dpkg --verify` still checks it. */
  configOnly?: boolean;
  /** dpkg: a conffile the current version no longer ships, kept on disk. */
  obsolete?: boolean;
  /** dpkg: removed on the next upgrade (`remove-on-upgrade`). */
  removeOnUpgrade?: boolean;
}

export interface ConfigFileList {
  format: PackageFormat;
  /** The database read, relative to the root. */
  source: string;
  files: ConfigFile[];
  /** Entries that could not be described, one sentence each. */
  problems: string[];
}

// ---------------------------------------------------------------------------------------------
// rpm

/** Tags of rpm's header (rpmtag.h) that rpm-header.ts does not decode. */
const TAG = {
  OLDFILENAMES: 1027,
  FILESTATES: 1029,
  FILEMODES: 1030,
  FILEDIGESTS: 1035,
  FILELINKTOS: 1036,
  FILEFLAGS: 1037,
  FILEUSERNAME: 1039,
  FILEGROUPNAME: 1040,
  DIRINDEXES: 1116,
  BASENAMES: 1117,
  DIRNAMES: 1118,
  FILEDIGESTALGO: 5011,
} as const;

/** rpmfileAttrs (rpmfiles.h). */
export const RPMFILE = { CONFIG: 1 << 0, MISSINGOK: 1 << 3, NOREPLACE: 1 << 4, GHOST: 1 << 6 } as const;

/** rpmfileState: 0 normal, 1 replaced, 2 not installed, 3 net shared, 4 wrong colour. */
const FILE_STATE: Record<number, ConfigFile['state']> = {
  0: 'normal',
  1: 'replaced',
  2: 'not-installed',
  3: 'not-installed',
  4: 'not-installed',
};

/** pgpHashAlgo (rpmpgp.h); a header without FILEDIGESTALGO is from before rpm 4.6: md5. */
const DIGEST_ALGO: Record<number, DigestAlgo> = {
  1: 'md5',
  2: 'sha1',
  8: 'sha256',
  9: 'sha384',
  10: 'sha512',
  11: 'sha224',
};

const T_CHAR = 1;
const T_INT8 = 2;
const T_INT16 = 3;
const T_INT32 = 4;
const T_STRING = 6;
const T_STRING_ARRAY = 8;
const T_I18NSTRING = 9;

// Names must survive exactly: a path that is not UTF-8 is reported, never guessed at.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The array-valued tags of one header blob. parseRpmHeaderBlob has already checked the layout
 * (sizes, offsets in range, the region); here every value read is checked to stay in the data.
 */
class HeaderTags {
  private readonly view: DataView;
  private readonly dataStart: number;
  private readonly dl: number;
  private readonly entries = new Map<number, { type: number; offset: number; count: number }>();

  constructor(
    private readonly blob: Uint8Array,
    private readonly label: string,
  ) {
    this.view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
    const il = this.view.getUint32(0);
    this.dl = this.view.getUint32(4);
    this.dataStart = 8 + il * 16;
    // Later entries (dribbles added at install time) override the region, as in rpm's headerImport.
    for (let i = 0; i < il; i++) {
      const at = 8 + i * 16;
      this.entries.set(this.view.getInt32(at), {
        type: this.view.getUint32(at + 4),
        offset: this.view.getInt32(at + 8),
        count: this.view.getUint32(at + 12),
      });
    }
  }

  private fail(reason: string): never {
    throw new HindsightError('unreadable', `${this.label} is corrupt: ${reason}`);
  }

  has(tag: number): boolean {
    return this.entries.has(tag);
  }

  count(tag: number): number {
    return this.entries.get(tag)?.count ?? 0;
  }

  strings(tag: number, raw = false): (string | Uint8Array)[] | null {
    const entry = this.entries.get(tag);
    if (!entry) return null;
    if (entry.type !== T_STRING_ARRAY && entry.type !== T_STRING && entry.type !== T_I18NSTRING) {
      this.fail(`tag ${tag} has type ${entry.type}, not strings`);
    }
    const out: (string | Uint8Array)[] = [];
    let at = this.dataStart + entry.offset;
    const end = this.dataStart + this.dl;
    for (let i = 0; i < entry.count; i++) {
      const nul = this.blob.indexOf(0, at);
      if (nul < 0 || nul >= end) this.fail(`tag ${tag} string ${i} is not terminated`);
      const bytes = this.blob.subarray(at, nul);
      out.push(raw ? bytes : new TextDecoder('utf-8').decode(bytes));
      at = nul + 1;
    }
    return out;
  }

  numbers(tag: number): number[] | null {
    const entry = this.entries.get(tag);
    if (!entry) return null;
    const width =
      entry.type === T_INT32
        ? 4
        : entry.type === T_INT16
          ? 2
          : entry.type === T_CHAR || entry.type === T_INT8
            ? 1
            : 0;
    if (width === 0) this.fail(`tag ${tag} has type ${entry.type}, not numbers`);
    if (entry.offset + width * entry.count > this.dl) this.fail(`tag ${tag} runs past the data`);
    const out: number[] = [];
    const start = this.dataStart + entry.offset;
    for (let i = 0; i < entry.count; i++) {
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

/** Config files of one header (a package), in the header's file order. */
export function rpmHeaderConfigFiles(
  blob: Uint8Array,
  label = 'rpm header',
): {
  files: ConfigFile[];
  problems: string[];
} {
  const header = parseRpmHeaderBlob(blob, label);
  const tags = new HeaderTags(blob, label);
  const files: ConfigFile[] = [];
  const problems: string[] = [];
  const flags = tags.numbers(TAG.FILEFLAGS);
  if (!flags?.some((f) => f & RPMFILE.CONFIG)) return { files, problems };

  const n = flags.length;
  const paths = filePaths(tags, n, label);
  const sized = <T>(values: T[] | null, what: string): T[] | null => {
    if (values && values.length !== n) {
      throw new HindsightError(
        'unreadable',
        `${label} is corrupt: ${what} has ${values.length} entries, not ${n}`,
      );
    }
    return values;
  };
  const modes = sized(tags.numbers(TAG.FILEMODES), 'FILEMODES');
  const digests = sized(tags.strings(TAG.FILEDIGESTS) as string[] | null, 'FILEDIGESTS');
  const links = sized(tags.strings(TAG.FILELINKTOS) as string[] | null, 'FILELINKTOS');
  const users = sized(tags.strings(TAG.FILEUSERNAME) as string[] | null, 'FILEUSERNAME');
  const groups = sized(tags.strings(TAG.FILEGROUPNAME) as string[] | null, 'FILEGROUPNAME');
  const states = sized(tags.numbers(TAG.FILESTATES), 'FILESTATES');
  const algoNumber = tags.numbers(TAG.FILEDIGESTALGO)?.[0] ?? 1;
  const algo = DIGEST_ALGO[algoNumber];

  for (let i = 0; i < n; i++) {
    const flag = flags[i] as number;
    if (!(flag & RPMFILE.CONFIG)) continue;
    const raw = paths[i] as Uint8Array;
    let path: string;
    try {
      path = strictUtf8.decode(raw);
    } catch {
      problems.push(
        `${header.name}: a config file whose name is not UTF-8 (${Buffer.from(raw).toString('latin1')}), not checked`,
      );
      continue;
    }
    const mode = modes?.[i];
    const type = mode === undefined ? 'file' : fileTypeOf(mode);
    const hex = digests?.[i] ?? '';
    const file: ConfigFile = { path, package: header.name, type, digest: null };
    if (type === 'file' && hex !== '') {
      if (algo) file.digest = { algo, hex: hex.toLowerCase() };
      else
        problems.push(`${header.name}: ${path} has a digest of unknown algorithm ${algoNumber}, not checked`);
    }
    if (mode !== undefined) file.mode = mode & 0o7777;
    if (users?.[i]) file.user = users[i];
    if (groups?.[i]) file.group = groups[i];
    if (type === 'symlink' && links?.[i]) file.linkTarget = links[i];
    if (flag & RPMFILE.NOREPLACE) file.noreplace = true;
    if (flag & RPMFILE.MISSINGOK) file.missingOk = true;
    if (flag & RPMFILE.GHOST) file.ghost = true;
    // No FILESTATES: a header straight from a package file, not an installed one.
    file.state = states ? (FILE_STATE[states[i] as number] ?? 'normal') : 'normal';
    files.push(file);
  }
  return { files, problems };
}

function filePaths(tags: HeaderTags, n: number, label: string): Uint8Array[] {
  const fail = (reason: string): never => {
    throw new HindsightError('unreadable', `${label} is corrupt: ${reason}`);
  };
  const basenames = tags.strings(TAG.BASENAMES, true) as Uint8Array[] | null;
  if (basenames) {
    const dirnames = (tags.strings(TAG.DIRNAMES, true) ?? []) as Uint8Array[];
    const indexes = tags.numbers(TAG.DIRINDEXES) ?? [];
    if (basenames.length !== n || indexes.length !== n) fail('file name tags disagree in length');
    return basenames.map((base, i) => {
      const dir = dirnames[indexes[i] as number];
      if (!dir) return fail(`file ${i} names directory ${indexes[i]} of ${dirnames.length}`);
      return Buffer.concat([dir, base]);
    });
  }
  // Headers from before rpm 4 (and some converted databases) spell each path whole.
  const old = tags.strings(TAG.OLDFILENAMES, true) as Uint8Array[] | null;
  if (!old || old.length !== n) return fail('FILEFLAGS without file names');
  return old;
}

/** The config files in an rpmdb.sqlite, read as rpm-db.ts reads packages (a WAL database from a private copy). */
export function readRpmConfigFiles(file: string, label = file): { files: ConfigFile[]; problems: string[] } {
  const files: ConfigFile[] = [];
  const problems: string[] = [];
  forEachRpmHeader(
    file,
    (blob, where) => {
      const one = rpmHeaderConfigFiles(blob, where);
      files.push(...one.files);
      problems.push(...one.problems);
    },
    label,
  );
  return { files, problems };
}

// ---------------------------------------------------------------------------------------------
// dpkg

const DPKG_FLAGS = new Set(['obsolete', 'remove-on-upgrade']);
/** dpkg's placeholder for a conffile unpacked but not yet configured: no digest to hold it to. */
const DPKG_NEW_CONFFILE = 'newconffile';

/**
 * Conffiles of every package in a dpkg status file that has files on disk: installed ones, and
 * ones removed with their configuration kept (`rc`), whose conffiles `dpkg --verify` still checks.
 * A line is ` NAME HASH [obsolete] [remove-on-upgrade]`; a name may hold spaces, so, as dpkg
 * does, the words are taken from the end.
 */
export function parseDpkgConffiles(text: string): { files: ConfigFile[]; problems: string[] } {
  const files: ConfigFile[] = [];
  const problems: string[] = [];
  let name = '';
  let status = '';
  let lines: string[] = [];
  let inConffiles = false;
  const flush = (): void => {
    const state = status.split(/\s+/)[2];
    if (name && state && state !== 'not-installed') {
      for (const line of lines) {
        const words = line.trim().split(' ');
        const flags = new Set<string>();
        while (words.length > 2 && DPKG_FLAGS.has(words[words.length - 1] as string)) {
          flags.add(words.pop() as string);
        }
        const hash = words.pop() ?? '';
        const path = words.join(' ');
        if (!path.startsWith('/')) {
          problems.push(`${name}: conffile line ${JSON.stringify(line)} names no absolute path`);
          continue;
        }
        const file: ConfigFile = { path, package: name, type: 'file', digest: null };
        if (/^[0-9a-f]{32}$/i.test(hash)) file.digest = { algo: 'md5', hex: hash.toLowerCase() };
        else if (hash === DPKG_NEW_CONFFILE) file.newConffile = true;
        else problems.push(`${name}: ${path} has digest ${hash}, not an md5`);
        file.state = 'normal';
        if (state === 'config-files') file.configOnly = true;
        if (flags.has('obsolete')) file.obsolete = true;
        if (flags.has('remove-on-upgrade')) file.removeOnUpgrade = true;
        files.push(file);
      }
    }
    name = status = '';
    lines = [];
    inConffiles = false;
  };
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line === '') {
      flush();
      continue;
    }
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (inConffiles && line.trim() !== '') lines.push(line);
      continue;
    }
    inConffiles = false;
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const field = line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    if (field === 'Package') name = value;
    else if (field === 'Status') status = value;
    else if (field === 'Conffiles') {
      inConffiles = true;
      // dpkg writes the list on continuation lines; a value on the field line itself is one more.
      if (value !== '') lines.push(value);
    }
  }
  flush();
  return { files, problems };
}

// ---------------------------------------------------------------------------------------------
// pacman

/** `%BACKUP%` of every package in a local database: `etc/pacman.conf<TAB>md5`. */
export function readPacmanBackupFiles(dir: string): { files: ConfigFile[]; problems: string[] } {
  const files: ConfigFile[] = [];
  const problems: string[] = [];
  let folders: string[];
  try {
    folders = readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
  } catch (error) {
    throw new HindsightError('unreadable', `cannot read ${dir}: ${ioCode(error)}`);
  }
  for (const folder of folders) {
    const split = splitPacmanEntryName(folder);
    if (!split) continue;
    const text = readNoFollow(join(dir, folder, 'files'));
    if (text === null) {
      problems.push(`${folder}: no files list (its backup files are unknown)`);
      continue;
    }
    const desc = readNoFollow(join(dir, folder, 'desc'));
    const name = (desc !== null ? descValue(parsePacmanDesc(desc), 'NAME') : null) ?? split.name;
    for (const line of parsePacmanDesc(text).get('BACKUP') ?? []) {
      const tab = line.lastIndexOf('\t');
      const rel = tab < 0 ? line : line.slice(0, tab);
      const hash = tab < 0 ? '' : line.slice(tab + 1);
      const file: ConfigFile = {
        path: `/${rel}`,
        package: name,
        type: 'file',
        digest: null,
        state: 'normal',
      };
      if (/^[0-9a-f]{32}$/i.test(hash)) file.digest = { algo: 'md5', hex: hash.toLowerCase() };
      else problems.push(`${name}: backup file /${rel} has no md5 recorded`);
      files.push(file);
    }
  }
  return { files, problems };
}

/** A small database file's text; null when it is missing or is not a regular file (a link is not followed). */
function readNoFollow(file: string): string | null {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = ioCode(error);
    if (code === 'ENOENT' || code === 'ELOOP' || code === 'ENOTDIR') return null;
    throw new HindsightError('unreadable', `cannot read ${file}: ${code}`);
  }
  try {
    if (!fstatSync(fd).isFile()) return null;
    return readFileSync(fd, 'utf8');
  } catch (error) {
    throw new HindsightError('unreadable', `cannot read ${file}: ${ioCode(error)}`);
  } finally {
    closeSync(fd);
  }
}

// ---------------------------------------------------------------------------------------------
// any root

/**
 * The config files of a root folder (a snapshot, a deployment), from the first database that
 * records any, in package-source.ts's order (dpkg, rpm, pacman); null when the root has no database.
 * Files are sorted by path, then package.
 */
export function readConfigFiles(root: string): ConfigFileList | null {
  let empty: ConfigFileList | null = null;
  const take = (format: PackageFormat, source: string, read: { files: ConfigFile[]; problems: string[] }) => {
    const list: ConfigFileList = { format, source, files: sortFiles(read.files), problems: read.problems };
    if (list.files.length > 0) return list;
    empty ??= list;
    return null;
  };
  for (const source of DPKG_STATUS_CANDIDATES) {
    const file = databaseInTree(root, source);
    if (!file) continue;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new HindsightError('unreadable', `cannot read ${file}: ${ioCode(error)}`);
    }
    const list = take('dpkg', source, parseDpkgConffiles(text));
    if (list) return list;
  }
  for (const source of RPMDB_CANDIDATES) {
    const file = databaseInTree(root, source);
    if (!file) continue;
    const list = take('rpm', source, readRpmConfigFiles(file, source));
    if (list) return list;
  }
  const pacman = databaseInTree(root, PACMAN_LOCAL_DB);
  if (pacman) {
    const list = take('pacman', PACMAN_LOCAL_DB, readPacmanBackupFiles(pacman));
    if (list) return list;
  }
  return empty;
}

function sortFiles(files: ConfigFile[]): ConfigFile[] {
  const key = (f: ConfigFile): string => `${f.path}\0${f.package}`;
  return files.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

function ioCode(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? 'error';
}
