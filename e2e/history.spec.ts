import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  deploymentEtc,
  expect,
  hindsightCli,
  hindsightPerFile,
  ostreeDeployments,
  selectorOf,
  test,
  version,
} from './support/hindsight.ts';

const hs = hindsightPerFile();

const nextBoot = (): string | null => ostreeDeployments(hs.demo.sysroot)[0]?.version ?? null;

test('History tells each change as a sentence, and a row’s Undo reverts it', async () => {
  const { page } = hs;
  // The app checks for updates when it opens, holding the sysroot's lock meanwhile; a change started
  // then is refused as busy. Let the check finish first.
  await hs.go('deployments');
  await expect(
    page.getByRole('region', { name: 'Update status' }).getByRole('button', { name: 'Check now' }),
  ).toBeVisible({ timeout: 60_000 });

  // From a terminal, as a person would: roll back, apply an /etc merge and undo it, a refused
  // rollback, a second apply (left for the row's Undo), a pin.
  hindsightCli(hs.demo, ['rollback']);
  const two = version(hs, '2.0');
  const three = version(hs, '3.0');
  const passwd = join(deploymentEtc(hs.demo, two), 'passwd');
  const original = readFileSync(passwd, 'utf8');
  const apply = () =>
    (
      JSON.parse(
        hindsightCli(hs.demo, ['etc', 'apply', '1', '0', '--path', 'passwd', '--take', 'merged', '--json']),
      ) as { backupId: string }
    ).backupId;
  const first = apply();
  hindsightCli(hs.demo, ['etc', 'undo', first]);
  expect(readFileSync(passwd, 'utf8')).toBe(original);
  expect(() => hindsightCli(hs.demo, ['rollback', '--to', selectorOf(two)])).toThrow();
  apply();
  const merged = readFileSync(passwd, 'utf8');
  expect(merged).not.toBe(original);
  hindsightCli(hs.demo, ['pin', selectorOf(three)]);

  await hs.go('history');
  const list = page.getByRole('region', { name: 'History records, newest first' });
  const row = (name: string | RegExp) => list.getByRole('listitem', { name });
  await expect(row('Pinned 3.0')).toBeVisible();
  await expect(row('Rolled back to 2.0 for the next boot')).toContainText('Before, 3.0 was the next boot.');
  await expect(row('Rolled back to 2.0 for the next boot')).toContainText('by root');
  await expect(row(/^Rolling back to 2\.0 failed: deployment 0 2\.0 already boots next/)).toContainText(
    'Failed',
  );
  await expect(row(/^Undid the \/etc change of .+ \(1 file restored\)$/)).toHaveCount(1);
  const applies = row('Applied 1 /etc file to 2.0');
  await expect(applies).toHaveCount(2);
  // Only the apply that is still in place can be undone; the older one was undone already.
  await expect(applies.nth(1).getByRole('button')).toHaveCount(0);

  // No terminal words: CLI hints, "file(s)", the audit log's raw keys and method names.
  const shown = (await page.locator('main').textContent()) ?? '';
  for (const raw of ['hindsight ', 'To undo', 'file(s)', 'backupId', 'etcApply', 'etcUndo', 'resolutions']) {
    expect(shown, `History shows "${raw}"`).not.toContain(raw);
  }

  // The row's Undo puts the file back on disk, at one click (2.0 does not run: nothing to confirm).
  await applies.first().getByRole('button', { name: 'Undo' }).click();
  await expect(page.getByText('Put back 1 /etc file of 2.0.')).toBeVisible({ timeout: 30_000 });
  await expect.poll(() => readFileSync(passwd, 'utf8')).toBe(original);
  await expect(row(/^Undid the \/etc change of .+ \(1 file restored\)$/)).toHaveCount(2);
  await expect(list.getByRole('button', { name: 'Undo', exact: true })).toHaveCount(0);

  // The rollback is still the pending next boot: its row undoes it, and offers the way back.
  await row('Rolled back to 2.0 for the next boot').getByRole('button', { name: 'Undo rollback' }).click();
  const notice = page.getByText('3.0 starts on the next boot again', { exact: true });
  await expect(notice).toBeVisible({ timeout: 30_000 });
  expect(nextBoot()).toBe('3.0');
  await expect(row('Rolled back to 3.0 for the next boot')).toBeVisible();
  // Only the newest change of the next boot can be undone from its row.
  await expect(
    row('Rolled back to 2.0 for the next boot').getByRole('button', { name: 'Undo rollback' }),
  ).toHaveCount(0);
  await page.getByRole('button', { name: 'Undo', exact: true }).click();
  await expect(notice).toBeHidden({ timeout: 30_000 });
  await expect.poll(nextBoot).toBe('2.0');
});
