import { closeSync, constants, fstatSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HindsightError } from '../../../shared/errors.ts';
import type { PackageEntry } from '../../../shared/types.ts';
import { sortPackages } from './dpkg-db.ts';
import { comparePacmanVersions } from './pacman-version.ts';

/**
 * Reads pacman's local database (`var/lib/pacman/local`): one folder per installed package, named
 * `NAME-VERSION-RELEASE` (VERSION may carry an `EPOCH:`), holding `desc`, `files` and `mtree`.
 *
 * The list is what `pacman -Q` prints, and pacman builds that from the folder names alone: it opens
 * `desc` only for details. So a package whose `desc` is missing or garbled is still installed for
 * pacman (and a delta that dropped it would report a removal that never happened); here it is
 * listed by its folder name with the architecture left empty, and the fault is reported. Folders
 * pacman itself skips (a name it cannot split, a second entry of one package) are skipped, with
 * the reason. Only what cannot be read (permissions, I/O) is an error: a list with a hole in it
 * would mislead.
 */

/** Where pacman keeps its local database inside a root (its default DBPath plus `local`). */
export const PACMAN_LOCAL_DB = 'var/lib/pacman/local';

export interface PacmanDbRead {
  packages: PackageEntry[];
  /** Entries pacman would skip or could not describe, one sentence each (folder name first). */
  problems: string[];
}

/** A `desc` file's sections: `%NAME%` → its lines (a list section such as `%DEPENDS%` has several). */
export type PacmanDesc = Map<string, string[]>;

/**
 * Parses a `desc` file as libalpm's local_db_read does: a `%KEY%` line opens a section, the lines
 * after it up to a blank one are its values. Blank lines between sections are skipped; lines
 * outside any section are ignored, as pacman ignores what it does not know.
 */
export function parsePacmanDesc(text: string): PacmanDesc {
  const desc: PacmanDesc = new Map();
  let values: string[] | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line === '') {
      values = null;
      continue;
    }
    if (values) {
      values.push(line);
      continue;
    }
    if (/^%[A-Z0-9]+%$/.test(line)) {
      values = [];
      desc.set(line.slice(1, -1), values);
    }
  }
  return desc;
}

/** One value of a `desc` section (`NAME`, `VERSION`, `ARCH`, `INSTALLDATE`, `SIZE`, …), or null. */
export function descValue(desc: PacmanDesc, key: string): string | null {
  return desc.get(key)?.[0] ?? null;
}

/** `_alpm_splitname`: the version is what follows the second hyphen from the end. */
export function splitPacmanEntryName(folder: string): { name: string; version: string } | null {
  const release = folder.lastIndexOf('-');
  if (release <= 0) return null;
  const version = folder.lastIndexOf('-', release - 1);
  if (version <= 0) return null;
  return { name: folder.slice(0, version), version: folder.slice(version + 1) };
}

function ioCode(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? 'error';
}

/** Faults pacman survives too: the entry is still listed, by its folder name. */
const MISSING_DESC: Record<string, string> = {
  ENOENT: 'no desc file',
  ELOOP: 'desc is a symbolic link, not followed',
};

/** A desc file's text, or why there is none; a link in its place is not followed. */
function readDesc(file: string): { text: string } | { missing: string } {
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO named desc would otherwise hang the open; it is refused below.
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const missing = MISSING_DESC[ioCode(error)];
    if (missing) return { missing };
    throw new HindsightError('unreadable', `cannot read ${file}: ${ioCode(error)}`);
  }
  try {
    if (!fstatSync(fd).isFile()) return { missing: 'desc is not a file' };
    return { text: readFileSync(fd, 'utf8') };
  } catch (error) {
    throw new HindsightError('unreadable', `cannot read ${file}: ${ioCode(error)}`);
  } finally {
    closeSync(fd);
  }
}

/** Reads the local database folder (`…/var/lib/pacman/local`). */
export function readPacmanLocalDb(dir: string): PacmanDbRead {
  let folders: string[];
  const linked: string[] = [];
  try {
    const entries = readdirSync(dir, { withFileTypes: true });
    folders = entries
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
    // pacman never writes links here; following one could read outside the root being inspected.
    for (const link of entries.filter((d) => d.isSymbolicLink())) {
      linked.push(`${link.name}: a symbolic link, not followed`);
    }
  } catch (error) {
    const code = ioCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new HindsightError('no-package-database', `no pacman database at ${dir}`);
    }
    throw new HindsightError('unreadable', `cannot read ${dir}: ${code}`);
  }

  const problems: string[] = [];
  const byName = new Map<string, PackageEntry & { folder: string }>();
  for (const folder of folders) {
    const split = splitPacmanEntryName(folder);
    if (!split) {
      problems.push(`${folder}: not a NAME-VERSION-RELEASE entry (pacman skips it)`);
      continue;
    }
    const read = readDesc(join(dir, folder, 'desc'));
    let arch = '';
    if ('missing' in read) {
      problems.push(`${folder}: ${read.missing} (listed by its folder name, architecture unknown)`);
    } else {
      const desc = parsePacmanDesc(read.text);
      const name = descValue(desc, 'NAME');
      const version = descValue(desc, 'VERSION');
      arch = descValue(desc, 'ARCH') ?? '';
      if (name === null || version === null) {
        problems.push(`${folder}: desc has no %NAME% or %VERSION% (listed by its folder name)`);
      } else if (name !== split.name || version !== split.version) {
        problems.push(
          `${folder}: desc names ${name} ${version} (pacman calls this inconsistent; listed by its folder name)`,
        );
      }
    }
    const entry = { ...split, arch, folder };
    const known = byName.get(split.name);
    if (!known) {
      byName.set(split.name, entry);
      continue;
    }
    // pacman keeps whichever its readdir meets first; the newer version is a steadier choice.
    const [kept, dropped] =
      comparePacmanVersions(entry.version, known.version) > 0 ? [entry, known] : [known, entry];
    byName.set(split.name, kept);
    problems.push(`${dropped.folder}: a second entry for ${split.name} (kept ${kept.folder})`);
  }
  problems.push(...linked);
  return {
    packages: sortPackages([...byName.values()].map(({ name, version, arch }) => ({ name, version, arch }))),
    problems,
  };
}
