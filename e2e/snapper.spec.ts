import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from '@playwright/test';
import {
  buildSnapperRoot,
  type SnapperFlavour,
  type SnapperRoot,
  SSHD_CONFIG,
  snapperRootSkipReason,
} from '../electron/core/fixtures/snapper-root.ts';
import { expectAccessible } from './support/axe.ts';
import { CHROMIUM_ARGS, expect, type RunningServer, startServer, test } from './support/hindsight.ts';

/**
 * A real snapper root on a loop-backed btrfs (built by the fixture, as root), served by
 * `hindsight serve --sysroot` and driven in Chromium: the snapper screens against snapper and btrfs
 * themselves. Each describe builds its own root and removes it, detaching only its own loop device.
 */

const skip = snapperRootSkipReason('rpm');

interface Opened {
  root: SnapperRoot;
  page: Page;
  /** Opens a screen by its address, as a bookmark or the sidebar would. */
  go(screen: string, params?: Record<string, string>): Promise<void>;
  close(): Promise<void>;
}

async function openOn(flavour: SnapperFlavour): Promise<Opened> {
  const root = buildSnapperRoot({ flavour, packages: 'rpm' });
  // The app's own data (its tab secret, its cache) goes into a folder of the spec's, not the user's.
  const data = mkdtempSync(join(tmpdir(), 'hindsight-e2e-snapper-'));
  let server: RunningServer | null = null;
  let browser: Browser | null = null;
  try {
    server = await startServer({ root: data, sysroot: root.root, remoteRepo: '', embedded: false });
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    const page = await (await browser.newContext({ viewport: { width: 1360, height: 900 } })).newPage();
    await page.goto(server.url);
    await expect(page.locator('main h1')).toBeVisible({ timeout: 30_000 });
    const opened: Opened = {
      root,
      page,
      async go(screen, params = {}) {
        const query = new URLSearchParams(params).toString();
        await page.evaluate(
          `window.location.hash = ${JSON.stringify(`#/${screen}${query ? `?${query}` : ''}`)}`,
        );
        await expect(page.locator('main h1')).toBeVisible({ timeout: 30_000 });
      },
      async close() {
        await browser?.close();
        await server?.stop();
        root.cleanup();
        rmSync(data, { recursive: true, force: true });
      },
    };
    return opened;
  } catch (error) {
    await browser?.close();
    await server?.stop();
    root.cleanup();
    rmSync(data, { recursive: true, force: true });
    throw error;
  }
}

/** What boots next, as btrfs itself says: `ID 263 gen 20 top level 257 path @/.snapshots/1/snapshot`. */
function defaultSubvolume(root: string): string {
  const line = execFileSync('btrfs', ['subvolume', 'get-default', root], { encoding: 'utf8' }).trim();
  const path = /path (\S+)$/.exec(line)?.[1];
  if (!path) throw new Error(`unexpected btrfs get-default output: ${line}`);
  return path;
}

function snapshotCard(page: Page, description: string | RegExp) {
  return page.getByRole('article').filter({ has: page.getByRole('heading', { name: description }) });
}

test.describe('a Tumbleweed root', () => {
  test.describe.configure({ mode: 'serial' });
  test.skip(!!skip, skip || '');
  let hs: Opened;

  // biome-ignore lint/correctness/noEmptyPattern: Playwright reads the fixtures a hook asks for from this pattern
  test.beforeAll(async ({}, testInfo) => {
    testInfo.setTimeout(180_000);
    hs = await openOn('tumbleweed');
  });
  test.afterAll(async () => {
    await hs?.close();
  });

  test('the list shows each zypper run as one change, in snapshot words', async () => {
    const { page, root } = hs;
    const upgrade = root.story.upgrade as { pre: number; post: number };
    await expect(page.getByRole('heading', { level: 1, name: 'Snapshots' })).toBeVisible();
    const dup = snapshotCard(page, /zypper dup/);
    await expect(dup).toHaveCount(1);
    await expect(dup).toContainText(`${upgrade.pre}..${upgrade.post}`);
    await expect(dup.getByText('important=no')).toBeVisible();
    await expect(dup.getByText('number', { exact: true })).toBeVisible();
    const running = snapshotCard(page, /first root filesystem/);
    await expect(running.getByText('Running', { exact: true })).toBeVisible();
    await expect(running.getByText('Boots next', { exact: true })).toBeVisible();
    await expect(page.getByRole('article').first()).toContainText('Current (the live root)');
    await expect(page.locator('body')).toContainText(/snapshots?/);
    await expect(page.locator('body')).not.toContainText(/deployment/i);
    await expectAccessible(page, 'snapshots');
  });

  test('Compare shows the upgrade’s packages and files', async () => {
    const { page, root } = hs;
    const upgrade = root.story.upgrade as { pre: number; post: number };
    await snapshotCard(page, /zypper dup/)
      .getByRole('button', { name: 'What changed' })
      .click();
    await expect(page.getByRole('heading', { level: 1, name: 'Compare' })).toBeVisible();
    await expect(page.getByLabel('From (older)')).toHaveValue(String(upgrade.pre));
    await expect(page.getByLabel('To (newer)')).toHaveValue(String(upgrade.post));
    const list = page.getByRole('region', { name: /^Package changes from snapshot/ });
    const openssh = list.getByRole('listitem').filter({ hasText: 'openssh' });
    await expect(openssh).toContainText('9.6p1');
    await expect(openssh).toContainText('9.8p1');
    // Its changelog, read from the post snapshot's rpm database: the entries above 9.6p1-1.1.
    await expect(page.getByText('Fixes 1 CVE', { exact: true })).toBeVisible();
    await openssh.getByRole('button', { name: 'openssh' }).click();
    await expect(page.getByText('- Fix a signal handler race in sshd (CVE-2024-6387)')).toBeVisible();
    await expect(page.getByText('- Update to 9.8p1')).toBeVisible();
    await expect(page.getByText('- Update to 9.6p1 (CVE-2023-48795)')).toHaveCount(0);
    await openssh.getByRole('button', { name: 'openssh' }).click();
    await expect(list.getByRole('listitem').filter({ hasText: 'oldtool' })).toBeVisible();
    await page.getByRole('radio', { name: 'Removed' }).check();
    await expect(list.getByRole('listitem').filter({ hasText: 'oldtool' })).toBeVisible();
    await expect(list.getByRole('listitem').filter({ hasText: 'openssh' })).toHaveCount(0);
    await expectAccessible(page, 'compare packages');

    await page.getByRole('radio', { name: 'Files' }).check();
    const tree = page.getByRole('tree');
    const rpmnew = tree.getByRole('treeitem', { name: /^sshd_config\.rpmnew/ });
    await expect(rpmnew).toBeVisible({ timeout: 30_000 });
    await expect(rpmnew).toContainText('Added');
    await rpmnew.click();
    const detail = page.getByRole('region', { name: '/etc/ssh/sshd_config.rpmnew' });
    await expect(detail.getByText('Added', { exact: true })).toBeVisible();
    await expect(detail.getByRole('region', { name: /^Changes to/ })).toContainText(
      'KbdInteractiveAuthentication no',
    );
    await expectAccessible(page, 'compare files');
  });

  test('/etc shows the sshd_config merge; Apply writes it, Undo puts it back', async () => {
    const { page, root } = hs;
    const file = join(root.root, SSHD_CONFIG);
    const rpmnew = `${file}.rpmnew`;
    const before = readFileSync(file, 'utf8');
    expect(existsSync(rpmnew)).toBe(true);

    await hs.go('etc');
    const merge = page.getByRole('region', { name: 'Merge of /etc/ssh/sshd_config', exact: true });
    await expect(merge).toBeVisible({ timeout: 30_000 });
    const result = merge.locator('.mp-result');
    await expect(result.filter({ hasText: 'Port 2222' })).toHaveCount(1);
    await expect(result.filter({ hasText: 'KbdInteractiveAuthentication no' })).toHaveCount(1);
    await expectAccessible(page, '/etc');

    await merge.getByRole('button', { name: 'Apply merged' }).click();
    const dialog = page.getByRole('dialog');
    await expect(dialog).toContainText('/etc/ssh/sshd_config');
    await dialog.getByRole('button', { name: 'Write into the running system' }).click();
    await expect(dialog).toHaveCount(0, { timeout: 30_000 });
    const written = readFileSync(file, 'utf8');
    expect(written).toContain('Port 2222');
    expect(written).toContain('KbdInteractiveAuthentication no');
    expect(existsSync(rpmnew)).toBe(false);

    const toast = page.getByRole('status').filter({ has: page.getByRole('button', { name: 'Undo' }) });
    await toast.getByRole('button', { name: 'Undo' }).click();
    await expect.poll(() => existsSync(rpmnew), { timeout: 30_000 }).toBe(true);
    expect(readFileSync(file, 'utf8')).toBe(before);
    await expect(
      page.getByRole('region', { name: 'Merge of /etc/ssh/sshd_config', exact: true }),
    ).toBeVisible();
  });

  test('Roll back to the install’s pre snapshot, then Undo rollback', async () => {
    const { page, root } = hs;
    const install = root.story.install as { pre: number; post: number };
    const before = defaultSubvolume(root.root);
    await hs.go('deployments');
    await snapshotCard(page, /zypper in foo/)
      .getByRole('button', { name: `Roll back to this: snapshot ${install.pre}, before the change` })
      .click();
    const banner = page.getByText(
      new RegExp(`^Snapshot \\d+ boots next \\(rolled back to ${install.pre}\\)$`),
    );
    await expect(banner).toBeVisible({ timeout: 30_000 });
    const after = defaultSubvolume(root.root);
    expect(after).not.toBe(before);
    expect(after).toMatch(/\.snapshots\/\d+\/snapshot$/);
    const made = Number(/\.snapshots\/(\d+)\/snapshot$/.exec(after)?.[1]);
    await expect(banner).toHaveText(`Snapshot ${made} boots next (rolled back to ${install.pre})`);
    await expectAccessible(page, 'pending rollback');

    await page.getByRole('button', { name: 'Undo rollback', exact: true }).click();
    await expect(banner).toHaveCount(0, { timeout: 30_000 });
    expect(defaultSubvolume(root.root)).toBe(before);
  });

  test('works at 800×600 in dark mode', async () => {
    const { page } = hs;
    await page.setViewportSize({ width: 800, height: 600 });
    await page.emulateMedia({ colorScheme: 'dark' });
    await hs.go('deployments');
    await expect(snapshotCard(page, /zypper dup/)).toBeVisible();
    await expectAccessible(page, 'snapshots, narrow and dark');
    await hs.go('history');
    await expect(page.getByRole('listitem').filter({ hasText: 'zypper dup' })).toBeVisible();
    await expectAccessible(page, 'history, narrow and dark');
    await page.setViewportSize({ width: 1360, height: 900 });
    await page.emulateMedia({ colorScheme: 'light' });
  });
});

test.describe('a MicroOS root', () => {
  test.describe.configure({ mode: 'serial' });
  test.skip(!!skip, skip || '');
  let hs: Opened;

  // biome-ignore lint/correctness/noEmptyPattern: Playwright reads the fixtures a hook asks for from this pattern
  test.beforeAll(async ({}, testInfo) => {
    testInfo.setTimeout(180_000);
    hs = await openOn('microos');
  });
  test.afterAll(async () => {
    await hs?.close();
  });

  test('says the root is read-only and shows the update as booting next', async () => {
    const { page, root } = hs;
    await expect(page.getByText('Read-only root')).toBeVisible();
    const update = page.getByRole('article').filter({
      has: page.getByRole('heading', { name: new RegExp(`^Snapshot ${root.story.update} `) }),
    });
    await expect(update.getByText('Boots next', { exact: true })).toBeVisible();
    await expect(update.getByText('Running', { exact: true })).toHaveCount(0);
    await expect(page.getByText(`Snapshot ${root.story.update} boots next`, { exact: true })).toBeVisible();
    await expectAccessible(page, 'microos snapshots');
  });
});
