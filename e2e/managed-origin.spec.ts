import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Locator } from '@playwright/test';
import { type Deployed, expect, hindsightPerFile, ostreeDeployments, test } from './support/hindsight.ts';

/**
 * Deployments whose origin rpm-ostree or bootc wrote: the demo's origin files are rewritten the way
 * those tools write them (rpm-ostree swaps `refspec` for `baserefspec` and lists layered packages;
 * a container image is `container-image-reference`). The Deployments screen shows the tool, the image
 * and the packages, and offers no update, saying which tool updates the system.
 */

const hs = hindsightPerFile();

const LAYERED = ['htop', 'vim-enhanced', 'git', 'tmux', 'strace', 'jq', 'ripgrep', 'fish'];
const IMAGE = 'ostree-unverified-registry:quay.io/fedora/fedora-coreos:stable';

/** Writes a deployment's origin file (beside its folder; lifted from immutable only if it is). */
function writeOrigin(d: Deployed, text: string): void {
  const file = join(hs.demo.sysroot, 'ostree/deploy/debian/deploy', `${d.checksum}.${d.serial}.origin`);
  try {
    writeFileSync(file, text);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') throw error;
    execFileSync('chattr', ['-i', file]);
    writeFileSync(file, text);
    execFileSync('chattr', ['+i', file]);
  }
}

/** The "Managed by" entry of a deployment card. */
const managedBy = (card: Locator): Locator =>
  card.locator('dl > div', { has: card.page().getByText('Managed by', { exact: true }) }).locator('dd');

test('rpm-ostree and bootc deployments show their tool, image and layered packages; no update is offered', async () => {
  const { page } = hs;
  const [next, rollback] = ostreeDeployments(hs.demo.sysroot);
  if (!next || !rollback) throw new Error('the demo has fewer than two deployments');
  writeOrigin(
    next,
    `[origin]\nbaserefspec=demo:debian/bookworm/desktop\n\n[packages]\nrequested=${LAYERED.join(';')};\n`,
  );
  writeOrigin(rollback, `[origin]\ncontainer-image-reference=${IMAGE}\n`);
  await hs.reload();
  await hs.go('deployments');

  const layered = page.getByRole('article', { name: /3\.0/ });
  await expect(managedBy(layered)).toHaveText(/^rpm-ostree\s*updated with rpm-ostree upgrade$/);
  await expect(layered.getByText(`Layered packages (${LAYERED.length})`)).toBeVisible();
  const packages = layered.getByRole('listitem');
  await expect(packages).toHaveText(LAYERED.slice(0, 6));
  await layered.getByRole('button', { name: 'and 2 more' }).click();
  await expect(packages).toHaveText(LAYERED);
  await expect(layered.getByRole('button', { name: 'Show fewer' })).toHaveAttribute('aria-expanded', 'true');

  const image = page.getByRole('article', { name: /2\.0/ });
  await expect(image.getByText('Image', { exact: true })).toBeVisible();
  await expect(image.getByText('quay.io/fedora/fedora-coreos:stable', { exact: false })).toBeVisible();
  await expect(managedBy(image)).toHaveText(/^bootc\s*updated with bootc upgrade$/);

  // The system (the next boot here) is rpm-ostree's: no check, no update, one line naming the tool.
  const status = page.getByRole('region', { name: 'Update status' });
  await expect(status).toContainText('Updates come from rpm-ostree');
  await expect(status).toContainText(
    `rpm-ostree manages this system and its ${LAYERED.length} layered packages; update it with rpm-ostree upgrade.`,
  );
  await expect(status.getByRole('button')).toHaveCount(0);

  await hs.go('updates');
  await expect(page.getByRole('region', { name: 'Update status' })).toContainText(
    'Updates come from rpm-ostree',
  );
  await expect(page.getByRole('button', { name: /Download and stage/ })).toHaveCount(0);
});
