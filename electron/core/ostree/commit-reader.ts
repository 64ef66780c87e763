import { HindsightError } from '../../../shared/errors.ts';
import type { TreeReader } from '../packages/changelog.ts';
import {
  childNode,
  contentMode,
  loadDirTree,
  readCommitFile,
  readFileMeta,
  type TreeNode,
} from './commit-file.ts';
import { readCommitObject } from './commit-object.ts';

/**
 * A commit's files as a TreeReader (packages/changelog.ts), for a commit that is not checked out:
 * an update the check downloaded, or any commit of the repository's history. Links are followed the
 * way a chroot into the commit would follow them (an absolute target starts at the commit's root),
 * because Debian's doc folders are links to other packages' folders; nothing outside the commit is
 * ever reached.
 */

const MAX_LINKS = 40;
/** What a reader reads whole to give the first bytes of: changelogs and package databases fit. */
const READ_WHOLE = 64 * 1024 * 1024;

/** `relPath` with every link resolved inside the commit, or null when a component is missing. */
function resolveInCommit(repo: string, checksum: string, relPath: string): string | null {
  const commit = readCommitObject(repo, checksum);
  const mode = contentMode(repo);
  const pending = relPath.split('/').filter((c) => c !== '' && c !== '.');
  pending.reverse();
  // The folders walked so far, root first, so that `..` can step back up.
  const done: { name: string; node: TreeNode }[] = [];
  const root: TreeNode = { kind: 'dir', tree: commit.rootTree, meta: commit.rootMeta };
  let links = 0;
  while (pending.length > 0) {
    const part = pending.pop() as string;
    if (part === '..') {
      done.pop();
      continue;
    }
    const here = done.at(-1)?.node ?? root;
    if (here.kind !== 'dir') return null;
    const child = childNode(loadDirTree(repo, here.tree), part);
    if (!child) return null;
    if (child.kind === 'file') {
      const meta = readFileMeta(repo, mode, child.checksum);
      if (meta.type === 'symlink') {
        if (++links > MAX_LINKS) return null;
        const target = meta.target ?? '';
        if (target.startsWith('/')) done.length = 0;
        const parts = target.split('/').filter((c) => c !== '' && c !== '.');
        for (let i = parts.length - 1; i >= 0; i--) pending.push(parts[i] as string);
        continue;
      }
    }
    done.push({ name: part, node: child });
  }
  return done.map((d) => d.name).join('/');
}

export function commitReader(repo: string, checksum: string): TreeReader {
  return {
    name: `commit ${checksum.slice(0, 10)}`,
    readFile(relPath, maxBytes) {
      let resolved: string | null;
      try {
        resolved = resolveInCommit(repo, checksum, relPath);
      } catch (error) {
        // A commit whose objects are not all here (an update checked, not downloaded) has no such file yet.
        if (error instanceof HindsightError) return null;
        throw error;
      }
      if (!resolved) return null;
      try {
        // Objects are read whole (a bare object is one file, an archive one is compressed whole), so
        // the file may be somewhat larger than asked; far larger ones are not read at all.
        const file = readCommitFile(repo, checksum, resolved, { maxSize: Math.max(maxBytes, READ_WHOLE) });
        if (file.meta.type !== 'file' || !file.content) return null;
        return file.content.subarray(0, maxBytes);
      } catch (error) {
        if (error instanceof HindsightError) return null;
        throw error;
      }
    },
  };
}
