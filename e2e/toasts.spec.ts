import type { Locator, Page } from '@playwright/test';
import {
  expect,
  hindsightPerFile,
  ostreeDeployments,
  selectorOf,
  test,
  version,
} from './support/hindsight.ts';

/**
 * Toasts confirm one-click actions and offer to take them back; they must not outstay the state they
 * describe, nor cover the bar that holds a screen's main action. And on load the keyboard starts at
 * the top of the page, where the skip link is.
 */

const hs = hindsightPerFile();

function pinnedIn(v: string): boolean {
  return ostreeDeployments(hs.demo.sysroot).find((d) => d.version === v)?.pinned ?? false;
}

/** The update check holds the sysroot's lock while it runs; a pin clicked meanwhile is refused as busy. */
async function checkDone(page: Page): Promise<void> {
  await expect(
    page.getByRole('region', { name: 'Update status' }).getByRole('button', { name: 'Check now' }),
  ).toBeVisible({ timeout: 60_000 });
}

function card(page: Page, v: string): Locator {
  return page
    .getByRole('list', { name: 'Deployments, newest first' })
    .getByRole('article', { name: new RegExp(v.replace('.', '\\.')) });
}

test('on load the first Tab reaches the skip link; opening a screen later moves focus to it', async () => {
  const { page } = hs;
  await hs.reload();
  await checkDone(page);
  expect(await page.evaluate('document.activeElement === document.body')).toBe(true);
  await page.keyboard.press('Tab');
  await expect(page.locator('.skip-link')).toBeFocused();

  await page.getByRole('navigation').getByRole('button', { name: 'History' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'History' })).toBeFocused();
  await hs.go('deployments');
});

test('a pin offers Undo, which stays up past the usual few seconds and takes the pin back', async () => {
  const { page } = hs;
  await checkDone(page);
  expect(pinnedIn('2.0')).toBe(false);
  await card(page, '2.0').getByRole('button', { name: 'Pin', exact: true }).click();
  const toast = page.locator('.toast').filter({ hasText: '2.0 is pinned.' });
  await expect(toast).toBeVisible();
  await expect.poll(() => pinnedIn('2.0')).toBe(true);
  // A plain toast is gone after 5 s; one with an action waits for the person to reach it.
  await page.waitForTimeout(6_500);
  await expect(toast).toBeVisible();
  await toast.getByRole('button', { name: 'Undo' }).click();
  await expect(toast).toHaveCount(0);
  await expect.poll(() => pinnedIn('2.0'), { timeout: 30_000 }).toBe(false);
  await expect(card(page, '2.0').getByRole('button', { name: 'Pin', exact: true })).toBeVisible();
});

test('pin then unpin in quick succession leaves only the newer toast', async () => {
  const { page } = hs;
  const toasts = page.locator('.toast');
  await checkDone(page);
  await expect(toasts).toHaveCount(0, { timeout: 15_000 });
  await card(page, '2.0').getByRole('button', { name: 'Pin', exact: true }).click();
  await expect(toasts.filter({ hasText: '2.0 is pinned.' })).toBeVisible();
  const shown = Date.now();
  await card(page, '2.0').getByRole('button', { name: 'Unpin' }).click();
  await expect(toasts.filter({ hasText: '2.0 is no longer pinned.' })).toBeVisible();
  await expect(toasts).toHaveCount(1, { timeout: 1_000 });
  // The older toast has an Undo and stays 10 s on its own: it was replaced, not timed out.
  expect(Date.now() - shown).toBeLessThan(9_000);
  await expect.poll(() => pinnedIn('2.0'), { timeout: 30_000 }).toBe(false);
});

test('a toast goes away once the system changes again, or the screen does', async () => {
  const { page } = hs;
  const toasts = page.locator('.toast');
  await checkDone(page);
  await expect(toasts).toHaveCount(0, { timeout: 15_000 });

  await card(page, '2.0').getByRole('button', { name: 'Pin', exact: true }).click();
  const first = toasts.filter({ hasText: '2.0 is pinned.' });
  await expect(first).toBeVisible();
  const shown = Date.now();
  // Another deployment pinned: the first toast's Undo would now be about a state that is gone.
  await card(page, '3.0').getByRole('button', { name: 'Pin', exact: true }).click();
  await expect(toasts.filter({ hasText: '3.0 is pinned.' })).toBeVisible();
  await expect(first).toHaveCount(0);
  await expect(toasts).toHaveCount(1);
  // The older toast has an Undo and stays 10 s on its own: it went because the system changed.
  expect(Date.now() - shown).toBeLessThan(9_000);

  await page.getByRole('navigation').getByRole('button', { name: 'History' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'History' })).toBeVisible();
  await expect(toasts).toHaveCount(0);
  expect(pinnedIn('2.0') && pinnedIn('3.0')).toBe(true);
});

async function overlap(page: Page, a: Locator, b: Locator): Promise<number> {
  const [ra, rb] = await Promise.all([a.boundingBox(), b.boundingBox()]);
  if (!ra || !rb) throw new Error('both boxes must be on screen');
  const size = page.viewportSize();
  expect(rb.y + rb.height).toBeLessThanOrEqual((size?.height ?? 0) + 1);
  const w = Math.min(ra.x + ra.width, rb.x + rb.width) - Math.max(ra.x, rb.x);
  const h = Math.min(ra.y + ra.height, rb.y + rb.height) - Math.max(ra.y, rb.y);
  return Math.max(0, w) * Math.max(0, h);
}

test('toasts never cover the apply bar of the merge review, in a small window or a large one', async () => {
  const { page } = hs;
  await page.setViewportSize({ width: 800, height: 600 });
  try {
    await hs.go('merge', { source: selectorOf(version(hs, '1.0')), target: selectorOf(version(hs, '2.0')) });
    const detail = page.getByRole('region', { name: '/etc/ssh/sshd_config' });
    await detail.getByRole('button', { name: 'Hunk 1: take upstream' }).click();
    const bar = page.getByRole('region', { name: 'Apply resolutions' });
    await bar.getByRole('button', { name: /^Apply/ }).click();
    // Writing the running system's /etc asks first; any other deployment's is written at once.
    const dialog = page.getByRole('dialog', { name: /Write 3 files/ });
    const wrote = page.locator('.toast').filter({ hasText: /^Wrote 3 files/ });
    await expect(wrote.or(dialog)).toBeVisible({ timeout: 30_000 });
    if (await dialog.isVisible()) await dialog.getByRole('button', { name: 'Apply' }).click();
    await expect(wrote).toBeVisible({ timeout: 30_000 });
    await expect(bar).toBeInViewport();
    await expect.poll(() => overlap(page, wrote, bar)).toBe(0);

    await page.setViewportSize({ width: 1400, height: 900 });
    await bar.getByRole('button', { name: 'Undo last apply' }).click();
    const restored = page.locator('.toast').filter({ hasText: /^Restored 3 files/ });
    await expect(restored).toBeVisible({ timeout: 30_000 });
    await expect(bar).toBeInViewport();
    await expect.poll(() => overlap(page, restored, bar)).toBe(0);
    // Still a toast in the window's corner region, not pushed off screen.
    const box = await restored.boundingBox();
    expect(box && box.y > 0 && box.x + box.width <= 1400).toBe(true);
  } finally {
    await page.setViewportSize({ width: 1360, height: 900 });
  }
});
