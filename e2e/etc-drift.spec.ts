import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deploymentEtc, expect, hindsightPerFile, selectorOf, test, version } from './support/hindsight.ts';

const hs = hindsightPerFile();

test('the tree lists every changed path of the next boot’s /etc', async () => {
  const { page } = hs;
  await hs.go('etc');
  const tree = page.getByRole('tree', { name: 'Changed paths under /etc' });
  await expect(page.getByText('13 changed paths')).toBeVisible();
  for (const name of ['passwd', 'group', 'fstab', 'hosts', 'sshd_config', 'alice', 'Home.nmconnection']) {
    await expect(tree.getByRole('treeitem', { name: new RegExp(`^${name}`) })).toBeVisible();
  }
});

test('a changed file shows what changed, side by side and unified', async () => {
  const { page } = hs;
  await page
    .getByRole('tree')
    .getByRole('treeitem', { name: /^passwd/ })
    .click();
  const detail = page.getByRole('region', { name: '/etc/passwd' });
  await expect(detail.getByRole('heading', { name: '/etc/passwd' })).toBeVisible();
  await expect(detail.getByText('Changed', { exact: true })).toBeVisible();
  const diff = detail.getByRole('region', { name: 'Changes to /etc/passwd' });
  await expect(diff).toContainText('alice:x:1000:1000:Alice,,,:/home/alice:/bin/bash');
  await expect(detail.getByText('Image default (usr/etc)')).toBeVisible();
  await detail.getByRole('radio', { name: 'Unified' }).check();
  await expect(detail.getByText('Image default (usr/etc)')).toHaveCount(0);
  await expect(diff.getByText(/added: alice:x:1000/)).toBeVisible();
});

test('permissions and owners are shown for a new private file', async () => {
  const { page } = hs;
  await page
    .getByRole('tree')
    .getByRole('treeitem', { name: /^Home\.nmconnection/ })
    .click();
  const detail = page.getByRole('region', {
    name: '/etc/NetworkManager/system-connections/Home.nmconnection',
  });
  await expect(detail.getByText('Added', { exact: true })).toBeVisible();
  await expect(detail.getByRole('row', { name: /Permissions/ })).toContainText('0600');
});

test('the tree is keyboard driven', async () => {
  const { page } = hs;
  const tree = page.getByRole('tree');
  await tree.getByRole('treeitem', { name: /^Home\.nmconnection/ }).focus();
  await page.keyboard.press('Home');
  await expect(tree.getByRole('treeitem').first()).toBeFocused();
  await page.keyboard.press('End');
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { level: 2, name: '/etc/passwd' })).toBeVisible();
});

test('the filter narrows paths by name and by kind', async () => {
  const { page } = hs;
  await page.getByRole('searchbox', { name: 'Filter paths' }).fill('ssh');
  const tree = page.getByRole('tree');
  await expect(tree.getByRole('treeitem', { name: /^sshd_config/ })).toBeVisible();
  await expect(tree.getByRole('treeitem', { name: /^passwd/ })).toHaveCount(0);
  await page.getByRole('searchbox', { name: 'Filter paths' }).fill('');
  await page.getByLabel('Show', { exact: true }).selectOption({ label: 'Added (5)' });
  await expect(tree.getByRole('treeitem', { name: /^fstab/ })).toHaveCount(0);
  await expect(tree.getByRole('treeitem', { name: /^alice/ })).toBeVisible();
});

test('another deployment’s /etc can be chosen', async () => {
  const { page } = hs;
  await page.getByLabel('Deployment', { exact: true }).selectOption(selectorOf(version(hs, '1.0')));
  await expect(page.getByText(/What 1\.0’s \/etc changed/)).toBeVisible();
  await expect(page.getByRole('tree').getByRole('treeitem', { name: /^fstab/ })).toHaveCount(0);
});

test('a changed file goes back to the image default in one click, and Undo brings the edit back', async () => {
  const { page } = hs;
  const next = version(hs, '3.0');
  await page.getByLabel('Deployment', { exact: true }).selectOption(selectorOf(next));
  await page
    .getByRole('tree')
    .getByRole('treeitem', { name: /^hosts/ })
    .click();
  const etc = deploymentEtc(hs.demo, next);
  const edited = readFileSync(join(etc, 'hosts'));
  const image = readFileSync(join(etc, '..', 'usr', 'etc', 'hosts'));
  expect(edited.equals(image)).toBe(false);
  const detail = page.getByRole('region', { name: '/etc/hosts' });
  // 3.0 boots next but does not run: its /etc is read at its boot, so this acts at once.
  await detail.getByRole('button', { name: 'Restore image default', exact: true }).click();
  const toast = page.getByRole('status').filter({ hasText: '/etc/hosts is back to the image’s version' });
  await expect(toast).toBeVisible();
  expect(readFileSync(join(etc, 'hosts')).equals(image)).toBe(true);
  await expect(page.getByRole('tree').getByRole('treeitem', { name: /^hosts/ })).toHaveCount(0);
  await toast.getByRole('button', { name: 'Undo' }).click();
  await expect(page.getByText('/etc/hosts is as you had it again.')).toBeVisible();
  expect(readFileSync(join(etc, 'hosts')).equals(edited)).toBe(true);
  await expect(page.getByRole('tree').getByRole('treeitem', { name: /^hosts/ })).toBeVisible();
});
