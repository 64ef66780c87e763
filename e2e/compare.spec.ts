import { expect, hindsightPerFile, ostreeDeployments, selectorOf, test } from './support/hindsight.ts';

const hs = hindsightPerFile();

test('by default it compares the rollback with the next boot, grouped with counts', async () => {
  const { page } = hs;
  await hs.go('compare');
  const [next, rollback] = ostreeDeployments(hs.demo.sysroot);
  if (!next || !rollback) throw new Error('the demo has three deployments');
  await expect(page.getByLabel('From (older)')).toHaveValue(selectorOf(rollback));
  await expect(page.getByLabel('To (newer)')).toHaveValue(selectorOf(next));
  const counts = page.getByRole('list', { name: 'Package changes', exact: true });
  await expect(counts).toContainText('38 upgraded');
  await expect(counts).toContainText('1 downgraded');
  await expect(counts).toContainText('1 added');
  await expect(counts).toContainText('0 removed');
  await expect(page.getByText(/Whole tree: 3 files added, 1 removed, 5 modified/)).toBeVisible();
  await expect(page.getByRole('heading', { name: /Upgraded\s*38/ })).toBeVisible();
  await expect(page.getByRole('listitem').filter({ hasText: 'base-files' })).toContainText('amd64');
  await expect(page.getByText(/^#\d+$/)).toHaveCount(0);
});

test('search narrows the list and keeps old → new versions', async () => {
  const { page } = hs;
  await page.getByRole('searchbox', { name: 'Search packages' }).fill('tzdata');
  const list = page.getByRole('region', { name: /Package changes from 2\.0 to 3\.0, scrollable/ });
  await expect(list.getByRole('listitem').filter({ hasText: 'tzdata' })).toContainText('2024a-0+deb12u1');
  await expect(list.getByRole('listitem').filter({ hasText: 'tzdata' })).toContainText('2023c-5');
  await expect(list.getByRole('heading', { name: /Downgraded/ })).toBeVisible();
  await expect(list.getByRole('heading', { name: /Upgraded/ })).toHaveCount(0);
  await page.getByRole('searchbox', { name: 'Search packages' }).press('Escape');
  await page.getByRole('radio', { name: /Added/ }).check();
  await expect(list.getByRole('listitem').filter({ hasText: 'flatpak' })).toBeVisible();
  await page.getByRole('radio', { name: /All/ }).check();
});

test('swapping the sides turns upgrades into downgrades', async () => {
  const { page } = hs;
  await page.getByRole('button', { name: 'Swap the two sides' }).click();
  const counts = page.getByRole('list', { name: 'Package changes', exact: true });
  await expect(counts).toContainText('38 downgraded');
  await expect(counts).toContainText('1 removed');
});

test('any two deployments can be compared, including the oldest', async () => {
  const { page } = hs;
  const [next, , oldest] = ostreeDeployments(hs.demo.sysroot);
  if (!next || !oldest) throw new Error('the demo has three deployments');
  await hs.go('compare', { from: selectorOf(oldest), to: selectorOf(next) });
  await expect(page.getByText(/From 1\.0 .* to 3\.0/)).toBeVisible();
  const counts = page.getByRole('list', { name: 'Package changes', exact: true });
  await expect(counts).toContainText('upgraded');
});

test('a commit that is not a deployment can be typed in', async () => {
  const { page } = hs;
  const [next] = ostreeDeployments(hs.demo.sysroot);
  if (!next) throw new Error('no deployment');
  await page.getByLabel('To (newer)').selectOption({ label: 'Another commit or ref…' });
  await page.getByLabel('To (newer): commit checksum or ref').fill('not a ref!');
  await page.getByRole('button', { name: 'Use' }).click();
  await expect(page.getByRole('alert')).toContainText('Enter a commit checksum');
  await page.getByLabel('To (newer): commit checksum or ref').fill(next.checksum.slice(0, 12));
  await page.getByRole('button', { name: 'Use' }).click();
  await expect(page.getByText(/to 3\.0 \(deployment 0/)).toBeVisible();
});

test('the update not downloaded yet compares by its package list; its files are said to come with it', async () => {
  const { page } = hs;
  await hs.go('compare');
  const to = page.getByLabel('To (newer)', { exact: true });
  const option = to.locator('option', { hasText: 'available update' });
  await expect(option).toHaveCount(1, { timeout: 30_000 });
  await to.selectOption((await option.getAttribute('value')) ?? '');
  const counts = page.getByRole('list', { name: 'Package changes', exact: true });
  await expect(counts).toContainText(/\d+ upgraded/);
  await expect(page.getByText('File changes are known once the update is downloaded.')).toBeVisible();
  await expect(page.getByRole('alert')).toHaveCount(0);
  await expect(page.getByText(/file object|metadata object/i)).toHaveCount(0);
});
