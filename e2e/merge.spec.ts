import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deploymentEtc, expect, hindsightPerFile, selectorOf, test, version } from './support/hindsight.ts';

const hs = hindsightPerFile();

test('every /etc path of an upgrade is listed with what OSTree does to it', async () => {
  const { page } = hs;
  await hs.go('merge', { source: selectorOf(version(hs, '1.0')), target: selectorOf(version(hs, '2.0')) });
  const outcomes = page.getByRole('list', { name: 'Outcomes' });
  await expect(outcomes).toContainText('1 conflict');
  await expect(outcomes).toContainText('2 upstream changes hidden');
  await expect(outcomes).toContainText('1 takes the new default');
  const list = page.getByRole('complementary', { name: 'Paths and outcomes' });
  await expect(list.getByRole('region', { name: /Conflict/ })).toContainText('ssh/sshd_config');
  await expect(list.getByRole('region', { name: /Upstream change hidden/ })).toContainText('passwd');
  await expect(list.getByRole('region', { name: /Upstream change hidden/ })).toContainText('group');
});

test('a conflict blocks Apply until each hunk has a choice', async () => {
  const { page } = hs;
  const detail = page.getByRole('region', { name: '/etc/ssh/sshd_config' });
  await expect(detail.getByText('Not decided yet')).toBeVisible();
  const merge = detail.getByRole('region', { name: 'Three-way merge of /etc/ssh/sshd_config' });
  await expect(merge).toContainText('Port 2222');
  await expect(merge).toContainText('KbdInteractiveAuthentication no');
  await expect(page.getByRole('button', { name: 'Apply', exact: true })).toBeDisabled();
  await expect(page.getByText(/1 file with open conflicts/)).toBeVisible();

  await detail.getByRole('checkbox', { name: 'Show base' }).check();
  await expect(detail.getByText('Base (old image)')).toBeVisible();
  await detail.getByRole('button', { name: 'Hunk 1: take upstream' }).click();
  await expect(detail.getByRole('button', { name: 'Hunk 1: take upstream' })).toHaveAttribute(
    'aria-pressed',
    'true',
  );
  await expect(detail.getByText('Not decided yet')).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Apply', exact: true })).toBeEnabled();
  // Both: your lines, then the new image's, composed into the text that Apply writes.
  await detail.getByRole('button', { name: 'Hunk 1: take both' }).click();
  await expect(detail.getByRole('button', { name: 'Hunk 1: take both' })).toHaveAttribute(
    'aria-pressed',
    'true',
  );
  await expect(detail.getByText(/Apply writes your hunk choices/)).toBeVisible();
});

test('the account databases are merged entry by entry', async () => {
  const { page } = hs;
  await page.getByRole('button', { name: /^passwd/ }).click();
  const detail = page.getByRole('region', { name: '/etc/passwd' });
  await expect(detail.getByText('Upstream change hidden')).toBeVisible();
  const merged = detail.getByRole('region', { name: 'Entry-by-entry merge of /etc/passwd' });
  await expect(merged).toContainText('alice:x:1000');
  await expect(merged).toContainText('sshd:x:101');
});

test('Apply writes the resolutions into the target’s /etc, and Undo restores it', async () => {
  const { page } = hs;
  const target = version(hs, '2.0');
  const etc = deploymentEtc(hs.demo, target);
  const before = readFileSync(join(etc, 'passwd'), 'utf8');
  expect(before).not.toContain('sshd:');

  // 2.0 is not running: its /etc is read only when it boots, so Apply acts at once and offers Undo.
  await page.getByRole('button', { name: 'Apply', exact: true }).click();
  await expect(page.getByRole('dialog')).toHaveCount(0);
  const toast = page.getByRole('status').filter({ hasText: /Wrote 3 files to 2\.0’s \/etc/ });
  await expect(toast).toBeVisible({ timeout: 30_000 });
  await expect(toast.getByRole('button', { name: 'Undo' })).toBeVisible();

  const passwd = readFileSync(join(etc, 'passwd'), 'utf8');
  expect(passwd).toContain('alice:x:1000:1000');
  expect(passwd).toContain('sshd:x:101:65534');
  expect(readFileSync(join(etc, 'group'), 'utf8')).toContain('_ssh:x:107:');
  expect(readFileSync(join(etc, 'ssh', 'sshd_config'), 'utf8')).toBe(
    '# OpenSSH server\nPort 2222\nPermitRootLogin no\nPasswordAuthentication no\n' +
      'Port 22\nPermitRootLogin prohibit-password\nPasswordAuthentication yes\nKbdInteractiveAuthentication no\n' +
      'UsePAM yes\n',
  );
  await expect(page.getByRole('button', { name: /^passwd/ })).toContainText('Applied');

  await page.getByRole('button', { name: 'Undo last apply' }).click();
  await expect(page.getByRole('button', { name: 'Undo last apply' })).toHaveCount(0, { timeout: 30_000 });
  expect(readFileSync(join(etc, 'passwd'), 'utf8')).toBe(before);
  expect(readFileSync(join(etc, 'ssh', 'sshd_config'), 'utf8')).toContain('Port 2222\nPermitRootLogin no');
});

test('a whole-file edit is written as typed', async () => {
  const { page } = hs;
  await page.getByRole('button', { name: /^ssh\/sshd_config/ }).click();
  const detail = page.getByRole('region', { name: '/etc/ssh/sshd_config' });
  await detail.getByRole('radio', { name: 'Edit text' }).check();
  const editor = detail.getByRole('textbox', { name: 'Result text of /etc/ssh/sshd_config' });
  await editor.fill('# edited in Hindsight\nPort 2200\nUsePAM yes\n');
  await expect(detail.getByText(/Apply writes your edited text/)).toBeVisible();
});

test('system accounts an earlier merge lost are flagged and put back, not silently dropped', async () => {
  const { page } = hs;
  // 3.0's /etc lost sshd and _ssh in an earlier whole-file merge; the update (4.0) still ships them.
  // The update is downloaded first: a commit that is not in the repository cannot be reviewed yet.
  const ref = execFileSync('ostree', ['refs', `--repo=${hs.demo.remoteRepo}`], { encoding: 'utf8' }).trim();
  const update = execFileSync('ostree', ['rev-parse', `--repo=${hs.demo.remoteRepo}`, ref], {
    encoding: 'utf8',
  }).trim();
  execFileSync('ostree', ['pull-local', `--repo=${hs.demo.sysroot}/ostree/repo`, hs.demo.remoteRepo, update]);
  await hs.go('merge', { source: selectorOf(version(hs, '3.0')), target: update });
  for (const [file, account] of [
    ['passwd', 'sshd'],
    ['group', '_ssh'],
  ] as const) {
    await page.getByRole('button', { name: new RegExp(`^${file}`) }).click();
    const detail = page.getByRole('region', { name: `/etc/${file}` });
    await expect(detail.getByText(`Missing system account: ${account}`)).toBeVisible();
    const merged = detail.getByRole('region', { name: `Entry-by-entry merge of /etc/${file}` });
    await expect(merged).toContainText(`${account}:x:`);
  }
});
