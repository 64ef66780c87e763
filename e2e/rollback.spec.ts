import { expect, hindsightPerFile, ostreeDeployments, ostreeStatus, test } from './support/hindsight.ts';

const hs = hindsightPerFile();

test('the preview shows the package delta and the /etc edits the older deployment lacks', async () => {
  const { page } = hs;
  await hs.go('rollback');
  const card = page.getByRole('article', { name: /Roll back from 3\.0 to 2\.0/ });
  await expect(card).toBeVisible();
  const lost = card.getByRole('region', { name: /\/etc edits that 2\.0 does not have/ });
  await expect(lost).toContainText('/etc/fstab');
  await expect(lost).toContainText('/etc/sudoers.d/alice');
  await expect(lost).toContainText('Only in the current /etc');
  const counts = card.getByRole('list', { name: 'Package changes', exact: true });
  await expect(counts).toContainText('38 downgraded');
  await expect(counts).toContainText('1 removed');
});

test('"Reboot now" is disabled with its reason on a folder that is not the running system', async () => {
  const { page } = hs;
  await expect(page.getByRole('button', { name: 'Reboot now' })).toBeDisabled();
  await expect(page.getByText(/not the running system/).first()).toBeVisible();
});

test('one click makes 2.0 the next boot, and ostree agrees', async () => {
  const { page } = hs;
  const before = ostreeDeployments(hs.demo.sysroot);
  expect(before[0]?.version).toBe('3.0');
  await page.getByRole('button', { name: 'Roll back on next boot' }).click();
  await expect(page.getByText('2.0 starts on the next boot')).toBeVisible({ timeout: 60_000 });
  // One "Reboot now" on screen: the notice's, not also the header's.
  await expect(page.getByRole('button', { name: 'Reboot now' })).toHaveCount(1);

  const after = ostreeDeployments(hs.demo.sysroot);
  expect(after[0]?.version).toBe('2.0');
  expect(after[0]?.checksum).toBe(before[1]?.checksum);
  // Nothing deleted, nothing redeployed: the same three deployments in a new order.
  expect(after.map((d) => `${d.checksum}.${d.serial}`).sort()).toEqual(
    before.map((d) => `${d.checksum}.${d.serial}`).sort(),
  );
  expect(ostreeStatus(hs.demo.sysroot).split('\n')[1]).toContain('Version: 2.0');
});

test('the timeline and the history record the rollback', async () => {
  const { page } = hs;
  await hs.go('deployments');
  const first = page
    .getByRole('list', { name: 'Deployments, newest first' })
    .getByRole('article', { name: /2\.0/ });
  await expect(first.getByText('Next boot', { exact: true })).toBeVisible();
  await hs.go('history');
  const records = page.getByRole('region', { name: 'History records, newest first' });
  await expect(records.getByRole('listitem').first()).toContainText('Rolled back to 2.0 for the next boot');
  await expect(records.getByRole('listitem').first()).toContainText('Succeeded');
});

test('rolling back again puts 3.0 back as the next boot', async () => {
  const { page } = hs;
  await hs.go('rollback');
  await page.getByLabel('Go back to').selectOption({ index: 0 });
  await page.getByRole('button', { name: 'Roll back on next boot' }).click();
  await expect(page.getByText(/starts on the next boot/)).toBeVisible({ timeout: 60_000 });
  expect(ostreeDeployments(hs.demo.sysroot)[0]?.version).toBe('3.0');
});
