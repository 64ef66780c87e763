import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HindsightError } from '../../../shared/errors.ts';
import type {
  EtcMergeFile,
  EtcMergeReport,
  MergeFlag,
  OstreeOutcome,
  SideStatus,
  StatusReport,
} from '../../../shared/types.ts';
import { confineTree } from '../confined-fs.ts';
import { commitIsPartial } from '../ostree/commit-object.ts';
import { ostree } from '../ostree/ostree-cli.ts';
import { resolveDeployment, resolveSnapshot, type SnapshotTarget } from '../ostree/selectors.ts';
import { repoPath } from '../ostree/sysroot.ts';
import {
  type AccountContext,
  isAccountDatabase,
  mergeAccountDatabase,
  systemNames,
} from './account-merge.ts';
import { newBaseTreeMemo } from './base-tree.ts';
import { etcRoots, nodeChanges, scanDrift } from './etc-drift.ts';
import { absolute, compareBytes, encodeEtcPath, lstatNode, type NodeInfo, readText } from './etc-tree.ts';
import { mergeLines, type TextMerge } from './line-merge.ts';

/** Three trees of one merge: the source's default and local /etc, and the target's default /etc. */
export interface MergeRoots {
  base: string;
  local: string;
  upstream: string;
}

function sideStatus(
  base: NodeInfo | null,
  side: NodeInfo | null,
  basePath: Buffer,
  sidePath: Buffer,
): SideStatus {
  if (!base && !side) return 'absent';
  if (!base) return 'added';
  if (!side) return 'removed';
  return nodeChanges(basePath, base, sidePath, side).length ? 'modified' : 'unchanged';
}

const changed = (s: SideStatus): boolean => s === 'added' || s === 'modified';

/** What OSTree's whole-file rule does with one path: local changes are copied over whole, local wins. */
function ostreeOutcome(
  local: SideStatus,
  upstream: SideStatus,
  l: NodeInfo | null,
  u: NodeInfo | null,
): OstreeOutcome {
  if (local === 'removed') return 'deleted';
  if (changed(local)) {
    if (l && l.type !== 'directory' && u?.type === 'directory') return 'refused';
    return 'kept-local';
  }
  return upstream === 'unchanged' || upstream === 'absent' ? 'unchanged' : 'took-upstream';
}

function textMerge(
  relText: string,
  base: string,
  local: string,
  upstream: string,
  accounts: () => AccountContext,
): TextMerge & { strategy: 'lines' | 'entries'; restored?: string[] } {
  if (isAccountDatabase(relText))
    return { ...mergeAccountDatabase(relText, base, local, upstream, accounts()), strategy: 'entries' };
  return { ...mergeLines(base, local, upstream), strategy: 'lines' };
}

/** System account and group names of the new image (its passwd and group), read once per analysis. */
function imageAccounts(upstreamRoot: string): () => AccountContext {
  let known: AccountContext | null = null;
  const names = (file: string): Set<string> => {
    const path = absolute(upstreamRoot, Buffer.from(file));
    const read = readText(path, lstatNode(path));
    return read.kind === 'text' ? systemNames(read.text ?? '') : new Set();
  };
  return () => {
    known ??= { users: names('passwd'), groups: names('group') };
    return known;
  };
}

/** The three-way analysis of every path that either side changed. */
export function analyzeMerge(roots: MergeRoots): EtcMergeFile[] {
  const paths = new Map<string, Buffer>();
  // One read of the base tree serves both scans, and the scans' lstat of base serves below.
  const memo = newBaseTreeMemo();
  const baseNodes = new Map<string, NodeInfo | null>();
  for (const raw of [
    ...scanDrift(roots.base, roots.local, memo),
    ...scanDrift(roots.base, roots.upstream, memo),
  ]) {
    const key = raw.rel.toString('latin1');
    paths.set(key, raw.rel);
    baseNodes.set(key, raw.base);
  }
  const files: EtcMergeFile[] = [];
  const accounts = imageAccounts(roots.upstream);
  for (const rel of [...paths.values()].sort(compareBytes)) {
    const bPath = absolute(roots.base, rel);
    const lPath = absolute(roots.local, rel);
    const uPath = absolute(roots.upstream, rel);
    const known = baseNodes.get(rel.toString('latin1'));
    const b = known === undefined ? lstatNode(bPath) : known;
    const l = lstatNode(lPath);
    const u = lstatNode(uPath);
    const local = sideStatus(b, l, bPath, lPath);
    const upstream = sideStatus(b, u, bPath, uPath);
    // Directories matter only where a type is at stake; their contents are listed path by path.
    const nodes = [b, l, u].filter((n): n is NodeInfo => n !== null);
    if (nodes.every((n) => n.type === 'directory')) continue;
    const outcome = ostreeOutcome(local, upstream, l, u);
    const flags: MergeFlag[] = [];
    if (outcome === 'refused') flags.push('type-conflict');
    if (local === 'removed' && upstream === 'modified') flags.push('deleted-but-changed-upstream');
    if (outcome === 'kept-local' && changed(upstream) && l && u && nodeChanges(lPath, l, uPath, u).length) {
      flags.push('upstream-hidden');
    }
    const file: EtcMergeFile = {
      ...encodeEtcPath(rel),
      local,
      upstream,
      ostree: outcome,
      merge: 'none',
      strategy: 'none',
      flags,
    };
    const bothChanged = changed(local) && changed(upstream);
    const deleteVersusChange =
      (local === 'removed' && upstream === 'modified') || (upstream === 'removed' && local === 'modified');
    // An account database only you changed may still lack system accounts the image ships (lost
    // in an earlier whole-file merge): it is merged by entry too, and kept as OSTree would when
    // nothing needs restoring.
    const accountsOnlyLocal =
      changed(local) && upstream === 'unchanged' && isAccountDatabase(file.path) && l?.type === 'file';
    if (deleteVersusChange) file.merge = 'conflict';
    else if (bothChanged || accountsOnlyLocal) {
      const texts = [
        b ? readText(bPath, b) : { kind: 'text' as const, text: '' },
        readText(lPath, l),
        readText(uPath, u),
      ];
      if (texts.every((t) => t.kind === 'text')) {
        const result = textMerge(
          file.path,
          texts[0]?.text ?? '',
          texts[1]?.text ?? '',
          texts[2]?.text ?? '',
          accounts,
        );
        if (bothChanged || result.restored?.length) {
          file.strategy = result.strategy;
          file.merge = result.conflicts.length ? 'conflict' : 'clean';
          file.merged = result.merged;
          if (result.conflicts.length) file.conflicts = result.conflicts;
          if (result.restored?.length) {
            file.restored = result.restored;
            flags.push('missing-system-accounts');
          }
        }
      } else if (bothChanged) file.merge = 'not-text';
    }
    files.push(file);
  }
  return files;
}

/** Checks out only `/usr/etc` of a commit that is not deployed, into a private temporary folder. */
async function checkoutCommitEtc(repo: string, checksum: string): Promise<{ dir: string; dispose(): void }> {
  const parent = mkdtempSync(join(tmpdir(), 'hindsight-etc-'));
  const dir = join(parent, 'etc');
  const dispose = (): void => rmSync(parent, { recursive: true, force: true });
  try {
    const userMode = process.getuid?.() !== 0 ? ['-U'] : [];
    await ostree(['checkout', `--repo=${repo}`, '--subpath=/usr/etc', ...userMode, checksum, dir]);
  } catch (error) {
    dispose();
    throw error;
  }
  return { dir, dispose };
}

export async function withUpstreamEtc<T>(
  report: StatusReport,
  target: SnapshotTarget,
  use: (upstreamRoot: string) => T | Promise<T>,
): Promise<T> {
  if (target.kind === 'deployment') return use(etcRoots(report.sysroot, target.deployment).base);
  if (commitIsPartial(repoPath(report.sysroot), target.ref.checksum)) {
    const name = target.ref.version ?? target.ref.checksum.slice(0, 10);
    throw new HindsightError(
      'not-downloaded',
      `${name} is not downloaded yet: only its package list is known. Its /etc can be compared once it is downloaded (Updates, or hindsight upgrade)`,
    );
  }
  const checkout = await checkoutCommitEtc(repoPath(report.sysroot), target.ref.checksum);
  try {
    confineTree(checkout.dir);
    return await use(checkout.dir);
  } finally {
    checkout.dispose();
  }
}

/** `hindsight etc merge SOURCE TARGET`: what happens to the source's /etc edits on the way to the target. */
export async function etcMerge(
  report: StatusReport,
  sourceSelector: string,
  targetSelector: string,
): Promise<EtcMergeReport> {
  const source = resolveDeployment(report, sourceSelector);
  const target = resolveSnapshot(report, targetSelector);
  const { base, local } = etcRoots(report.sysroot, source);
  const files = await withUpstreamEtc(report, target, (upstream) => analyzeMerge({ base, local, upstream }));
  return {
    source,
    target: {
      ...target.ref,
      deployed: target.kind === 'deployment',
      staged: target.kind === 'deployment' && target.deployment.staged,
    },
    files,
  };
}
