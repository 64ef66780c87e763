import { HindsightError } from '../../shared/errors.ts';
import type { EtcFileSide, EtcFileView, EtcPath, FileMeta, StatusReport } from '../../shared/types.ts';
import { etcRoots, lineHunks } from '../core/etc/etc-drift.ts';
import { analyzeMerge, withUpstreamEtc } from '../core/etc/etc-merge.ts';
import {
  encodeEtcPath,
  lstatNode,
  type NodeInfo,
  printablePath,
  readText,
  requireEtcRoot,
} from '../core/etc/etc-tree.ts';
import { resolveDeployment, resolveSnapshot } from '../core/ostree/selectors.ts';
import { parentsAreFolders, requestPathBytes, under } from './etc-paths.ts';

/**
 * One /etc path of a deployment, side by side: the image default (base), this deployment's file
 * (local) and, given a target, the target image's default (upstream) with the three-way analysis.
 * Paths are confined like writes: a parent that is not a real folder reads as absent.
 */

function meta(node: NodeInfo): FileMeta {
  const out: FileMeta = { type: node.type, mode: node.mode, uid: node.uid, gid: node.gid, size: node.size };
  if (node.target !== undefined) out.target = node.target;
  return out;
}

/** One path of a tree as a view side: absent when a parent is not a real folder (never followed). */
export function fileSide(root: string, rel: Buffer): EtcFileSide {
  if (!parentsAreFolders(root, rel)) return { meta: null, content: 'none' };
  const path = under(root, rel);
  const node = lstatNode(path);
  if (!node) return { meta: null, content: 'none' };
  const read = readText(path, node);
  const out: EtcFileSide = { meta: meta(node), content: read.kind };
  if (read.text !== undefined) out.text = read.text;
  return out;
}

export async function etcFile(
  report: StatusReport,
  params: { deployment: string; path: EtcPath; target?: string },
): Promise<EtcFileView> {
  const deployment = resolveDeployment(report, params.deployment);
  const rel = requestPathBytes(params.path);
  const roots = etcRoots(report.sysroot, deployment);
  // A missing /etc folder is an error, not a file that is absent from it.
  requireEtcRoot(roots.base);
  requireEtcRoot(roots.local);
  const base = fileSide(roots.base, rel);
  const local = fileSide(roots.local, rel);
  const view: EtcFileView = { ...encodeEtcPath(rel), base, local };
  const asText = (s: EtcFileSide): string | null =>
    s.meta === null ? '' : s.content === 'text' ? (s.text ?? '') : null;
  const before = asText(base);
  const after = asText(local);
  if (before !== null && after !== null && before !== after) view.hunks = lineHunks(before, after);
  if (params.target !== undefined) {
    const target = resolveSnapshot(report, params.target);
    await withUpstreamEtc(report, target, (upstreamRoot) => {
      view.upstream = fileSide(upstreamRoot, rel);
      const key = rel.toString('latin1');
      const match = analyzeMerge({ ...roots, upstream: upstreamRoot }).find((f) => {
        const bytes = f.pathBase64 !== undefined ? Buffer.from(f.pathBase64, 'base64') : Buffer.from(f.path);
        return bytes.toString('latin1') === key;
      });
      if (match) view.merge = match;
    });
  }
  if (!base.meta && !local.meta && !view.upstream?.meta) {
    throw new HindsightError(
      'bad-path',
      `"${printablePath(rel)}" is not in /etc of deployment ${deployment.index}${params.target !== undefined ? ' nor in the target image' : ''}`,
    );
  }
  return view;
}
