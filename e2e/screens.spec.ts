import { join } from 'node:path';
import { expectAccessible } from './support/axe.ts';
import { expect, hindsightPerFile, SCREENSHOTS, selectorOf, test, version } from './support/hindsight.ts';

/**
 * Every screen, light and dark: a screenshot for the README and the reviewers, and an axe-core scan
 * that must find no serious or critical violation.
 */

// The app's own demo, as `npm start` opens it on a machine that is not OSTree: the banner shows.
const hs = hindsightPerFile({ embeddedDemo: true });

interface Shot {
  name: string;
  open(): Promise<void>;
}

const shots: Shot[] = [
  {
    name: '1-deployments',
    open: async () => {
      await hs.go('deployments');
      await expect(hs.page.getByRole('region', { name: 'Update status' })).toContainText('4.0', {
        timeout: 30_000,
      });
    },
  },
  {
    name: '2-compare',
    open: async () => {
      await hs.go('compare');
      await expect(hs.page.getByRole('list', { name: 'Package changes', exact: true })).toBeVisible();
    },
  },
  {
    name: '3-etc-drift',
    open: async () => {
      await hs.go('etc', { deployment: selectorOf(version(hs, '3.0')), path: 'passwd' });
      await expect(hs.page.getByRole('region', { name: 'Changes to /etc/passwd' })).toBeVisible();
    },
  },
  {
    name: '4-merge-conflict',
    open: async () => {
      await hs.go('merge', {
        source: selectorOf(version(hs, '1.0')),
        target: selectorOf(version(hs, '2.0')),
        path: 'ssh/sshd_config',
      });
      await expect(
        hs.page.getByRole('region', { name: 'Three-way merge of /etc/ssh/sshd_config' }),
      ).toBeVisible();
    },
  },
  {
    name: '4-merge-accounts',
    open: async () => {
      await hs.go('merge', {
        source: selectorOf(version(hs, '1.0')),
        target: selectorOf(version(hs, '2.0')),
        path: 'passwd',
      });
      await expect(
        hs.page.getByRole('region', { name: 'Entry-by-entry merge of /etc/passwd' }),
      ).toBeVisible();
    },
  },
  {
    name: '5-updates',
    open: async () => {
      await hs.go('updates');
      await expect(hs.page.getByRole('article', { name: 'Version 4.0' })).toBeVisible({ timeout: 30_000 });
      await expect(hs.page.getByRole('list', { name: 'Package changes', exact: true })).toBeVisible();
    },
  },
  {
    name: '6-rollback',
    open: async () => {
      await hs.go('rollback');
      await expect(hs.page.getByRole('button', { name: 'Roll back on next boot' })).toBeVisible();
      await expect(hs.page.getByRole('list', { name: 'Package changes', exact: true })).toBeVisible();
    },
  },
  {
    name: '7-history',
    open: async () => {
      await hs.go('history');
      await expect(hs.page.getByRole('region', { name: 'History records, newest first' })).toBeVisible();
    },
  },
  {
    name: '8-confirm-remove',
    open: async () => {
      await hs.go('deployments');
      await hs.page.getByRole('article', { name: /1\.0/ }).getByRole('button', { name: 'Remove' }).click();
      await expect(hs.page.getByRole('dialog')).toBeVisible();
    },
  },
];

test.beforeAll(async () => {
  // Something in the history, so its screen is not the empty state.
  await hs.go('deployments');
  const card = hs.page.getByRole('article', { name: /2\.0/ });
  await card.getByRole('button', { name: 'Pin', exact: true }).click();
  await expect(card.getByRole('button', { name: 'Unpin' })).toBeVisible({ timeout: 30_000 });
  await card.getByRole('button', { name: 'Unpin' }).click();
  await expect(card.getByRole('button', { name: 'Pin', exact: true })).toBeVisible({ timeout: 30_000 });
});

for (const scheme of ['light', 'dark'] as const) {
  for (const shot of shots) {
    test(`${shot.name} (${scheme}): screenshot and no serious accessibility violation`, async () => {
      const { page } = hs;
      await page.keyboard.press('Escape');
      await page.emulateMedia({ colorScheme: scheme, reducedMotion: 'reduce' });
      await shot.open();
      // No toast, hover or caret from earlier steps in the picture; virtual lists get to measure.
      for (const dismiss of await page.getByRole('button', { name: 'Dismiss' }).all()) {
        // A toast may close on its own meanwhile.
        await dismiss.click({ timeout: 1_000 }).catch(() => {});
      }
      await page.mouse.move(1, 1);
      await page.waitForTimeout(300);
      await page.screenshot({ path: join(SCREENSHOTS, `${shot.name}-${scheme}.png`) });
      await expectAccessible(page, `${shot.name} (${scheme})`);
    });
  }
}
