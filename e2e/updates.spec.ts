import { expect, hindsightCli, hindsightPerFile, ostreeDeployments, test } from './support/hindsight.ts';

/**
 * The update flow on the demo, in one file because each step starts where the last one left the
 * sysroot: check → read what 4.0 brings → stage (one click, with Undo) → staged, with its /etc merge
 * one click away → cancel (one click, with Undo) → Undo stages it again.
 */

const hs = hindsightPerFile();

interface CheckJson {
  available: { delta: { upgraded: unknown[]; added: unknown[]; removed: unknown[]; downgraded: unknown[] } };
}

test('the check finds 4.0 and shows what it brings before anything is staged', async () => {
  const { page } = hs;
  // What the CLI reads from the same origin is what the page must say.
  const check = JSON.parse(hindsightCli(hs.demo, ['upgrade', '--check', '--json'])) as CheckJson;
  const delta = check.available.delta;
  await hs.go('updates');
  const card = page.getByRole('article', { name: 'Version 4.0 is available' });
  await expect(card).toBeVisible({ timeout: 30_000 });
  await expect(card).toContainText('Hindsight demo image 4.0');
  // The summary sits next to the button that stages it.
  await expect(card).toContainText(`${delta.upgraded.length} upgraded`);
  const counts = card.getByRole('list', { name: 'Package changes', exact: true });
  await expect(counts).toContainText(`${delta.upgraded.length} upgraded`);
  await expect(counts).toContainText(`${delta.added.length} added`);
  await expect(card.getByText('File changes are known once the update is downloaded.')).toBeVisible();
  await expect(card.getByText('/etc is checked once the update is downloaded')).toBeVisible();
  await card.getByRole('searchbox', { name: 'Search packages' }).fill('timesync');
  await expect(card.getByRole('listitem').filter({ hasText: 'systemd-timesyncd' })).toContainText(
    '252.39-1~deb12u2',
  );
  // The status row on this screen only says when and where it checked; the card says the rest once.
  const status = page.getByRole('region', { name: 'Update status' });
  await expect(status).toContainText('checked');
  await expect(status).not.toContainText('4.0');
  expect(ostreeDeployments(hs.demo.sysroot)).toHaveLength(3);
});

test('staging is one click: 4.0 is staged, one card says so, and the package list stays', async () => {
  const { page } = hs;
  await page.getByRole('button', { name: 'Download and stage 4.0' }).click();
  const staged = page.getByRole('article', { name: '4.0 is staged: it starts on the next boot' });
  await expect(staged).toBeVisible({ timeout: 60_000 });
  const deployments = ostreeDeployments(hs.demo.sysroot);
  expect(deployments[0]?.version).toBe('4.0');
  expect(deployments).toHaveLength(4);
  // One statement of the state: no second box repeats it.
  await expect(page.getByText(/4\.0 is (already )?deployed/)).toHaveCount(0);
  await expect(staged.getByRole('list', { name: 'Package changes', exact: true })).toBeVisible();
  await expect(staged).toContainText('Package changes from 3.0');
  await expect(page.getByRole('button', { name: 'Reboot now' })).toHaveCount(1);
  await expect(staged.getByRole('button', { name: 'Cancel update' })).toBeVisible();
  // The toast that confirmed staging goes once the system changes again (next test).
  await expect(page.getByRole('status').filter({ hasText: '4.0 is staged' })).toBeVisible();
});

test('the /etc merge of the staged update is one click away, with its count', async () => {
  const { page } = hs;
  const staged = page.getByRole('article', { name: /4\.0 is staged/ });
  const review = staged.getByRole('button', { name: /^Review \/etc/ });
  await expect(review).toBeVisible({ timeout: 30_000 });
  // passwd and group lost sshd and _ssh in an earlier merge: 4.0's merge must bring them back.
  await expect(review).toHaveText(/Review \/etc \(\d+ needs? a look\)/);
  await review.click();
  await expect(page).toHaveURL(/#\/merge\?/);
  await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
  await page.getByRole('button', { name: /^passwd/ }).click();
  const detail = page.getByRole('region', { name: '/etc/passwd' });
  await expect(detail.getByText('Missing system account: sshd')).toBeVisible({ timeout: 30_000 });
  await expect(detail.getByRole('region', { name: 'Entry-by-entry merge of /etc/passwd' })).toContainText(
    'sshd:x:',
  );
  await page.goBack();
  await expect(page.getByRole('article', { name: /4\.0 is staged/ })).toBeVisible();
});

test('cancel is one click with Undo, and Undo stages the same commit again', async () => {
  const { page } = hs;
  const before = ostreeDeployments(hs.demo.sysroot)[0];
  await page.getByRole('button', { name: 'Cancel update' }).click();
  const toast = page.getByRole('status').filter({ hasText: 'The update to 4.0 was cancelled' });
  await expect(toast).toBeVisible({ timeout: 30_000 });
  // The staging toast was about a state that has changed again: it is gone.
  await expect(page.getByRole('status').filter({ hasText: '4.0 is staged' })).toHaveCount(0);
  expect(ostreeDeployments(hs.demo.sysroot).map((d) => d.version)).not.toContain('4.0');
  await expect(page.getByRole('article', { name: 'Version 4.0 is available' })).toBeVisible();

  await toast.getByRole('button', { name: 'Undo' }).click();
  await expect(page.getByRole('article', { name: /4\.0 is staged/ })).toBeVisible({ timeout: 60_000 });
  const after = ostreeDeployments(hs.demo.sysroot);
  expect(after[0]?.version).toBe('4.0');
  expect(after[0]?.checksum).toBe(before?.checksum);
});

test('the timeline marks the new deployment as staged and the next boot, and History says so', async () => {
  const { page } = hs;
  await hs.go('deployments');
  const newest = page.getByRole('list', { name: 'Deployments, newest first' }).getByRole('article').first();
  await expect(newest.getByRole('heading', { level: 2 })).toHaveText(/4\.0/);
  await expect(newest.getByText('Next boot', { exact: true })).toBeVisible();
  await expect(newest.getByText('Staged', { exact: true })).toBeVisible();
  await expect(page.getByRole('region', { name: 'Update status' })).toContainText(
    '4.0 is staged: it starts on the next boot',
  );
  // The CLI uses the same word.
  expect(hindsightCli(hs.demo, ['status'])).toMatch(/4\.0 .*next boot, staged/);
  await hs.go('history');
  await expect(page.getByText('Cancelled the staged update 4.0', { exact: false })).toBeVisible();
  await expect(page.getByText('Staged 4.0 for the next boot', { exact: false }).first()).toBeVisible();
});
