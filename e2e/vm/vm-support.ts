import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import type { Deployment } from '../../shared/types.ts';
import { CHROMIUM_ARGS } from '../support/chromium-args.ts';
import { Guest, type StepResult } from './guest.ts';
import { defaultVmCache, GUEST_BASE, type GuestImage, guestImage, missingForVm } from './guest-image.ts';

/**
 * What every booted scenario shares: the image (built once per machine, cached), a guest per
 * scenario, and the comparison of Hindsight's view with `ostree admin status` inside the guest.
 */

/** One deployment as `ostree admin status` prints it (the reference Hindsight is checked against). */
export interface OstreeRow {
  id: string;
  booted: boolean;
  staged: boolean;
  pending: boolean;
  rollback: boolean;
  pinned: boolean;
}

const ROW = /^([* ]) (\S+) ([0-9a-f]{64}\.\d+)((?: \([^)]*\))*)\s*$/;

export function parseOstreeStatus(text: string): OstreeRow[] {
  const rows: OstreeRow[] = [];
  for (const line of text.split('\n')) {
    const m = ROW.exec(line);
    if (m) {
      const marks = m[4] ?? '';
      rows.push({
        id: m[3] as string,
        booted: m[1] === '*',
        staged: marks.includes('(staged)'),
        pending: marks.includes('(pending)'),
        rollback: marks.includes('(rollback)'),
        pinned: false,
      });
    } else if (/^\s+Pinned: yes\s*$/.test(line) && rows.length) {
      (rows[rows.length - 1] as OstreeRow).pinned = true;
    }
  }
  return rows;
}

export interface GuestStatus {
  ostree: OstreeRow[];
  ostreeText: string;
  hindsight: Deployment[];
}

/** Both views, taken in one step: `ostree admin status` and `hindsight status --json` (no --sysroot). */
export async function guestStatus(guest: Guest, name: string): Promise<GuestStatus> {
  const r = await guest.ok(
    `status-${name}`,
    'ostree admin status\necho "@@hindsight@@"\nhindsight status --json',
  );
  const [ostreeText = '', json = ''] = r.stdout.split('@@hindsight@@\n');
  return {
    ostree: parseOstreeStatus(ostreeText),
    ostreeText,
    hindsight: (JSON.parse(json) as { deployments: Deployment[] }).deployments,
  };
}

/** Hindsight and ostree agree on every deployment, its order and its states. */
export function assertAgree(s: GuestStatus): void {
  const ours = s.hindsight.map((d) => ({
    id: `${d.checksum}.${d.serial}`,
    booted: d.booted,
    staged: d.staged,
    // ostree marks a staged deployment "(staged)" only, not "(pending)" as well.
    pending: d.pending && !d.staged,
    rollback: d.rollback,
    pinned: d.pinned,
  }));
  assert.deepEqual(ours, s.ostree, `hindsight status disagrees with ostree admin status:\n${s.ostreeText}`);
}

export const booted = (s: GuestStatus): Deployment => {
  const d = s.hindsight.find((x) => x.booted);
  assert.ok(d, 'a deployment is booted');
  return d;
};

/** The image for this run, or the one line that says why this machine cannot boot it. */
export function vmImage(log: (line: string) => void): GuestImage {
  const missing = missingForVm();
  if (missing.length) {
    throw new Error(`booted-VM scenarios cannot run here: missing ${missing.join(', ')}`);
  }
  return guestImage({ log });
}

export function vmSkipReason(): string | false {
  return process.env.HINDSIGHT_SKIP_VM === '1'
    ? 'HINDSIGHT_SKIP_VM=1: booted-VM scenarios skipped on purpose'
    : false;
}

/** Boots a fresh guest, runs `body`, powers it off; on failure the logs stay and are named. */
export async function withGuest(
  name: string,
  image: GuestImage,
  body: (guest: Guest) => Promise<void>,
  options: { forwardPort?: number } = {},
): Promise<void> {
  const guest = new Guest(name, image, { cacheDir: defaultVmCache(), ...options });
  const started = Date.now();
  try {
    await guest.start();
    await body(guest);
    await guest.stop();
  } catch (error) {
    guest.kill();
    const e = error as Error;
    e.message = `${e.message}\n  guest logs: ${guest.dir} (serial.log, share/results)`;
    throw e;
  } finally {
    console.log(
      `# vm ${name}: ${Math.round((Date.now() - started) / 1000)} s, ${guest.boots().length} boot(s), logs ${guest.dir}`,
    );
  }
}

/** A reboot asked for inside the guest (by `script`), then the next boot. */
export async function rebootWith(guest: Guest, name: string, script: string): Promise<StepResult> {
  const before = guest.boots().length;
  const r = await guest.run(name, script);
  // The step either returned before the machine went down, or the reboot ended it.
  if (r.code !== 0 && r.code !== null) {
    assert.fail(`${r.name} exited ${r.code} instead of rebooting\n${r.stdout}\n${r.stderr}`);
  }
  await guest.waitForBoot(before + 1);
  return r;
}

/** A TCP port free on the host's loopback now (QEMU forwards it to the same port in the guest). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/**
 * Starts browser mode in the guest, as a user would after logging in (`hindsight serve`), with the
 * relay that lets QEMU's port forward reach its loopback address. Resolves to the printed address.
 */
export async function startServe(guest: Guest, port: number): Promise<string> {
  const run = '/run/hindsight-serve';
  const r = await guest.ok(
    'serve',
    [
      `mkdir -p ${run}`,
      `setsid ${GUEST_BASE}/tools/node ${GUEST_BASE}/project/e2e/vm/guest/forward-port.mjs 10.0.2.15 ${port} > ${run}/forward.log 2>&1 < /dev/null &`,
      `setsid hindsight serve --port ${port} > ${run}/url 2> ${run}/serve.log < /dev/null &`,
      `for i in $(seq 1 300); do [ -s ${run}/url ] && break; sleep 0.2; done`,
      `cat ${run}/url`,
    ].join('\n'),
  );
  const url = r.stdout.trim();
  assert.match(
    url,
    new RegExp(`^http://127\\.0\\.0\\.1:${port}/`),
    `hindsight serve printed its address: ${r.stderr}`,
  );
  return url;
}

/** The host's Chromium on the guest's browser mode; `shot` keeps screenshots beside the guest's logs. */
export async function inBrowser(
  guest: Guest,
  port: number,
  body: (page: Page, shot: (name: string) => Promise<void>) => Promise<void>,
): Promise<void> {
  const url = await startServe(guest, port);
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  try {
    const page = await (await browser.newContext({ viewport: { width: 1360, height: 900 } })).newPage();
    page.setDefaultTimeout(60_000);
    await page.goto(url);
    const shot = async (name: string): Promise<void> => {
      await page.screenshot({ path: join(guest.dir, `app-${name}.png`) });
    };
    try {
      await body(page, shot);
    } catch (error) {
      await shot('failure').catch(() => {});
      throw error;
    }
  } finally {
    await browser.close();
  }
}
