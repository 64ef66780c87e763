import { expect, hindsightCli, hindsightPerFile, ostreeDeployments, test } from './support/hindsight.ts';

/**
 * A browser tab outlives its server: "Reboot now" takes `hindsight serve` away with the machine, and
 * a new one starts on the same port after the boot. The open page must say so, and come back by
 * itself, showing what is true now. Here the server is stopped and started again on a demo folder.
 */

const hs = hindsightPerFile();

const LOST = /^Showing what Hindsight last saw at .+ — reconnecting…$/;
/** What a screen said when a click or refetch while serve was gone turned its data into an error. */
const UNREACHABLE = /cannot read this system|not reachable|still running\?/;

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
  // What the page last knew stays on screen meanwhile, marked as what Hindsight last said.
  await expect(timeline.getByRole('article')).toHaveCount(3);
  await expect(page.locator('.app.is-stale')).toHaveCount(1);

  // The system changes while the server is away, as a reboot into another deployment does.
  hindsightCli(hs.demo, ['rollback']);
  expect(ostreeDeployments(hs.demo.sysroot)[0]?.version).toBe('2.0');
  // A few failed probes before the server is back.
  await page.waitForTimeout(3_000);
  await expect(lost).toBeVisible();

  await hs.startServerAgain();
  await expect(lost).toHaveCount(0, { timeout: 30_000 });
  await expect(page.locator('.app.is-stale')).toHaveCount(0);
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

test('clicks while serve is gone keep what the page shows, and Retry now reconnects at once', async () => {
  test.skip(hs.target !== 'browser', 'only a browser tab outlives its server');
  test.setTimeout(180_000);
  const { page } = hs;
  await hs.go('deployments');
  const main = page.locator('main');
  const timeline = page.getByRole('list', { name: 'Deployments, newest first' });
  const updateStatus = page.getByRole('region', { name: 'Update status' });
  const checkNow = updateStatus.getByRole('button', { name: 'Check now' });
  await expect(checkNow).toBeVisible({ timeout: 60_000 });
  const lost = page.getByRole('status').filter({ hasText: LOST });
  const retry = page.getByRole('button', { name: 'Retry now' });
  await expect(retry).toHaveCount(0);

  // An update check under way when serve goes: its answer never comes.
  await checkNow.click();
  await hs.stopServer();
  const stoppedAt = Date.now();
  try {
    await expect(lost).toBeVisible();
    await expect(page.locator('.app.is-stale')).toHaveCount(1);
    await page.waitForTimeout(2_500);
    await expect(main).not.toContainText(UNREACHABLE);
    await expect(timeline.getByRole('article')).toHaveCount(3);

    // Compare from a card: a pair never read before, while nothing can be read.
    await timeline.getByRole('article', { name: /2\.0/ }).getByRole('button', { name: 'Compare' }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Compare' })).toBeVisible();
    await page.waitForTimeout(2_500);
    await expect(main).not.toContainText(UNREACHABLE);

    await page.getByRole('navigation').getByRole('button', { name: 'Deployments' }).click();
    await expect(timeline.getByRole('article')).toHaveCount(3);
    await checkNow.click();
    await page.waitForTimeout(2_500);
    await expect(main).not.toContainText(UNREACHABLE);
    await expect(timeline.getByRole('article')).toHaveCount(3);

    // A change asked for fails at once, with the one line that says why; the list stays.
    const card = timeline.getByRole('article', { name: /1\.0/ });
    await card.getByRole('button', { name: 'Unpin' }).click();
    await expect(card).toContainText('not reachable');
    await expect(timeline.getByRole('article')).toHaveCount(3);

    // Retry now while serve is still gone: asked, and still lost.
    await retry.click();
    await expect(retry).toBeEnabled();
    await expect(lost).toBeVisible();

    // Long enough gone that the backoff (2 s, doubling) waits over ten seconds between probes: only
    // Retry now explains a reconnect within a few seconds of the restart.
    await page.waitForTimeout(Math.max(0, 16_000 - (Date.now() - stoppedAt)));
  } finally {
    await hs.startServerAgain();
  }
  const asked = Date.now();
  await retry.click();
  await expect(lost).toHaveCount(0, { timeout: 5_000 });
  expect(Date.now() - asked).toBeLessThan(5_000);
  await expect(page.locator('.app.is-stale')).toHaveCount(0);
  await expect(retry).toHaveCount(0);
  await expect(timeline.getByRole('article')).toHaveCount(3);
  await expect(checkNow).toBeVisible({ timeout: 60_000 });
  await expect(updateStatus).not.toContainText(UNREACHABLE);
});
