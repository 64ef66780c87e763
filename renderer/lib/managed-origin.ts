import type { Deployment } from '../../shared/types.ts';
import { plural } from './format.ts';

type ManagedTool = NonNullable<Deployment['managedBy']>;
type OriginFacts = Pick<Deployment, 'managedBy' | 'layeredPackages' | 'imageReference'>;

/** The command that updates a deployment its own tool owns (the one the helper's refusal names). */
export function updateCommand(tool: ManagedTool): string {
  return tool === 'rpm-ostree' ? 'rpm-ostree upgrade' : 'bootc upgrade';
}

/**
 * Why the app offers no update for a deployment rpm-ostree or bootc owns, in one line that names the
 * tool; null on plain OSTree. The helper refuses upgrade and deploy there (ostree admin would drop the
 * layered packages, or cannot pull the image), so offering them would only lead to that refusal.
 */
export function managedUpdateReason(d: OriginFacts | null | undefined): string | null {
  if (!d?.managedBy) return null;
  const command = updateCommand(d.managedBy);
  if (d.managedBy === 'bootc') {
    return `bootc manages this system's container image; update it with ${command}.`;
  }
  const what = d.layeredPackages.length
    ? `and its ${plural(d.layeredPackages.length, 'layered package')}`
    : 'and its changes to the base image';
  return `rpm-ostree manages this system ${what}; update it with ${command}.`;
}

/**
 * Layered packages for a compact list, each once: the first `shown`, the rest folded (never a fold of
 * one: its button would take the room of the name it hides).
 */
export function foldPackages(
  packages: readonly string[],
  shown = 6,
): { visible: string[]; folded: string[] } {
  const unique = [...new Set(packages)];
  if (unique.length <= shown + 1) return { visible: unique, folded: [] };
  return { visible: unique.slice(0, shown), folded: unique.slice(shown) };
}
