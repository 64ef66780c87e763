import { expect, hindsightPerFile, ostreeDeployments, test } from './support/hindsight.ts';

const hs = hindsightPerFile();

test('the check finds 4.0 and shows its package delta before anything is staged', async () => {
  const { page } = hs;
  await hs.go('updates');
  await expect(page.getByRole('region', { name: 'Update status' })).toContainText(
    'Version 4.0 is available',
    {
      timeout: 30_000,
    },
  );
  const card = page.getByRole('article', { name: 'Version 4.0' });
  await expect(card).toContainText('Hindsight demo image 4.0');
  const counts = card.getByRole('list', { name: 'Package changes', exact: true });
  await expect(counts).toContainText('39 upgraded');
  await expect(counts).toContainText('1 added');
  await expect(card.getByText('File changes are known once the update is downloaded.')).toBeVisible();
  await card.getByRole('searchbox', { name: 'Search packages' }).fill('timesync');
  await expect(card.getByRole('listitem').filter({ hasText: 'systemd-timesyncd' })).toContainText(
    '252.33-1~deb12u1',
  );
  expect(ostreeDeployments(hs.demo.sysroot)).toHaveLength(3);
});

test('staging downloads 4.0, shows progress, and makes it the next boot', async () => {
  const { page } = hs;
  await page.getByRole('button', { name: 'Download and stage 4.0' }).click();
  await expect(page.getByText('The update is ready')).toBeVisible({ timeout: 60_000 });
  const deployments = ostreeDeployments(hs.demo.sysroot);
  expect(deployments[0]?.version).toBe('4.0');
  expect(deployments).toHaveLength(4);
  await expect(page.getByRole('region', { name: 'Update status' })).toContainText('4.0 is deployed');
});

test('the timeline shows the new deployment as the next boot', async () => {
  const { page } = hs;
  await hs.go('deployments');
  const newest = page.getByRole('list', { name: 'Deployments, newest first' }).getByRole('article').first();
  await expect(newest.getByRole('heading', { level: 2 })).toHaveText(/4\.0/);
  await expect(newest.getByText('Next boot', { exact: true })).toBeVisible();
});
