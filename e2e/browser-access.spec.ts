import { AxeBuilder } from '@axe-core/playwright';
import { expect, hindsightPerFile, test } from './support/hindsight.ts';

/**
 * Who browser mode lets in, through the real renderer: the address `hindsight serve` prints opens
 * one tab once; the tab trades its link for a secret of its own, kept in sessionStorage and sent in a
 * header, never a cookie (a cookie for 127.0.0.1 goes to every port on it). Anything else gets a page
 * that says how to get a new address.
 */

const hs = hindsightPerFile();

const NO_ACCESS = 'This address no longer opens Hindsight';

test('the tab takes the link out of its address, keeps a secret of its own and sets no cookie', async () => {
  test.skip(hs.target !== 'browser', 'only browser mode has an address to open');
  const { page } = hs;
  expect(new URL(page.url()).search).toBe('');
  expect(await page.context().cookies()).toEqual([]);
  expect(await page.evaluate(`sessionStorage.getItem('hindsight-tab-secret')`)).toMatch(
    /^[\w-]{22}\.[\w-]{43}$/,
  );
  // A reload finds the secret where the tab left it.
  await hs.reload();
  await hs.go('deployments');
  await expect(
    page.getByRole('list', { name: 'Deployments, newest first' }).getByRole('article'),
  ).toHaveCount(3);
});

test('the printed address opens nothing a second time, and a tab without it is told how to get one', async () => {
  test.skip(hs.target !== 'browser', 'only browser mode has an address to open');
  const other = await hs.page.context().newPage();
  try {
    const reply = await other.goto(hs.address());
    expect(reply?.status()).toBe(401);
    await expect(other.getByRole('heading', { name: NO_ACCESS })).toBeVisible();
    await expect(other.getByText('hindsight start').first()).toBeVisible();
    for (const scheme of ['light', 'dark'] as const) {
      await other.emulateMedia({ colorScheme: scheme });
      const results = await new AxeBuilder({ page: other })
        .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'])
        .analyze();
      expect(
        results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id),
      ).toEqual([]);
    }

    // The address without a link (a new tab, a bookmark): the page finds no secret and says the same.
    await other.goto(new URL('/#/deployments', hs.address()).toString());
    await expect(other.getByRole('heading', { name: NO_ACCESS })).toBeVisible();
    expect(new URL(other.url()).pathname).toBe('/no-access');
  } finally {
    await other.close();
  }
  // The tab that traded the link is not affected.
  await hs.go('deployments');
  await expect(
    hs.page.getByRole('list', { name: 'Deployments, newest first' }).getByRole('article'),
  ).toHaveCount(3);
});
