import { expect, hindsightCli, hindsightPerFile, ostreeDeployments, test } from './support/hindsight.ts';

/**
 * A browser tab outlives its server: "Reboot now" takes `hindsight serve` away with the machine, and
 * a new one starts on the same port after the boot. The open page must say so, and come back by
 * itself, showing what is true now. Here the server is stopped and started again on a demo folder.
 */

const hs = hindsightPerFile();

const LOST = 'Lost contact with Hindsight — reconnecting…';

test('the page says it lost contact while serve is gone, and comes back by itself with fresh data', async () => {
  test.skip(hs.target !== 'browser', 'only a browser tab outlives its server');
  test.setTimeout(180_000);
  const { page } = hs;
  await hs.go('deployments');
  const timeline = page.getByRole('list', { name: 'Deployments, newest first' });
  await expect(timeline.getByRole('article')).toHaveCount(3);
  await expect(
    timeline.getByRole('article', { name: /3\.0/ }).getByText('Next boot', { exact: true }),
  ).toBeVisible();
  const lost = page.getByRole('status').filter({ hasText: LOST });
  await expect(lost).toHaveCount(0);
  // Survives only if the page is never reloaded.
  await page.evaluate('window.sameDocument = true');

  await hs.stopServer();
  await expect(lost).toBeVisible();
  await expect(lost).toHaveAttribute('aria-live', 'polite');
  // What the page last knew stays on screen meanwhile.
  await expect(timeline.getByRole('article')).toHaveCount(3);

  // The system changes while the server is away, as a reboot into another deployment does.
  hindsightCli(hs.demo, ['rollback']);
  expect(ostreeDeployments(hs.demo.sysroot)[0]?.version).toBe('2.0');
  // A few failed probes before the server is back.
  await page.waitForTimeout(3_000);
  await expect(lost).toBeVisible();

  await hs.startServerAgain();
  await expect(lost).toHaveCount(0, { timeout: 30_000 });
  await expect(
    timeline.getByRole('article', { name: /2\.0/ }).getByText('Next boot', { exact: true }),
  ).toBeVisible({ timeout: 30_000 });
  await expect(timeline.getByRole('article')).toHaveCount(3);
  expect(await page.evaluate('window.sameDocument')).toBe(true);
});

test('after reconnecting, changes made elsewhere reach the page through a fresh event stream', async () => {
  test.skip(hs.target !== 'browser', 'only a browser tab outlives its server');
  const { page } = hs;
  const timeline = page.getByRole('list', { name: 'Deployments, newest first' });
  const card = timeline.getByRole('article', { name: /3\.0/ });
  await expect(card.getByText('Pinned', { exact: true })).toHaveCount(0);

  // A second tab opened from the first (it takes a copy of the first's sessionStorage, so its tab
  // secret, as "Duplicate tab" does) pins 3.0; only the server's 'sysroot:changed' event can tell
  // the first tab.
  const [other] = await Promise.all([
    page.context().waitForEvent('page'),
    page.evaluate(`void window.open('/#/deployments')`),
  ]);
  try {
    const otherCard = other
      .getByRole('list', { name: 'Deployments, newest first' })
      .getByRole('article', { name: /3\.0/ });
    // Each tab checks for updates when it opens or reconnects, holding the sysroot's lock meanwhile;
    // a pin clicked during a check is refused as busy. Both checks finish first.
    for (const tab of [page, other]) {
      await expect(
        tab.getByRole('region', { name: 'Update status' }).getByRole('button', { name: 'Check now' }),
      ).toBeVisible({ timeout: 60_000 });
    }
    await otherCard.getByRole('button', { name: 'Pin', exact: true }).click();
    await expect(otherCard.getByText('Pinned', { exact: true })).toBeVisible({ timeout: 30_000 });
  } finally {
    await other.close();
  }
  await expect(card.getByText('Pinned', { exact: true })).toBeVisible({ timeout: 15_000 });
  expect(ostreeDeployments(hs.demo.sysroot).find((d) => d.version === '3.0')?.pinned).toBe(true);
});
