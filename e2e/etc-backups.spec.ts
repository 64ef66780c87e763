import { existsSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { expect, hindsightCli, hindsightPerFile, test } from './support/hindsight.ts';

const hs = hindsightPerFile();

test('History lists the /etc backups with their limits, and Remove deletes one after asking', async () => {
  const { page } = hs;
  // The app checks for updates when it opens, holding the sysroot's lock meanwhile; an apply started
  // then is refused as busy. Let the check finish first.
  await hs.go('deployments');
  await expect(
    page.getByRole('region', { name: 'Update status' }).getByRole('button', { name: 'Check now' }),
  ).toBeVisible({ timeout: 60_000 });
  // An apply from the terminal, as root: the backup it leaves is what History shows.
  const applied = JSON.parse(
    hindsightCli(hs.demo, ['etc', 'apply', '1', '0', '--path', 'passwd', '--take', 'merged', '--json']),
  ) as { backupId: string };
  const dir = join(hs.demo.sysroot, 'ostree/deploy/debian/var/lib/hindsight/etc-backups', applied.backupId);
  expect(lstatSync(dir).mode & 0o777).toBe(0o700);

  await hs.go('history');
  const section = page.getByRole('region', { name: '/etc backups', exact: true });
  await expect(section).toContainText('keeps at most 20, none older than 90 days');
  const row = section.getByRole('row', { name: `Backup ${applied.backupId}` });
  await expect(row).toContainText('3.0 (deployment 0)');
  await expect(row).toContainText('Applied');
  await expect(row).toContainText('Kept for undo');

  // Cancel leaves it; Remove, once confirmed, deletes the folder for good.
  const remove = row.getByRole('button', { name: `Remove backup ${applied.backupId}` });
  await remove.click();
  const dialog = page.getByRole('dialog', { name: 'Remove this /etc backup?' });
  await expect(dialog).toContainText('That change can then no longer be undone.');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(dialog).toBeHidden();
  expect(existsSync(dir)).toBe(true);

  await remove.click();
  await dialog.getByRole('button', { name: 'Remove backup' }).click();
  await expect(dialog).toBeHidden({ timeout: 30_000 });
  await expect(section).toContainText('No /etc backups');
  expect(existsSync(dir)).toBe(false);
  await expect(page.getByRole('region', { name: 'History records, newest first' })).toContainText(
    'Removed an /etc backup',
  );
});
