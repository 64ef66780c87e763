import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { expectAccessible } from './support/axe.ts';
import {
  deploymentEtc,
  expect,
  hindsightCli,
  hindsightPerFile,
  SCREENSHOTS,
  selectorOf,
  test,
  version,
} from './support/hindsight.ts';

/**
 * Compare → Files (ostree diff's view of two deployments, each file's diff, Restore of an /etc default
 * from the image's usr/etc), the changelogs under the package delta's changed rows, and History's Undo
 * of such a restore. On the real demo sysroot, checked on disk.
 */

const hs = hindsightPerFile();

const LOOKS = [
  { width: 1400, height: 900, scheme: 'light' },
  { width: 800, height: 600, scheme: 'dark' },
] as const;

/** Both window sizes and schemes: `key` in the window, nothing sideways, axe clean, a screenshot kept. */
async function look(page: Page, name: string, key: () => ReturnType<Page['getByRole']>): Promise<void> {
  for (const l of LOOKS) {
    await page.setViewportSize({ width: l.width, height: l.height });
    await page.emulateMedia({ colorScheme: l.scheme, reducedMotion: 'reduce' });
    const control = key();
    await control.scrollIntoViewIfNeeded();
    await expect(control).toBeInViewport({ ratio: 1 });
    const overflow = (await page.evaluate(
      'document.documentElement.scrollWidth - document.documentElement.clientWidth',
    )) as number;
    expect(overflow, `${name} at ${l.width}×${l.height} scrolls sideways`).toBeLessThanOrEqual(0);
    await page.mouse.move(1, 1);
    await page.waitForTimeout(250);
    await page.screenshot({ path: join(SCREENSHOTS, `${name}-${l.width}x${l.height}-${l.scheme}.png`) });
    await expectAccessible(page, `${name} at ${l.width}×${l.height} ${l.scheme}`);
  }
  await page.setViewportSize({ width: 1400, height: 900 });
  await page.emulateMedia({ colorScheme: 'light' });
}

interface CliFiles {
  entries: { path: string; status: string }[];
  counts: { added: number; removed: number; modified: number };
}
interface CliChangelogs {
  changelogs: {
    packages: {
      name: string;
      direction: string;
      changelog: { entries: { version: string | null; text: string }[]; cves: string[] } | null;
    }[];
    cvesFixed: string[];
    cvesLost: string[];
  };
}
/** What the CLI reads of the same two deployments: the screen must say the same. */
const cli = <T>(args: string[]): T => JSON.parse(hindsightCli(hs.demo, [...args, '--json'])) as T;

const etcOf3 = (file: string) => readFileSync(join(deploymentEtc(hs.demo, version(hs, '3.0')), file), 'utf8');
const defaultOf3 = (file: string) =>
  readFileSync(join(deploymentEtc(hs.demo, version(hs, '3.0')), '..', 'usr', 'etc', file), 'utf8');

test('Files lists what ostree diff lists, as a tree with counts, painted soon after the click', async () => {
  const { page } = hs;
  await hs.go('compare', { from: selectorOf(version(hs, '2.0')), to: selectorOf(version(hs, '3.0')) });
  await expect(page.getByRole('list', { name: 'Package changes', exact: true })).toContainText('38 upgraded');
  // Time from the click to the first frame with the tree in it, measured in the page.
  await page.evaluate(`(() => {
    window.__filesPaint = new Promise((resolve) => {
      document.addEventListener('click', () => {
        const t0 = performance.now();
        const check = () =>
          document.querySelector('[role=tree]') ? resolve(performance.now() - t0) : requestAnimationFrame(check);
        requestAnimationFrame(check);
      }, { capture: true, once: true });
    });
  })()`);
  await page.getByRole('radio', { name: 'Files' }).check();
  const tree = page.getByRole('tree', { name: 'Changed files from 2.0 to 3.0' });
  await expect(tree).toBeVisible();
  const ms = (await page.evaluate('window.__filesPaint')) as number;
  console.log(`Compare → Files painted the tree ${ms.toFixed(0)} ms after the click`);
  test.info().annotations.push({ type: 'files-paint-ms', description: ms.toFixed(0) });
  await expect(page).toHaveURL(/tab=files/);

  const files = cli<CliFiles>([
    'files',
    'diff',
    selectorOf(version(hs, '2.0')),
    selectorOf(version(hs, '3.0')),
  ]);
  const { added, removed, modified } = files.counts;
  const all = files.entries.length;
  const show = page.getByRole('combobox', { name: 'Show' });
  await expect(show.locator('option')).toHaveText([
    `All (${all})`,
    `Changed (${modified})`,
    `Added (${added})`,
    `Removed (${removed})`,
  ]);
  await expect(page.getByText(`${all} changed paths`, { exact: true })).toBeVisible();
  // Folders that are only context carry the number of changed paths under them.
  await expect(tree.getByRole('treeitem', { name: new RegExp(`^usr\\s*${all}$`) })).toBeVisible();
  await page.getByRole('searchbox', { name: 'Filter paths' }).fill('modules');
  const inModules = files.entries.filter((e) => e.path.includes('modules')).length;
  await expect(page.getByText(`${inModules} of ${all} changed paths`)).toBeVisible();
  await page.getByRole('searchbox', { name: 'Filter paths' }).fill('');
  await show.selectOption('removed');
  await expect(tree.getByRole('treeitem', { name: /6\.1\.0-31-amd64/ })).toBeVisible();
  await expect(tree.getByRole('treeitem', { name: /6\.1\.0-32-amd64/ })).toHaveCount(0);
  await show.selectOption('all');
});

test('a changed file shows its line diff, side by side or unified', async () => {
  const { page } = hs;
  const tree = page.getByRole('tree', { name: 'Changed files from 2.0 to 3.0' });
  await tree.getByRole('treeitem', { name: /^hosts/ }).click();
  const detail = page.getByRole('region', { name: '/usr/etc/hosts' });
  await expect(detail.getByRole('heading', { name: '/usr/etc/hosts' })).toBeVisible();
  await expect(detail.getByText(/In 2\.0/)).toBeVisible();
  const diff = detail.getByRole('region', { name: 'Changes to /usr/etc/hosts' });
  await expect(diff).toBeVisible();
  await detail.getByRole('radio', { name: 'Unified' }).check();
  await expect(diff).toContainText(/added:/);
  await detail.getByRole('radio', { name: 'Side by side' }).check();
  await look(page, 'files-1-compare-files', () =>
    detail.getByRole('button', { name: 'Restore /etc/hosts of 3.0 to this image default' }),
  );
});

test('a file outside usr/etc offers no restore; a folder says only its properties are compared', async () => {
  const { page } = hs;
  const tree = page.getByRole('tree', { name: 'Changed files from 2.0 to 3.0' });
  await tree.getByRole('treeitem', { name: /^os-release/ }).click();
  const detail = page.getByRole('region', { name: '/usr/lib/os-release' });
  await expect(detail.getByRole('region', { name: 'Changes to /usr/lib/os-release' })).toContainText('3.0');
  await expect(detail.getByRole('button', { name: /Restore/ })).toHaveCount(0);
  await tree.getByRole('treeitem', { name: /^6\.1\.0-31-amd64/ }).click();
  await expect(
    page.getByRole('region', { name: '/usr/lib/modules/6.1.0-31-amd64' }).getByText(/A folder/),
  ).toBeVisible();
});

test('Restore puts 3.0’s /etc/hosts back to its image default on one click, and Undo brings it back', async () => {
  const { page } = hs;
  const before = etcOf3('hosts');
  expect(before).not.toBe(defaultOf3('hosts'));
  await page
    .getByRole('tree', { name: 'Changed files from 2.0 to 3.0' })
    .getByRole('treeitem', { name: /^hosts/ })
    .click();
  await page.getByRole('button', { name: 'Restore /etc/hosts of 3.0 to this image default' }).click();
  const toast = page
    .getByRole('status')
    .filter({ hasText: '/etc/hosts of 3.0 is back to the image’s version' });
  await expect(toast).toBeVisible({ timeout: 30_000 });
  expect(etcOf3('hosts')).toBe(defaultOf3('hosts'));
  await toast.getByRole('button', { name: 'Undo' }).click();
  await expect.poll(() => etcOf3('hosts'), { timeout: 30_000 }).toBe(before);
});

test('History says what a restore did and offers its Undo', async () => {
  const { page } = hs;
  const before = etcOf3('default/grub');
  await hs.go('compare', {
    from: selectorOf(version(hs, '2.0')),
    to: selectorOf(version(hs, '3.0')),
    tab: 'files',
    path: 'usr/etc/default/grub',
  });
  await page.getByRole('button', { name: 'Restore /etc/default/grub of 3.0 to this image default' }).click();
  await expect(page.getByRole('status').filter({ hasText: '/etc/default/grub of 3.0 is back' })).toBeVisible({
    timeout: 30_000,
  });
  expect(etcOf3('default/grub')).toBe(defaultOf3('default/grub'));
  await hs.go('history');
  const records = page.getByRole('region', { name: 'History records, newest first' });
  const row = records.getByRole('listitem').filter({
    hasText: 'Restored /etc/default/grub of 3.0 to the image default',
  });
  await expect(row).toBeVisible({ timeout: 30_000 });
  await row.getByRole('button', { name: 'Undo' }).click();
  await expect.poll(() => etcOf3('default/grub'), { timeout: 30_000 }).toBe(before);
});

test('a changed package’s row opens its changelog entries, as the package ships them', async () => {
  const { page } = hs;
  await hs.go('compare', { from: selectorOf(version(hs, '2.0')), to: selectorOf(version(hs, '3.0')) });
  // The last test's toast goes first: the screenshots below show the list, not it.
  await expect(page.getByRole('status').filter({ hasText: /Put back/ })).toHaveCount(0, { timeout: 15_000 });
  const logs = cli<CliChangelogs>([
    'packages',
    'diff',
    selectorOf(version(hs, '2.0')),
    selectorOf(version(hs, '3.0')),
    '--changelogs',
  ]).changelogs;
  const list = page.getByRole('region', { name: /Package changes from 2\.0 to 3\.0, scrollable/ });
  const search = page.getByRole('searchbox', { name: 'Search packages' });
  // One with CVEs when the demo's packages carry changelogs, else any upgrade.
  const up =
    logs.packages.find((p) => p.direction === 'upgrade' && (p.changelog?.cves.length ?? 0) > 0) ??
    logs.packages.find((p) => p.direction === 'upgrade');
  if (!up) throw new Error('the demo upgrades packages');
  await search.fill(up.name);
  const row = list.getByRole('button', { name: up.name, exact: true });
  await expect(row).toHaveAttribute('aria-expanded', 'false');
  await row.click();
  await expect(row).toHaveAttribute('aria-expanded', 'true');
  const panel = page.locator(`[id="${await row.getAttribute('aria-controls')}"]`);
  if (up.changelog) {
    const first = up.changelog.entries[0];
    if (first?.version) await expect(panel).toContainText(first.version);
    const line = first?.text
      .split('\n')
      .find((l) => l.trim().length > 8)
      ?.trim();
    if (line) await expect(panel).toContainText(line);
    for (const cve of up.changelog.cves) await expect(panel.getByText(cve, { exact: true })).toBeVisible();
    if (up.changelog.cves.length)
      await expect(list.getByText(`${up.changelog.cves.length} CVE`, { exact: false }).first()).toBeVisible();
  } else {
    await expect(panel).toContainText('No changelog in the package.');
  }
  await look(page, 'files-2-changelog', () => row);
  await row.click();
  await expect(row).toHaveAttribute('aria-expanded', 'false');

  const down = logs.packages.find((p) => p.direction === 'downgrade');
  if (!down) throw new Error('the demo downgrades tzdata');
  await search.fill(down.name);
  const downRow = list.getByRole('button', { name: down.name, exact: true });
  await downRow.press('Enter');
  await expect(downRow).toHaveAttribute('aria-expanded', 'true');
  const downPanel = page.locator(`[id="${await downRow.getAttribute('aria-controls')}"]`);
  await expect(downPanel).toContainText(
    down.changelog ? /Going back from .* loses/ : 'so what going back loses is not known',
  );
  await downRow.press('Enter');
  await search.fill('');
});

test('the summary counts the CVEs the changelogs name, and Security fixes shows only those packages', async () => {
  const { page } = hs;
  const logs = cli<CliChangelogs>([
    'packages',
    'diff',
    selectorOf(version(hs, '2.0')),
    selectorOf(version(hs, '3.0')),
    '--changelogs',
  ]).changelogs;
  const withCves = logs.packages.filter((p) => (p.changelog?.cves.length ?? 0) > 0);
  const list = page.getByRole('region', { name: /Package changes from 2\.0 to 3\.0, scrollable/ });
  const security = page.getByRole('radio', { name: /Security fixes/ });
  await expect(security).toBeEnabled({ timeout: 30_000 });
  if (logs.cvesFixed.length) {
    const n = logs.cvesFixed.length;
    await expect(page.getByText(`Fixes ${n} ${n === 1 ? 'CVE' : 'CVEs'}`, { exact: true })).toBeVisible();
  }
  await security.check();
  if (!withCves.length) {
    await expect(page.getByText('No security fixes')).toBeVisible();
  } else {
    await expect(list.getByRole('heading', { name: /Added/ })).toHaveCount(0);
    await expect(list.getByRole('button', { name: withCves[0]?.name ?? '-', exact: true })).toBeVisible();
    const without = logs.packages.find((p) => p.direction === 'upgrade' && !p.changelog?.cves.length);
    if (without) await expect(list.getByRole('button', { name: without.name, exact: true })).toHaveCount(0);
  }
  await page.getByRole('radio', { name: /^All/ }).check();
});
