import { lstatSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { HindsightError } from '../../shared/errors.ts';
import type { Deployment, EtcPath, StatusReport } from '../../shared/types.ts';
import { confinedEntry, confineTree } from '../core/confined-fs.ts';
import { printable } from '../core/ostree/selectors.ts';
import { deploymentPath } from '../core/ostree/sysroot.ts';

/**
 * Every /etc path a request names is confined to one /etc tree: relative, no `.` or `..` component,
 * no NUL byte, and every parent a real folder (lstat, never a symlink that could lead out of the tree).
 */

const MAX_PATH_BYTES = 4096;
const MAX_NAME_BYTES = 255;
const SLASH = 0x2f;

/** The exact bytes of a requested path, checked: throws `bad-path` for anything that could escape. */
export function requestPathBytes(p: EtcPath): Buffer {
  let bytes: Buffer;
  if (p.pathBase64 !== undefined) {
    bytes = Buffer.from(p.pathBase64, 'base64');
    // Buffer.from skips characters it does not know; a round trip catches a malformed value.
    if (bytes.toString('base64').replace(/=+$/, '') !== p.pathBase64.replace(/=+$/, '')) {
      throw new HindsightError('bad-path', 'pathBase64 is not valid base64');
    }
  } else bytes = Buffer.from(p.path, 'utf8');
  const shown = printable(p.path);
  if (bytes.length === 0) throw new HindsightError('bad-path', 'the path is empty');
  if (bytes.length > MAX_PATH_BYTES) throw new HindsightError('bad-path', `"${shown}" is too long`);
  if (bytes.includes(0)) throw new HindsightError('bad-path', `"${shown}" holds a NUL byte`);
  if (bytes[0] === SLASH) {
    throw new HindsightError('bad-path', `"${shown}" is absolute; give the path relative to /etc`);
  }
  for (const name of splitPath(bytes)) {
    const text = name.toString('latin1');
    if (text === '' || text === '.' || text === '..') {
      throw new HindsightError(
        'bad-path',
        `"${shown}" has an empty, "." or ".." component; paths stay inside /etc`,
      );
    }
    if (name.length > MAX_NAME_BYTES)
      throw new HindsightError('bad-path', `"${shown}" has a name longer than 255 bytes`);
  }
  return bytes;
}

export function splitPath(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length || bytes[i] === SLASH) {
      out.push(bytes.subarray(start, i));
      start = i + 1;
    }
  }
  return out;
}

export function under(root: string, rel: Buffer): Buffer {
  return Buffer.concat([Buffer.from(root), Buffer.from('/'), rel]);
}

export interface ParentWalk {
  /** How many leading parents exist (all real folders). */
  existing: number;
  /** The parents that do not exist yet, shallowest first (relative paths). */
  missing: Buffer[];
}

/**
 * Checks the parents of `rel` under `root` with lstat. A parent that is a symlink, a file or anything
 * but a folder is refused: writing through it would leave the tree (or is impossible).
 */
export function walkParents(root: string, rel: Buffer): ParentWalk {
  const names = splitPath(rel);
  const missing: Buffer[] = [];
  let existing = 0;
  for (let i = 1; i < names.length; i++) {
    const parentRel = Buffer.concat(names.slice(0, i).flatMap((n, j) => (j ? [Buffer.from('/'), n] : [n])));
    if (missing.length) {
      missing.push(parentRel);
      continue;
    }
    let st: ReturnType<typeof lstatSync>;
    try {
      st = lstatSync(confinedEntry(under(root, parentRel)), { throwIfNoEntry: false });
    } catch {
      // confined: a folder above it stopped being a folder since the previous step
      throw new HindsightError(
        'bad-path',
        `"${printable(rel.toString('utf8'))}" changed while Hindsight checked it; nothing was written`,
      );
    }
    if (!st) {
      missing.push(parentRel);
      continue;
    }
    if (!st.isDirectory()) {
      throw new HindsightError(
        'bad-path',
        `"${printable(rel.toString('utf8'))}" goes through "${printable(parentRel.toString('utf8'))}", which is ${st.isSymbolicLink() ? 'a symlink' : 'not a folder'}; Hindsight does not write through it`,
      );
    }
    existing++;
  }
  return { existing, missing };
}

/** Whether a path's parents are all real folders (for reading: anything else reads as absent). */
export function parentsAreFolders(root: string, rel: Buffer): boolean {
  try {
    return walkParents(root, rel).missing.length === 0;
  } catch {
    return false;
  }
}

/**
 * The writable /etc of a deployment: the live /etc for the booted one on the running system,
 * otherwise the deployment's own folder. The sysroot's `ostree` folder is resolved once, because a
 * booted system reaches it through a link (`/ostree` -> `sysroot/ostree`); from there down to the
 * deployment's etc, no component may be a link.
 */
export function deploymentEtc(report: StatusReport, d: Deployment): string {
  let expected = '/etc';
  if (!(d.booted && report.bootedSystem)) {
    let physicalSysroot: string;
    try {
      physicalSysroot = dirname(realpathSync(join(report.sysroot, 'ostree')));
    } catch {
      throw new HindsightError('not-a-sysroot', `${report.sysroot} has no ostree folder`);
    }
    expected = join(deploymentPath(physicalSysroot, d), 'etc');
  }
  let real: string;
  try {
    real = realpathSync(expected);
  } catch {
    throw new HindsightError('no-such-deployment', `deployment ${d.index} has no /etc folder (${expected})`);
  }
  if (real !== expected) {
    throw new HindsightError(
      'refused',
      `${expected} resolves to ${real}; Hindsight only writes a deployment's own /etc`,
    );
  }
  confineTree(expected);
  return expected;
}
