import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { FINALIZE_UNIT } from '../../electron/helper/finalize.ts';
import type { UpgradeCheck } from '../../shared/types.ts';
import { ADDED_PACKAGE, type GuestImage, KARGS, MARKER_CONFFILE, MARKER_PACKAGE } from './guest-image.ts';
import { privilegedPath } from './privileged.ts';
import {
  assertAgree,
  booted,
  freePort,
  guestStatus,
  inBrowser,
  rebootWith,
  startServe,
  vmImage,
  vmSkipReason,
  withGuest,
} from './vm-support.ts';

/**
 * Hindsight inside a real booted OSTree system: a Debian 12 guest under QEMU that boots through
 * extlinux and ostree's own boot config, so every reboot boots what ostree chose. The real CLI and
 * helper run in the guest as root (and, at the end of the rollback flow, as users, through Debian's
 * pkexec and polkitd to the helper as a package installs it); every claim is checked against
 * `ostree admin status` there, before and after each reboot. One image is built per machine (cached); each flow boots its own
 * copy of it. Boots are the expensive part under TCG, so each flow carries several of the issue's
 * scenarios (numbered as there) through as few reboots as they need.
 */

const skip = vmSkipReason();
const SCENARIO_TIMEOUT = 15 * 60_000;
const DPKG_DB = '--admindir=/usr/share/dpkg/database';

describe('booted OSTree guest', { skip, concurrency: 2 }, () => {
  let image: GuestImage;

  before(
    () => {
      const t = Date.now();
      image = vmImage((line) => console.log(`# vm image [${Math.round((Date.now() - t) / 1000)} s] ${line}`));
      console.log(
        `# vm image: ${image.cached ? 'cached' : `built (rootfs ${image.timings.rootfs} s, image ${image.timings.image} s)`}, kernel ${image.kernel}`,
      );
    },
    { timeout: 30 * 60_000 },
  );

  it('upgrade flow: status, cancel, an armed staged upgrade, /etc into the staged deployment, pin', {
    timeout: SCENARIO_TIMEOUT,
  }, async () => {
    await withGuest('upgrade-flow', image, async (guest) => {
      // (1) status on the booted system, without --sysroot.
      const first = await guestStatus(guest, 'first-boot');
      assertAgree(first);
      assert.equal(first.hindsight.length, 1);
      assert.equal(booted(first).checksum, image.commits['1.0']);
      assert.deepEqual(booted(first).kargs, KARGS, 'kernel arguments of the booted entry');

      const check = await guest.ok('upgrade-check', 'hindsight upgrade --check --json');
      const offered = JSON.parse(check.stdout) as UpgradeCheck;
      assert.equal(offered.available?.checksum, image.commits['2.0']);
      assert.equal(offered.available?.version, '2.0');
      assert.deepEqual(
        offered.available?.delta?.upgraded.map((p) => p.name),
        [MARKER_PACKAGE],
      );

      // (3) cancel a staged update, reboot: the old deployment boots, nothing lost.
      await guest.ok('edit-before-cancel', 'echo "kept" > /etc/hindsight-before-cancel');
      await guest.ok('upgrade-to-cancel', 'hindsight upgrade');
      const toCancel = await guestStatus(guest, 'staged-to-cancel');
      assertAgree(toCancel);
      assert.equal(toCancel.hindsight.filter((d) => d.staged).length, 1);
      const cancel = await guest.ok('cancel', 'hindsight cancel && test ! -e /run/ostree/staged-deployment');
      assert.match(cancel.stdout, /Cancelled the staged update 2\.0/);
      const cancelled = await guestStatus(guest, 'cancelled');
      assertAgree(cancelled);
      assert.deepEqual(
        cancelled.hindsight.map((d) => d.checksum),
        [image.commits['1.0']],
      );
      await rebootWith(guest, 'reboot-after-cancel', 'hindsight reboot');
      const afterCancel = await guestStatus(guest, 'after-cancel');
      assertAgree(afterCancel);
      assert.deepEqual(
        afterCancel.hindsight.map((d) => [d.checksum, d.booted]),
        [[image.commits['1.0'], true]],
      );
      assert.equal((await guest.ok('kept', 'cat /etc/hindsight-before-cancel')).stdout, 'kept\n');

      // (2) upgrade stages; it is reported ready only once finalization is armed. The path unit's
      // head start is taken away, so nothing but Hindsight arms it, as in the window right after
      // `ostree admin deploy --stage` on ostree 2022.7.
      await guest.ok('stop-finalize-path', 'systemctl stop ostree-finalize-staged.path');
      const upgrade = await guest.ok('upgrade', 'hindsight upgrade');
      assert.match(upgrade.stdout, /staged/);
      const armed = await guest.run('finalize-armed', `systemctl is-active ${FINALIZE_UNIT}`);
      assert.equal(armed.stdout.trim(), 'active', 'ready only once finalization is armed');
      const staged = await guestStatus(guest, 'staged');
      assertAgree(staged);
      const next = staged.hindsight.find((d) => d.staged);
      assert.ok(next, 'a staged deployment');
      assert.equal(next.checksum, image.commits['2.0']);
      assert.equal(next.index, 0);
      // (1) a staged deployment has no boot entry yet: the arguments it will boot with.
      assert.deepEqual(next.kargs, KARGS, 'a staged deployment shows the kernel arguments it will boot with');
      await guest.ok('edit-after-staging', 'echo "edited after staging" > /etc/hindsight-after-staging');

      // (5) a resolution for the staged deployment goes through the merge source, the live /etc.
      await guest.ok('local-edit', `sed -i 's/^channel=stable$/channel=beta/' /etc/${MARKER_CONFFILE}`);
      const merge = await guest.ok('merge', 'hindsight etc merge booted staged --json');
      const file = (
        JSON.parse(merge.stdout) as { files: { path: string; merge: string; merged?: string }[] }
      ).files.find((f) => f.path === MARKER_CONFFILE);
      assert.equal(file?.merge, 'clean');
      const merged = '# Hindsight guest\nchannel=beta\nlog=info\nretries=3\n';
      assert.equal(file?.merged, merged);
      const unasked = await guest.run(
        'apply-staged-unasked',
        `hindsight etc apply booted staged --path ${MARKER_CONFFILE} --take merged`,
      );
      assert.equal(unasked.code, 1);
      assert.match(unasked.stderr, /staged: ostree builds its \/etc at shutdown from the live \/etc/);
      const apply = `hindsight etc apply booted staged --path ${MARKER_CONFFILE} --take merged --allow-booted`;
      await guest.ok('apply-staged', apply);
      assert.equal((await guest.ok('merged-live', `cat /etc/${MARKER_CONFFILE}`)).stdout, merged);
      await guest.ok('undo-staged', 'hindsight etc undo');
      assert.equal(
        (await guest.ok('undone-staged', `cat /etc/${MARKER_CONFFILE}`)).stdout,
        '# Hindsight guest\nchannel=beta\nlog=info\n',
      );
      await guest.ok('apply-staged-again', apply);

      // (2) the reboot boots the staged update with everything done since staging.
      await rebootWith(guest, 'reboot-into-2.0', 'hindsight reboot');
      const on2 = await guestStatus(guest, 'on-2.0');
      assertAgree(on2);
      assert.equal(booted(on2).checksum, image.commits['2.0']);
      assert.equal(booted(on2).index, 0);
      assert.equal(on2.hindsight.find((d) => d.rollback)?.checksum, image.commits['1.0']);
      const files = await guest.ok(
        'files-on-2.0',
        `cat /etc/hindsight-after-staging; dpkg-query ${DPKG_DB} -W -f '\${Package} \${Version}\\n' ${MARKER_PACKAGE} ${ADDED_PACKAGE}; echo @@; cat /etc/${MARKER_CONFFILE}`,
      );
      const [facts = '', conf = ''] = files.stdout.split('@@\n');
      assert.match(facts, /^edited after staging$/m, 'an /etc edit made after staging survives the reboot');
      assert.match(facts, new RegExp(`^${MARKER_PACKAGE} 2\\.0-1$`, 'm'));
      assert.match(facts, new RegExp(`^${ADDED_PACKAGE} 1\\.0-1$`, 'm'));
      assert.equal(conf, merged, 'the resolution applied for the staged deployment is its /etc now');

      // (7) pin the rollback: a staged deploy, whose finalization prunes the old rollback, keeps it.
      await guest.ok('pin', 'hindsight pin rollback');
      const pinned = await guestStatus(guest, 'pinned');
      assertAgree(pinned);
      assert.equal(pinned.hindsight.find((d) => d.rollback)?.pinned, true);
      await guest.ok('stage-1.0', 'hindsight deploy 1.0');
      await rebootWith(guest, 'reboot-into-new-1.0', 'hindsight reboot');
      const three = await guestStatus(guest, 'three');
      assertAgree(three);
      assert.deepEqual(
        three.hindsight.map((d) => [d.checksum, d.booted, d.pinned]),
        [
          [image.commits['1.0'], true, false],
          [image.commits['2.0'], false, false],
          [image.commits['1.0'], false, true],
        ],
        'the pinned deployment outlived the staged deploy that would have pruned it',
      );
      const refused = await guest.run('undeploy-pinned', 'hindsight undeploy 2');
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /pinned; unpin it first/);
      await guest.ok('undeploy', 'hindsight undeploy 1');
      const two = await guestStatus(guest, 'two');
      assertAgree(two);
      assert.deepEqual(
        two.hindsight.map((d) => [d.checksum, d.booted, d.pinned]),
        [
          [image.commits['1.0'], true, false],
          [image.commits['1.0'], false, true],
        ],
      );
    });
  });

  it('rollback flow: /etc into another deployment and the live one, rollback and back across reboots, pkexec', {
    timeout: SCENARIO_TIMEOUT,
  }, async () => {
    const port = await freePort();
    await withGuest(
      'rollback-flow',
      image,
      async (guest) => {
        await guest.ok('upgrade', 'hindsight upgrade');
        await rebootWith(guest, 'reboot-into-2.0', 'hindsight reboot');
        const start = await guestStatus(guest, 'on-2.0');
        assertAgree(start);
        assert.equal(booted(start).checksum, image.commits['2.0']);
        const other = start.hindsight.find((d) => !d.booted);
        assert.ok(other);
        const otherEtc = `/ostree/deploy/${other.stateroot}/deploy/${other.checksum}.${other.serial}/etc`;

        // (5) into a deployment that is not booted, reached through /ostree -> sysroot/ostree.
        await guest.ok('local-file', 'echo "only on 2.0" > /etc/hindsight-local');
        await guest.ok(
          'apply-other',
          `hindsight etc apply booted ${other.index} --path hindsight-local --take local`,
        );
        assert.equal(
          (await guest.ok('applied-other', `cat ${otherEtc}/hindsight-local`)).stdout,
          'only on 2.0\n',
        );
        await guest.ok('undo-other', `hindsight etc undo && test ! -e ${otherEtc}/hindsight-local`);

        // (5) into the live /etc: only when asked.
        const refused = await guest.run(
          'apply-live-unasked',
          `hindsight etc apply ${other.index} booted --path ${MARKER_CONFFILE} --take local`,
        );
        assert.equal(refused.code, 1);
        assert.match(refused.stderr, /running now.*--allow-booted/);
        await guest.ok(
          'apply-live',
          `hindsight etc apply ${other.index} booted --path ${MARKER_CONFFILE} --take local --allow-booted`,
        );
        assert.doesNotMatch((await guest.ok('live', `cat /etc/${MARKER_CONFFILE}`)).stdout, /retries/);
        await guest.ok('undo-live', 'hindsight etc undo');
        assert.match((await guest.ok('live-undone', `cat /etc/${MARKER_CONFFILE}`)).stdout, /^retries=3$/m);

        // (4) rollback, then the same command again: the order is back as it was, nothing redeployed.
        await guest.ok('edit-on-2.0', 'echo "made on 2.0" > /etc/hindsight-rollback-marker');
        await guest.ok('rollback', 'hindsight rollback');
        const rolled = await guestStatus(guest, 'rolled-back');
        assertAgree(rolled);
        assert.equal(rolled.hindsight[0]?.checksum, image.commits['1.0']);
        assert.equal(rolled.hindsight[0]?.pending, true);
        await guest.ok('undo', 'hindsight rollback');
        const undone = await guestStatus(guest, 'undone');
        assertAgree(undone);
        assert.equal(
          undone.ostreeText,
          start.ostreeText,
          'undo before the reboot leaves the boot order as it was',
        );

        // (6) the app inside the guest, in browser mode, from the host's Chromium: "Make next boot",
        // "Reboot now"; the page says the machine is restarting and comes back by itself.
        await inBrowser(guest, port, async (page, shot) => {
          const card = (checksum: string) =>
            page.locator('article.deployment-card').filter({ hasText: checksum.slice(0, 10) });
          await card(image.commits['1.0']).getByRole('button', { name: 'Make next boot' }).click();
          await card(image.commits['1.0']).getByText('Next boot', { exact: true }).waitFor();
          await shot('1-next-boot');
          const chosen = await guestStatus(guest, 'chosen-in-browser');
          assertAgree(chosen);
          assert.equal(chosen.hindsight[0]?.checksum, image.commits['1.0']);
          const boots = guest.boots().length;
          await page.getByRole('button', { name: 'Reboot now' }).first().click();
          await page.getByRole('dialog').getByRole('button', { name: 'Reboot now' }).click();
          await page.getByText('Restarting… this page reconnects when the system is back').waitFor();
          await shot('2-restarting');
          await guest.waitForBoot(boots + 1);
          await startServe(guest, port);
          await card(image.commits['1.0'])
            .getByText('Running now', { exact: true })
            .waitFor({ timeout: 120_000 });
          await page.getByText(/Restarting|reconnecting/).waitFor({ state: 'detached' });
          await shot('3-back-on-1.0');
        });
        const on1 = await guestStatus(guest, 'on-1.0');
        assertAgree(on1);
        assert.equal(booted(on1).checksum, image.commits['1.0']);
        assert.equal(booted(on1).index, 0);
        const own = await guest.run('own-etc-1.0', 'test ! -e /etc/hindsight-rollback-marker');
        assert.equal(own.code, 0, '1.0 boots with its own /etc: the edit made on 2.0 is not there');

        await guest.ok('rollback-again', 'hindsight rollback');
        await rebootWith(guest, 'reboot-back-to-2.0', 'hindsight reboot');
        const back = await guestStatus(guest, 'back-on-2.0');
        assertAgree(back);
        assert.equal(booted(back).checksum, image.commits['2.0']);
        assert.equal(
          (await guest.ok('own-etc-2.0', 'cat /etc/hindsight-rollback-marker')).stdout,
          'made on 2.0\n',
        );

        // The privileged path as a package installs it, as a user, through pkexec (privileged.ts).
        // Last: the install lives in an overlay on /usr that the next boot drops.
        await privilegedPath(guest, back);
      },
      { forwardPort: port },
    );
  });
});
