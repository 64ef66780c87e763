import { existsSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { HindsightError } from '../../../shared/errors.ts';
import type { SnapperRootReport, SubvolumeRef } from '../../../shared/snapper.ts';
import { requireProgram, run } from '../exec.ts';
import { pairChanges, parseSnapperList } from './snapper-list.ts';

/**
 * Reads a snapper root: the mounted root filesystem (the folder holding `.snapshots`), `/` on a
 * booted openSUSE, any mount point in tests. snapper itself lists the snapshots; btrfs says which
 * subvolume is the default (boots next) and which one is mounted at the root (running now).
 */

export const SNAPSHOTS_DIR = '.snapshots';

export type { SnapperRootReport, SubvolumeRef } from '../../../shared/snapper.ts';

/** The folder of snapshot `number` under a root; 0 ("current") is the root itself. */
export function snapshotFolder(root: string, number: number): string {
  if (!Number.isSafeInteger(number) || number < 0)
    throw new HindsightError('bad-selector', `not a snapshot number: ${number}`);
  return number === 0 ? root : join(root, SNAPSHOTS_DIR, String(number), 'snapshot');
}

function checkRoot(root: string, config: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(config) || config.startsWith('.'))
    throw new HindsightError('bad-request', `not a snapper config name: ${config}`);
  if (!isAbsolute(root)) throw new HindsightError('bad-path', `the root must be an absolute path: ${root}`);
  const abs = resolve(root);
  let isDir = false;
  try {
    isDir = statSync(abs).isDirectory();
  } catch {
    // reported below
  }
  if (!isDir) throw new HindsightError('not-a-sysroot', `${abs} is not a folder`);
  if (!existsSync(join(abs, 'etc/snapper/configs', config)))
    throw new HindsightError(
      'not-a-sysroot',
      `${abs} is not a snapper root: it has no etc/snapper/configs/${config}`,
    );
  if (!existsSync(join(abs, SNAPSHOTS_DIR)))
    throw new HindsightError('not-a-sysroot', `${abs} is not a snapper root: it has no ${SNAPSHOTS_DIR}`);
  return abs;
}

export function lastLine(text: string): string {
  return (
    text
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .pop() ?? ''
  );
}

/**
 * Runs snapper on the root, by absolute path with an argument array; `--no-dbus` because `--root`
 * demands it and no snapperd is asked. The caller reads the exit code: snapper's failures differ.
 */
export async function runSnapper(
  root: string,
  config: string,
  args: readonly string[],
): Promise<{ code: number; out: string; err: string }> {
  const result = await run(requireProgram('snapper'), ['--no-dbus', '--root', root, '-c', config, ...args], {
    env: { ...process.env, LC_ALL: 'C' },
  });
  return { code: result.code, out: result.stdout.toString('utf8'), err: result.stderr };
}

/** snapper's output for a reading command, its failures said in Hindsight's codes. */
async function snapper(root: string, config: string, args: readonly string[]): Promise<string> {
  const result = await runSnapper(root, config, args);
  if (result.code !== 0) {
    const line = lastLine(result.err) || lastLine(result.out);
    if (/^Config '.*' not found\.?$/.test(line))
      throw new HindsightError('not-a-sysroot', `${root} is not a snapper root: ${line}`);
    if (/not a btrfs/i.test(line))
      throw new HindsightError('not-a-sysroot', `${root} is not on btrfs: ${line}`);
    // Without snapperd, snapper reads btrfs itself, and that takes root.
    if (/not permitted|permission denied/i.test(line))
      throw new HindsightError('not-authorized', `reading snapshots needs root: ${line}`);
    throw new HindsightError('unreadable', `snapper failed (exit ${result.code})${line ? `: ${line}` : ''}`);
  }
  return result.out;
}

/** Runs btrfs by absolute path; `err` is the last line of its stderr. */
export async function btrfs(args: readonly string[]): Promise<{ ok: boolean; out: string; err: string }> {
  const program = requireProgram('btrfs');
  const result = await run(program, args, { env: { ...process.env, LC_ALL: 'C' } });
  return { ok: result.code === 0, out: result.stdout.toString('utf8'), err: lastLine(result.stderr) };
}

function btrfsFailure(what: string, err: string): HindsightError {
  if (/not a btrfs/i.test(err)) return new HindsightError('not-a-sysroot', `${what} is not on btrfs`);
  if (/permission|not permitted/i.test(err))
    return new HindsightError('not-authorized', `btrfs needs root to read ${what}: ${err}`);
  return new HindsightError('unreadable', `btrfs cannot read ${what}${err ? `: ${err}` : ''}`);
}

// Paths from the top level; `btrfs subvolume list -a` writes `<FS_TREE>/` before them, others do not.
function cleanPath(path: string): string {
  return path.replace(/^<FS_TREE>\//, '');
}

interface ShownSubvolume {
  id: number;
  path: string;
  readOnly: boolean;
}

/** `btrfs subvolume show`: the path on its first line, then `Key: value` lines. */
export function parseSubvolumeShow(text: string): ShownSubvolume {
  const lines = text.split('\n');
  const path = cleanPath((lines[0] ?? '').trim());
  const field = (name: string): string | undefined => {
    for (const line of lines) {
      const m = /^\s*([A-Za-z ()]+):\s*(.*)$/.exec(line);
      if (m && m[1]?.trim() === name) return (m[2] ?? '').trim();
    }
    return undefined;
  };
  const id = Number(field('Subvolume ID'));
  if (!path || !Number.isSafeInteger(id))
    throw new HindsightError('unreadable', 'btrfs printed a subvolume description Hindsight cannot read');
  const flags = field('Flags') ?? '';
  return { id, path, readOnly: /\breadonly\b/.test(flags) };
}

/** `btrfs subvolume get-default`: `ID 264 gen 10 top level 257 path @/.snapshots/5/snapshot`, or `ID 5 (FS_TREE)`. */
export function parseGetDefault(text: string): { id: number; path: string } {
  const line = text.trim();
  const m = /^ID (\d+) gen \d+ top level \d+ path (.+)$/.exec(line);
  if (m) return { id: Number(m[1]), path: cleanPath(m[2] as string) };
  const top = /^ID (\d+) \(FS_TREE\)$/.exec(line);
  if (top) return { id: Number(top[1]), path: '/' };
  throw new HindsightError('unreadable', `btrfs printed a default subvolume Hindsight cannot read: ${line}`);
}

/** The snapshot number of a subvolume path, given where snapper's `.snapshots` subvolume sits. */
export function snapshotNumberOf(path: string, snapshotsPath: string): number | null {
  const prefix = snapshotsPath === '/' ? '' : `${snapshotsPath}/`;
  if (!path.startsWith(prefix)) return null;
  const m = /^(\d+)\/snapshot$/.exec(path.slice(prefix.length));
  return m ? Number(m[1]) : null;
}

/** Which subvolume boots next, which is mounted at the root, and their snapshot numbers. */
export async function readSubvolumes(
  root: string,
): Promise<{ defaultSubvolume: SubvolumeRef; activeSubvolume: SubvolumeRef & { readOnly: boolean } }> {
  const [def, active, snapshots] = await Promise.all([
    btrfs(['subvolume', 'get-default', root]),
    btrfs(['subvolume', 'show', root]),
    btrfs(['subvolume', 'show', join(root, SNAPSHOTS_DIR)]),
  ]);
  if (!def.ok) throw btrfsFailure(root, def.err);
  if (!active.ok) throw btrfsFailure(root, active.err);
  const shownActive = parseSubvolumeShow(active.out);
  // openSUSE makes .snapshots a subvolume of its own; where it is a plain folder of the root
  // subvolume instead, snapshots sit below the root's own path.
  const snapshotsPath = snapshots.ok
    ? parseSubvolumeShow(snapshots.out).path
    : `${shownActive.path === '/' ? '' : `${shownActive.path}/`}${SNAPSHOTS_DIR}`;
  const shownDefault = parseGetDefault(def.out);
  return {
    defaultSubvolume: { ...shownDefault, number: snapshotNumberOf(shownDefault.path, snapshotsPath) },
    activeSubvolume: { ...shownActive, number: snapshotNumberOf(shownActive.path, snapshotsPath) },
  };
}

/** Lists the snapshots of a snapper root with their pairing and the default and active subvolumes. */
export async function readSnapperRoot(
  rootPath: string,
  options: { config?: string } = {},
): Promise<SnapperRootReport> {
  const config = options.config ?? 'root';
  const root = checkRoot(rootPath, config);
  const [listText, subvolumes] = await Promise.all([
    snapper(root, config, ['--utc', '--jsonout', 'list']),
    readSubvolumes(root),
  ]);
  const snapshots = parseSnapperList(listText, config);
  return { root, config, snapshots, changes: pairChanges(snapshots), ...subvolumes };
}
