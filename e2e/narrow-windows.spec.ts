import type { Locator, Page } from '@playwright/test';
import { expect, hindsightPerFile, selectorOf, test, version } from './support/hindsight.ts';

/**
 * Issue 13, "Narrow windows, lists, words": /etc changes and Upgrade review stay usable from
 * 800×600 to wide windows — one scroll area, the apply bar whole and in view, merge lines that
 * never wrap and stay aligned across the panes — and the lists' counts and rows say what they show.
 */

const hs = hindsightPerFile();

const SIZES = [
  { width: 800, height: 600 },
  { width: 1400, height: 900 },
] as const;

// The callbacks below run in the page; e2e compiles without the DOM library, so they reach the
// window through the element they are given.

/** The elements in main (main included) that scroll vertically because their content overflows. */
function verticalScrollers(page: Page): Promise<string[]> {
  return page.locator('main').evaluate((main) => {
    const view = main.ownerDocument.defaultView;
    return [main, ...main.querySelectorAll('*')]
      .filter((el) => {
        const overflow = view.getComputedStyle(el).overflowY;
        return (overflow === 'auto' || overflow === 'scroll') && el.scrollHeight > el.clientHeight + 1;
      })
      .map((el) => `${el.tagName.toLowerCase()}.${el.className} ${el.clientHeight}/${el.scrollHeight}`);
  });
}

/** Sets main's scroll position, so a check holds at the top and at the end of the page. */
async function scrollMain(page: Page, to: 'top' | 'end'): Promise<void> {
  await page.locator('main').evaluate((main, end) => {
    main.scrollTop = end ? main.scrollHeight : 0;
  }, to === 'end');
  await page.waitForTimeout(100);
}

/** What of the apply bar is cut off: text wider or taller than its box, or the bar outside the window. */
function applyBarProblems(bar: Locator): Promise<string[]> {
  return bar.evaluate((el) => {
    const view = el.ownerDocument.defaultView;
    const problems: string[] = [];
    const box = el.getBoundingClientRect();
    if (
      box.top < 0 ||
      box.left < 0 ||
      box.bottom > view.innerHeight + 0.5 ||
      box.right > view.innerWidth + 0.5
    )
      problems.push(`bar at ${JSON.stringify(box)} in ${view.innerWidth}×${view.innerHeight}`);
    for (const text of [el, ...el.querySelectorAll('p, span, button')]) {
      if (text.scrollWidth > text.clientWidth + 1 || text.scrollHeight > text.clientHeight + 1)
        problems.push(
          `${text.tagName.toLowerCase()}.${text.className} "${text.textContent?.slice(0, 40)}" ` +
            `${text.scrollWidth}×${text.scrollHeight} in ${text.clientWidth}×${text.clientHeight}`,
        );
    }
    return problems;
  });
}

/** Rows whose cells do not share one top, or that are taller than one line (a wrapped line). */
function misalignedRows(merge: Locator): Promise<string[]> {
  return merge.evaluate((el) => {
    const problems: string[] = [];
    const lineHeight = Number.parseFloat(el.ownerDocument.defaultView.getComputedStyle(el).lineHeight);
    const rows = [...el.querySelectorAll('.mp-row:not(.mp-editor-row)')];
    if (!rows.length) problems.push('no rows');
    for (const [i, row] of rows.entries()) {
      const cells = [...row.querySelectorAll(':scope > .mp-cell')].map((c) => c.getBoundingClientRect());
      const tops = cells.map((c) => c.top);
      if (Math.max(...tops) - Math.min(...tops) > 0.5) problems.push(`row ${i}: tops ${tops.join(', ')}`);
      for (const cell of cells) {
        if (Math.abs(cell.height - lineHeight) > 0.5)
          problems.push(`row ${i}: a cell ${cell.height}px high, a line is ${lineHeight}px`);
      }
    }
    return problems;
  });
}

for (const size of SIZES) {
  const at = `${size.width}×${size.height}`;

  test(`${at}: /etc changes scrolls as one page; its filter is one line`, async () => {
    const { page } = hs;
    await page.setViewportSize(size);
    await hs.go('etc', { deployment: selectorOf(version(hs, '3.0')), path: 'passwd' });
    await expect(page.getByRole('region', { name: 'Changes to /etc/passwd' })).toContainText('alice:x:1000');
    for (const where of ['top', 'end'] as const) {
      await scrollMain(page, where);
      const scrollers = await verticalScrollers(page);
      expect(scrollers.length, scrollers.join('\n')).toBeLessThanOrEqual(1);
    }
    await scrollMain(page, 'top');

    const list = page.getByRole('complementary', { name: 'Changed paths' });
    const toggle = list.getByRole('button', { name: /^Changed paths \d+/ });
    if (size.width < 1100) {
      // Folded above the detail, naming the open file; opened, it lists the paths; a choice folds it.
      await expect(toggle).toHaveAttribute('aria-expanded', 'false');
      await expect(toggle).toContainText('/etc/passwd');
      await expect(list.getByRole('tree')).toBeHidden();
      await toggle.click();
      await expect(toggle).toHaveAttribute('aria-expanded', 'true');
      await list.getByRole('treeitem', { name: /^group/ }).click();
      await expect(toggle).toHaveAttribute('aria-expanded', 'false');
      await expect(toggle).toContainText('/etc/group');
      await expect(page.getByRole('heading', { level: 2, name: '/etc/group' })).toBeVisible();
      await toggle.click();
    } else {
      await expect(toggle).toBeHidden();
      await expect(list.getByRole('tree')).toBeVisible();
    }

    const search = list.getByRole('searchbox', { name: 'Filter paths' });
    const filter = list.getByLabel('Show', { exact: true });
    await expect(filter).toBeVisible();
    const [searchBox, filterBox] = [await search.boundingBox(), await filter.boundingBox()];
    if (!searchBox || !filterBox) throw new Error('the filter is not laid out');
    expect(filterBox.height).toBeLessThanOrEqual(searchBox.height + 4);
    expect(Math.abs(filterBox.y - searchBox.y)).toBeLessThan(4);
    await filter.selectOption({ label: 'Added (5)' });
    await expect(list.getByRole('treeitem', { name: /^alice/ })).toBeVisible();
    await expect(list.getByRole('treeitem', { name: /^fstab/ })).toHaveCount(0);
    await filter.selectOption({ label: 'All (13)' });
  });

  test(`${at}: Upgrade review scrolls as one page with the apply bar whole and in view`, async () => {
    const { page } = hs;
    await page.setViewportSize(size);
    await hs.go('merge', {
      source: selectorOf(version(hs, '1.0')),
      target: selectorOf(version(hs, '2.0')),
      path: 'passwd',
    });
    const merge = page.getByRole('region', { name: 'Entry-by-entry merge of /etc/passwd' });
    await expect(merge).toContainText('sshd:x:101');
    const bar = page.getByRole('region', { name: 'Apply resolutions' });
    for (const where of ['top', 'end'] as const) {
      await scrollMain(page, where);
      const scrollers = await verticalScrollers(page);
      expect(scrollers.length, scrollers.join('\n')).toBeLessThanOrEqual(1);
      expect(await applyBarProblems(bar)).toEqual([]);
    }

    const list = page.getByRole('complementary', { name: 'Paths and outcomes' });
    const toggle = list.getByRole('button', { name: /^Paths \d+/ });
    if (size.width < 1100) {
      await expect(toggle).toHaveAttribute('aria-expanded', 'false');
      await expect(toggle).toContainText('/etc/passwd');
      await expect(list.getByRole('button', { name: /^group/ })).toBeHidden();
    } else {
      await expect(toggle).toBeHidden();
      await expect(list.getByRole('button', { name: /^group/ })).toBeVisible();
    }
  });

  test(`${at}: merge lines never wrap, rows line up across the panes, each pane scrolls sideways`, async () => {
    const { page } = hs;
    await page.setViewportSize(size);
    await hs.go('merge', {
      source: selectorOf(version(hs, '1.0')),
      target: selectorOf(version(hs, '2.0')),
      path: 'passwd',
    });
    const accounts = page.getByRole('region', { name: 'Entry-by-entry merge of /etc/passwd' });
    await expect(accounts).toContainText('sshd:x:101');
    expect(await misalignedRows(accounts)).toEqual([]);

    // passwd's lines are wider than a pane here: the wheel over "Yours" moves that pane alone.
    const yours = accounts.locator('.mp-yours').first();
    const strips = page.locator('.mp-hscroll');
    const yoursStrip = strips.nth(0);
    const overflows = await yoursStrip.evaluate((el) => el.scrollWidth > el.clientWidth);
    expect(overflows).toBe(true);
    await yours.hover();
    await page.mouse.wheel(120, 0);
    await expect.poll(() => yoursStrip.evaluate((el) => el.scrollLeft)).toBeGreaterThan(0);
    expect(await strips.nth(2).evaluate((el) => el.scrollLeft)).toBe(0);
    const indent = await yours
      .locator('.mp-text')
      .evaluate((el) => el.ownerDocument.defaultView.getComputedStyle(el).textIndent);
    expect(Number.parseFloat(indent)).toBeLessThan(0);
    expect(await misalignedRows(accounts)).toEqual([]);

    const list = page.getByRole('complementary', { name: 'Paths and outcomes' });
    if (size.width < 1100) await list.getByRole('button', { name: /^Paths \d+/ }).click();
    await list.getByRole('button', { name: /^ssh\/sshd_config/ }).click();
    const detail = page.getByRole('region', { name: '/etc/ssh/sshd_config' });
    const hunks = detail.getByRole('region', { name: 'Three-way merge of /etc/ssh/sshd_config' });
    await expect(hunks).toContainText('KbdInteractiveAuthentication no');
    expect(await misalignedRows(hunks)).toEqual([]);
    await detail.getByRole('checkbox', { name: 'Show base' }).check();
    await expect(detail.getByText('Base (old image)')).toBeVisible();
    expect(await misalignedRows(hunks)).toEqual([]);
    await detail.getByRole('checkbox', { name: 'Show base' }).uncheck();
  });

  test(`${at}: Compare's counts follow the search; rows carry no numbers, the architecture follows the version`, async () => {
    const { page } = hs;
    await page.setViewportSize(size);
    await hs.go('compare');
    const search = page.getByRole('searchbox', { name: 'Search packages' });
    await expect(page.getByRole('radio', { name: /^Upgraded \(\s*38\s*\)$/ })).toBeAttached();
    const list = page.getByRole('region', { name: /Package changes from 2\.0 to 3\.0, scrollable/ });
    const row = list.getByRole('listitem').filter({ hasText: 'base-files' });
    await expect(row).toBeVisible();
    await expect(list.getByText(/^#\d+$/)).toHaveCount(0);
    const scrollers = await verticalScrollers(page);
    expect(scrollers.length, scrollers.join('\n')).toBeLessThanOrEqual(1);
    const [versionBox, archBox] = await Promise.all([
      row.locator('.ver').last().boundingBox(),
      row.getByText('amd64', { exact: true }).boundingBox(),
    ]);
    if (!versionBox || !archBox) throw new Error('the row is not laid out');
    expect(archBox.x).toBeGreaterThan(versionBox.x + versionBox.width);
    expect(archBox.x - (versionBox.x + versionBox.width)).toBeLessThan(24);

    await search.fill('tzdata');
    await expect(page.getByRole('radio', { name: /^Upgraded \(\s*0\s*\)$/ })).toBeAttached();
    await expect(page.getByRole('radio', { name: /^Downgraded \(\s*1\s*\)$/ })).toBeAttached();
    await expect(page.getByRole('radio', { name: /^All \(\s*1\s*\)$/ })).toBeAttached();
    // Nothing matching replaces the list with a notice; the list comes back whole when the search is cleared.
    await search.fill('no-such-package');
    await expect(page.getByText('No package matches')).toBeVisible();
    await search.fill('');
    await expect(page.getByRole('radio', { name: /^Upgraded \(\s*38\s*\)$/ })).toBeAttached();
    await expect(row).toBeVisible();
    const [listTop, rowTop] = [(await list.boundingBox())?.y ?? 0, (await row.boundingBox())?.y ?? 0];
    expect(rowTop - listTop).toBeGreaterThan(0);
    expect(rowTop - listTop).toBeLessThan(100);
  });
}
