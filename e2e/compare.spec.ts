import {
  expect,
  hindsightCli,
  hindsightPerFile,
  ostreeDeployments,
  selectorOf,
  test,
} from './support/hindsight.ts';

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
  // The same counts as `hindsight files diff` of the two.
  const files = JSON.parse(
    hindsightCli(hs.demo, ['files', 'diff', selectorOf(rollback), selectorOf(next), '--json']),
  ) as { counts: { added: number; removed: number; modified: number } };
  const { added, removed, modified } = files.counts;
  await expect(
    page.getByText(`Whole tree: ${added} files added, ${removed} removed, ${modified} modified`),
  ).toBeVisible();
  await expect(page.getByRole('heading', { name: /Upgraded\s*38/ })).toBeVisible();
  await expect(page.getByRole('listitem').filter({ hasText: 'base-files' })).toContainText('amd64');
  await expect(page.getByText(/^#\d+$/)).toHaveCount(0);
});

test('the Files tab lists the changed paths of the same pair; a new pair closes the open path', async () => {
  const { page } = hs;
  await page.getByRole('radio', { name: 'Files' }).check();
  const tree = page.getByRole('tree', { name: 'Changed files from 2.0 to 3.0' });
  await tree.getByRole('treeitem', { name: /^motd/ }).click();
  await expect(page.getByRole('region', { name: 'Changes to /usr/etc/motd' })).toBeVisible();
  await expect(page).toHaveURL(/path=usr(%2F|\/)etc(%2F|\/)motd/);
  await page.getByRole('button', { name: 'Swap the two sides' }).click();
  await expect(page.getByRole('tree', { name: 'Changed files from 3.0 to 2.0' })).toBeVisible();
  await expect(page.getByText('Choose a path')).toBeVisible();
  await page.getByRole('button', { name: 'Swap the two sides' }).click();
  await page.getByRole('radio', { name: 'Packages' }).check();
  await expect(page.getByRole('list', { name: 'Package changes', exact: true })).toContainText('38 upgraded');
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
  await page.getByRole('button', { name: 'Use', exact: true }).click();
  await expect(page.getByRole('alert')).toContainText('Enter a commit checksum');
  await page.getByLabel('To (newer): commit checksum or ref').fill(next.checksum.slice(0, 12));
  await page.getByRole('button', { name: 'Use', exact: true }).click();
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
  await expect(
    page.getByText('Changelogs, and the CVEs they name, are read once the update is downloaded.'),
  ).toBeVisible();
  await expect(page.getByRole('alert')).toHaveCount(0);
  await expect(page.getByText(/file object|metadata object/i)).toHaveCount(0);
  // Its files are not in the repository yet: said as such, not as an error.
  await page.getByRole('radio', { name: 'Files' }).check();
  await expect(page.getByText('Its files are known once it is downloaded')).toBeVisible();
  await expect(page.getByRole('alert')).toHaveCount(0);
  await page.getByRole('radio', { name: 'Packages' }).check();
});
