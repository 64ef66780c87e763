import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { CHROMIUM_ARGS, startServer } from '../../e2e/support/hindsight.ts';
import { TAB_SECRET_KEY } from '../../shared/ipc-contract.ts';
import type { PackageDelta, PackageEntry, StatusReport } from '../../shared/types.ts';
import { requireProgram, runSync, runSyncChecked } from '../core/exec.ts';
import {
  commitTree,
  createSysroot,
  deploy,
  editEtc,
  type FileSpec,
  removeFixture,
  type SysrootFixture,
} from '../core/fixtures/sysroot-fixture.ts';
import { filesDiff } from '../core/ostree/files-diff.ts';
import { readStatus } from '../core/ostree/sysroot.ts';
import { packageDelta } from '../core/packages/package-delta.ts';
import {
  buildEtc,
  buildPackages,
  type EtcMap,
  FIXTURES_DIR,
  localEdits,
  PROJECT_ROOT,
  rng,
} from './fixtures.ts';
import { type SampleOptions, type Stats, stats } from './measure.ts';

/**
 * The three browser-mode rows of `npm run bench`, measured with real parts: `hindsight serve` (the
 * bundled CLI in dist/, its helper and its cache) on a real OSTree sysroot, and Debian's Chromium
 * driven by playwright-core. Every time is taken inside the page (performance.now(), event
 * timestamps, a frame callback after the DOM changed), not from Playwright's round trips.
 *
 * Alone: node --import tsx electron/bench/browser.ts [--build] [row ids…]
 */

export type BrowserRowId = 'browser-deployment-list' | 'browser-filter-packages' | 'browser-open-diff';

export const BROWSER_ROW_IDS: readonly BrowserRowId[] = [
  'browser-deployment-list',
  'browser-filter-packages',
  'browser-open-diff',
];

/**
 * One row's measurement. Apart from `id`, these are the measured fields of run.ts's RowResult
 * (figure, hindsight, method, details), so a row can spread it: `{ ...base, ...measured }`.
 */
export interface BrowserRowResult {
  id: BrowserRowId;
  /** Median, ms. */
  figure: number;
  hindsight: { label: string; stats: Stats };
  /** In words: from which event to which event, and how it is taken. */
  method: string;
  details: Record<string, unknown>;
}

export interface BrowserBenchOptions {
  log: (line: string) => void;
  /** Which rows; all three by default. */
  rows?: readonly BrowserRowId[];
}

const RUNS: Record<BrowserRowId, SampleOptions> = {
  'browser-deployment-list': { warmup: 2, runs: 9 },
  'browser-filter-packages': { warmup: 3, runs: 15 },
  'browser-open-diff': { warmup: 2, runs: 9 },
};

const VIEWPORT = { width: 1360, height: 900 };
const CHROMIUM = '/usr/bin/chromium';

// ---------------------------------------------------------------------------------------------------
// The fixture: 10 deployments; the last two differ in every one of ~6,300 packages; the default
// deployment's /etc/hosts has a 20,000-line blocklist appended locally.

const HERE = dirname(fileURLToPath(import.meta.url));
const BUILDER_SOURCES = [
  join(HERE, 'browser.ts'),
  join(HERE, 'fixtures.ts'),
  join(PROJECT_ROOT, 'electron/core/fixtures/sysroot-fixture.ts'),
];
const FIXTURE_NAME = 'browser';
const MARKER = 'bench-fixture.json';

const DEPLOYMENTS = 10;
const BASE_PACKAGES = 6200;
const ADDED_PACKAGES = 150;
const ETC_FILES = 400;
const ETC_EDITS = 40;
const BLOCKLIST_LINES = 20_000;
/** The diff opened in the diff row, and the small one shown before it is clicked. */
const BIG_FILE = 'hosts';
const SMALL_FILE = 'hostname';
const FILTER_KEY = 'x';

const HOSTS = [
  '127.0.0.1\tlocalhost',
  '127.0.1.1\tworkstation',
  '',
  '# The following lines are desirable for IPv6 capable hosts',
  '::1     localhost ip6-localhost ip6-loopback',
  'ff02::1 ip6-allnodes',
  'ff02::2 ip6-allrouters',
].join('\n');

export interface BrowserFixture {
  name: typeof FIXTURE_NAME;
  root: string;
  sysroot: string;
  stateroot: string;
  ref: string;
  deployments: number;
  /** Packages in deployment 0 and in deployment 1. */
  packages: { default: number; rollback: number };
  etcFiles: number;
  /** Lines of /etc/hosts in the image and in the default deployment's /etc. */
  hostsLines: { image: number; local: number };
  buildSeconds: number;
}

export function browserFixtureHash(): string {
  const hash = createHash('sha256');
  for (const file of BUILDER_SOURCES) hash.update(readFileSync(file));
  hash.update(runSyncChecked(requireProgram('ostree', 'ostree-missing'), ['--version']));
  return hash.digest('hex').slice(0, 12);
}

function etcSpec(etc: EtcMap): Record<string, FileSpec> {
  const out: Record<string, FileSpec> = {};
  for (const [path, node] of etc) {
    out[path] =
      'symlink' in node
        ? { symlink: node.symlink }
        : { content: node.text, mode: node.mode, uid: node.uid, gid: node.gid };
  }
  return out;
}

const timestamp = (day: number): string =>
  new Date(Date.UTC(2025, 0, 1) + day * 86_400_000).toISOString().replace('.000Z', 'Z');

/** An image update touching a few dozen packages, as most updates do. */
function smallUpdate(list: PackageEntry[], r: () => number, v: number): PackageEntry[] {
  const next = list.map((p) => ({ ...p }));
  for (let i = 0; i < 40; i++) {
    const p = next[Math.floor(r() * next.length)] as PackageEntry;
    p.version = `${p.version}+b${v}`;
  }
  return next;
}

/**
 * The update that changes every package: most upgraded, some downgraded (a `~` suffix sorts
 * before the bare version), some removed, a few added. The compare screen lists only changes,
 * so this is what puts more than 6,000 rows under the search field.
 */
function wholeUpdate(list: PackageEntry[], r: () => number, v: number): PackageEntry[] {
  const next: PackageEntry[] = [];
  for (const p of list) {
    const x = r();
    if (x < 0.025) continue;
    next.push({ ...p, version: x < 0.05 ? `${p.version}~old${v}` : `${p.version}+rebuild${v}` });
  }
  for (let i = 0; i < ADDED_PACKAGES; i++)
    next.push({ name: `xorg-extra${i}`, version: `1.${i}-1`, arch: i % 5 ? 'amd64' : 'all' });
  return next;
}

function blocklist(count: number, seed: number): string {
  const r = rng(seed);
  const words = ['ads', 'track', 'metrics', 'pixel', 'beacon', 'stats', 'telemetry', 'cdn', 'promo', 'click'];
  const tlds = ['com', 'net', 'org', 'io', 'example'];
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const a = words[Math.floor(r() * words.length)] as string;
    const b = words[Math.floor(r() * words.length)] as string;
    const tld = tlds[Math.floor(r() * tlds.length)] as string;
    lines.push(`0.0.0.0 ${a}${Math.floor(r() * 1000)}.${b}-${i}.${tld}`);
  }
  return lines.join('\n');
}

function buildBrowserFixture(
  root: string,
  log: (line: string) => void,
): Omit<BrowserFixture, 'buildSeconds'> {
  const fx: SysrootFixture = createSysroot(root, { stateroot: 'debian', ref: 'debian/bookworm/bench' });
  // What is measured is reading; skipping fsync only speeds up building.
  runSyncChecked(requireProgram('ostree', 'ostree-missing'), [
    'config',
    `--repo=${fx.repo}`,
    'set',
    'core.fsync',
    'false',
  ]);
  const etc = buildEtc(ETC_FILES, 41);
  const image = etcSpec(etc);
  image[BIG_FILE] = `${HOSTS}\n`;
  image[SMALL_FILE] = 'debian\n';
  const r = rng(42);
  let packages = buildPackages(BASE_PACKAGES, 43);
  let rollback = packages.length;
  for (let v = 1; v <= DEPLOYMENTS; v++) {
    if (v === DEPLOYMENTS) packages = wholeUpdate(packages, r, v);
    else if (v > 1) packages = smallUpdate(packages, r, v);
    commitTree(fx, {
      version: `12.${v}`,
      subject: `Hindsight bench browser image 12.${v}`,
      timestamp: timestamp(v * 14),
      kernel: `6.1.0-${20 + v}-amd64`,
      dpkg: packages,
      etc: image,
    });
    deploy(fx);
    if (v === DEPLOYMENTS - 1) rollback = packages.length;
    log(`  browser: deployment ${v}/${DEPLOYMENTS}`);
  }
  const local = `${HOSTS}\n${blocklist(BLOCKLIST_LINES, 44)}\n`;
  editEtc(fx, 0, {
    ...localEdits(etc, ETC_EDITS, 45),
    [BIG_FILE]: local,
    [SMALL_FILE]: 'workstation\n',
  });
  return {
    name: FIXTURE_NAME,
    root,
    sysroot: fx.sysroot,
    stateroot: fx.stateroot,
    ref: fx.ref,
    deployments: DEPLOYMENTS,
    packages: { default: packages.length, rollback },
    etcFiles: ETC_FILES + 2,
    hostsLines: { image: HOSTS.split('\n').length, local: local.split('\n').length - 1 },
  };
}

/** The fixture, built now or reused from bench/fixtures/browser-<hash>/ when its builder has not changed. */
export function ensureBrowserFixture(log: (line: string) => void): BrowserFixture {
  const hash = browserFixtureHash();
  mkdirSync(FIXTURES_DIR, { recursive: true });
  const root = join(FIXTURES_DIR, `${FIXTURE_NAME}-${hash}`);
  const marker = join(root, MARKER);
  if (existsSync(marker)) return JSON.parse(readFileSync(marker, 'utf8')) as BrowserFixture;
  for (const entry of readdirSync(FIXTURES_DIR)) {
    if (/^browser-[0-9a-f]{12}$/.test(entry)) removeFixture(join(FIXTURES_DIR, entry));
  }
  mkdirSync(root, { recursive: true });
  log('building fixture browser…');
  const started = performance.now();
  const built = buildBrowserFixture(root, log);
  const info: BrowserFixture = {
    ...built,
    buildSeconds: Math.round((performance.now() - started) / 100) / 10,
  };
  writeFileSync(marker, `${JSON.stringify(info, null, 2)}\n`);
  log(`  browser built in ${info.buildSeconds} s`);
  return info;
}

// ---------------------------------------------------------------------------------------------------
// In-page probes. They run in the page (plain JavaScript, no closures over Node values) and record
// times on one clock: performance.now() and event.timeStamp share the document's time origin.

/**
 * After the DOM change has been seen: the next frame callback, then a message posted from it, which
 * runs once that frame's style, layout and paint work is done. This is the "next paint" time.
 */
const NEXT_PAINT = `
  const afterNextPaint = (done) => requestAnimationFrame(() => {
    const frame = performance.now();
    const channel = new MessageChannel();
    channel.port1.onmessage = () => done(frame, performance.now());
    channel.port2.postMessage(null);
  });
`;

/** Armed on every document; acts only on #/deployments: when the list holds every card, in view. */
const LIST_PROBE = (cards: number) => `(() => {
  if (!location.hash.startsWith('#/deployments')) return;
  ${NEXT_PAINT}
  const probe = { inDom: null, frame: null, painted: null };
  window.__hsList = probe;
  const observer = new MutationObserver(() => {
    const list = document.querySelector('ol[aria-label="Deployments, newest first"]');
    if (!list) return;
    const articles = list.querySelectorAll(':scope > li > article');
    if (articles.length !== ${cards}) return;
    const first = articles[0].getBoundingClientRect();
    if (first.height === 0 || first.top >= innerHeight) return;
    observer.disconnect();
    probe.inDom = performance.now();
    afterNextPaint((frame, painted) => { probe.frame = frame; probe.painted = painted; });
  });
  observer.observe(document, { childList: true, subtree: true });
})();`;

interface Probe {
  start: number;
  inDom: number;
  frame: number;
  painted: number;
  /** Round trips to /api/invoke that started after the input: [start, end] in page time. */
  requests?: [number, number][];
}

/**
 * Arms a probe for one user input: `event` on window (capture phase, so before the app sees it)
 * gives the start; `ready(root)` is checked on every mutation under `rootSelector` after it.
 */
async function armInputProbe(page: Page, event: 'keydown' | 'click', rootSelector: string, ready: string) {
  await page.evaluate(`(() => {
    ${NEXT_PAINT}
    const root = document.querySelector(${JSON.stringify(rootSelector)});
    if (!root) throw new Error('no ${rootSelector} in the page');
    const ready = ${ready};
    const probe = { start: null, inDom: null, frame: null, painted: null };
    window.__hsProbe = probe;
    window.__hsProbeDone = new Promise((resolve) => {
      addEventListener(${JSON.stringify(event)}, (e) => { probe.start = e.timeStamp; }, { capture: true, once: true });
      const observer = new MutationObserver(() => {
        if (probe.start === null || !ready(root)) return;
        observer.disconnect();
        probe.inDom = performance.now();
        afterNextPaint((frame, painted) => {
          probe.frame = frame;
          probe.painted = painted;
          probe.requests = performance.getEntriesByType('resource')
            .filter((r) => r.name.endsWith('/api/invoke') && r.startTime >= probe.start)
            .map((r) => [r.startTime, r.responseEnd]);
          resolve(probe);
        });
      });
      observer.observe(root, { childList: true, subtree: true, attributes: true, characterData: true });
    });
  })()`);
}

const probeResult = (page: Page): Promise<Probe> => page.evaluate('window.__hsProbeDone') as Promise<Probe>;

/**
 * Waits, checking once a frame, until an expression is true in the page. Playwright's
 * waitForFunction evaluates a string with eval(), which the app's CSP (rightly) refuses.
 */
async function waitIn(page: Page, expression: string, timeoutMs = 60_000): Promise<void> {
  await page.evaluate(`new Promise((resolve, reject) => {
    const started = performance.now();
    const tick = () => {
      if (${expression}) return resolve(true);
      if (performance.now() - started > ${timeoutMs}) return reject(new Error('timed out: ' + ${JSON.stringify(expression)}));
      requestAnimationFrame(tick);
    };
    tick();
  })`);
}

const round = (x: number): number => Math.round(x * 10) / 10;

async function settle(page: Page): Promise<void> {
  // Two frames and a quiet moment, so one run's leftovers (deferred renders, GC) do not land in the next.
  await page.evaluate(
    'new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(r, 150))))',
  );
}

// ---------------------------------------------------------------------------------------------------
// Rows

interface Session {
  url: string;
  page: Page;
  fixture: BrowserFixture;
  status: StatusReport;
  log: (line: string) => void;
}

const selector = (status: StatusReport, index: number): string => {
  const d = status.deployments[index];
  if (!d) throw new Error(`no deployment ${index}`);
  return `${d.checksum}.${d.serial}`;
};

async function deploymentList(s: Session): Promise<BrowserRowResult> {
  const { page } = s;
  const cards = s.fixture.deployments;
  await page.addInitScript({ content: LIST_PROBE(cards) });
  const once = async (): Promise<{ painted: number; inDom: number; fcp: number | null; invokes: number }> => {
    await page.goto('about:blank');
    await page.goto(`${s.url}#/deployments`);
    await waitIn(page, 'window.__hsList && window.__hsList.painted !== null');
    return (await page.evaluate(`(() => {
      const p = window.__hsList;
      const fcp = performance.getEntriesByName('first-contentful-paint')[0];
      const invokes = performance.getEntriesByType('resource').filter((r) => r.name.endsWith('/api/invoke'));
      return { painted: p.painted, inDom: p.inDom, fcp: fcp ? fcp.startTime : null, invokes: invokes.length };
    })()`)) as { painted: number; inDom: number; fcp: number | null; invokes: number };
  };
  const runs = RUNS['browser-deployment-list'];
  const first = await once();
  for (let i = 1; i < runs.warmup; i++) await once();
  const samples: Awaited<ReturnType<typeof once>>[] = [];
  for (let i = 0; i < runs.runs; i++) samples.push(await once());
  // Verify what was timed: every card is there and the newest is on screen.
  const shown = page.getByRole('list', { name: 'Deployments, newest first' }).getByRole('article');
  const count = await shown.count();
  if (count !== cards) throw new Error(`the deployment list shows ${count} cards, expected ${cards}`);
  if (!(await shown.first().isVisible())) throw new Error('the newest deployment card is not visible');
  const st = stats(samples.map((x) => x.painted));
  return {
    id: 'browser-deployment-list',
    figure: st.median,
    hindsight: {
      label: `deployment list of ${cards} deployments painted, ms after navigation start`,
      stats: st,
    },
    method:
      `Chromium ${chromiumVersion()} (headless, ${VIEWPORT.width}×${VIEWPORT.height}) on \`hindsight serve --sysroot\` of the browser fixture (${cards} deployments). ` +
      `Each run is a new navigation of the same tab to the served address (#/deployments; the tab traded the printed one-time link for its secret in an untimed load before): the HTML, app.js (${appJsSize()} as dist/ holds it) and app.css are fetched again (the server sends no-store), React starts from nothing and asks the server for app info, status and notes; the server and its helper are already running (the first timed load is in details.firstLoadMs). ` +
      `Timed in the page from navigation start (performance.now() = 0, the document's time origin) to the end of the first frame in which the timeline list holds all ${cards} deployment cards and the newest one is inside the viewport: a MutationObserver installed before any page script sees that state, then a requestAnimationFrame callback and a message posted from it, whose handler runs after that frame's style, layout and paint on the page's main thread (the compositor then puts it on screen); performance.now() there is the figure. ` +
      `${runs.warmup} warm-up loads, ${runs.runs} timed.`,
    details: {
      firstLoadMs: round(first.painted),
      listInDomMedianMs: stats(samples.map((x) => x.inDom)).median,
      firstContentfulPaintMedianMs: stats(samples.filter((x) => x.fcp !== null).map((x) => x.fcp as number))
        .median,
      invokeRequestsBeforeListPainted: samples[0]?.invokes ?? null,
    },
  };
}

/** The rows the compare screen shows for a query, computed from the engine's delta, not the page. */
function expectedRows(delta: PackageDelta, q: string): { groups: number; items: number; height: number } {
  let groups = 0;
  let items = 0;
  for (const key of ['upgraded', 'downgraded', 'added', 'removed'] as const) {
    const n = (delta[key] as { name: string }[]).filter((p) => p.name.toLowerCase().includes(q)).length;
    if (n) {
      groups++;
      items += n;
    }
  }
  // The list's estimated heights (package-delta-view.tsx): 44 px per group heading, 34 per package.
  return { groups, items, height: groups * 44 + items * 34 };
}

/** Waits until the package list is exactly `height` px tall (the whole list, or the filtered one). */
function listHeight(page: Page, height: number): Promise<void> {
  return waitIn(
    page,
    `document.querySelector('section.delta-view ul.virtual-inner')?.style.height === '${height}px'`,
  );
}

async function filterPackages(s: Session): Promise<BrowserRowResult> {
  const { page } = s;
  const delta = await packageDelta(s.status, '1', '0');
  const changed = delta.upgraded.length + delta.downgraded.length + delta.added.length + delta.removed.length;
  const all = expectedRows(delta, '');
  const want = expectedRows(delta, FILTER_KEY);
  await page.goto('about:blank');
  await page.goto(`${s.url}#/compare?from=${selector(s.status, 1)}&to=${selector(s.status, 0)}`);
  const search = page.getByRole('searchbox', { name: 'Search packages' });
  await search.waitFor({ timeout: 60_000 });
  // The list's height is how the probe knows the filter ran: the whole list must measure exactly
  // the engine's count of rows first (this fails on a renderer whose row heights changed).
  await listHeight(page, all.height);
  await search.focus();
  const ready = `(root) => root.querySelector('ul.virtual-inner')?.style.height === '${want.height}px'`;
  const once = async (): Promise<Probe> => {
    await settle(page);
    await armInputProbe(page, 'keydown', 'section.delta-view', ready);
    await page.keyboard.press(FILTER_KEY);
    const probe = await probeResult(page);
    // Back to the whole list for the next run (Escape clears the field), and wait for it.
    await page.keyboard.press('Escape');
    await listHeight(page, all.height);
    return probe;
  };
  const runs = RUNS['browser-filter-packages'];
  for (let i = 0; i < runs.warmup; i++) await once();
  const samples: Probe[] = [];
  for (let i = 0; i < runs.runs; i++) samples.push(await once());
  // Verify once more, by eye as a person would: every row on screen names a matching package.
  await page.keyboard.press(FILTER_KEY);
  await listHeight(page, want.height);
  const names = await page.locator('section.delta-view .delta-name').allTextContents();
  if (!names.length || names.some((n) => !n.toLowerCase().includes(FILTER_KEY)))
    throw new Error(`rows after filtering do not all match "${FILTER_KEY}": ${names.slice(0, 5).join(', ')}`);
  const heading = (await page.locator('section.delta-view .delta-group-count').first().textContent()) ?? '';
  if (!/ of /.test(heading)) throw new Error(`the first group heading does not say "N of M": ${heading}`);
  await page.keyboard.press('Escape');
  const st = stats(samples.map((p) => p.painted - p.start));
  return {
    id: 'browser-filter-packages',
    figure: st.median,
    hindsight: {
      label: `one keystroke in "Search packages" over ${changed.toLocaleString('en')} changed packages, to the next frame`,
      stats: st,
    },
    method:
      `Compare screen of the browser fixture, deployment 1 → deployment 0: ${changed.toLocaleString('en')} package changes (${delta.upgraded.length} upgraded, ${delta.downgraded.length} downgraded, ${delta.added.length} added, ${delta.removed.length} removed), all listed under the search field (virtualised list). ` +
      `Each run types one key ("${FILTER_KEY}") into the empty search field (Playwright keyboard.press, a real key event through Chromium's input pipeline); the filter keeps ${want.items.toLocaleString('en')} packages in ${want.groups} groups. ` +
      `Timed in the page from the keydown event's timeStamp (read by a capture listener on window) to the end of the first frame after the list re-rendered with the filtered rows: a MutationObserver on the list sees the list's height become the height of exactly ${want.items} package rows and ${want.groups} group headings (counted from the engine's own delta, not the page), then a requestAnimationFrame callback and a message posted from it, whose handler runs after that frame's style, layout and paint on the page's main thread; performance.now() there minus the keydown timeStamp is the figure. ` +
      `Escape clears the field between runs and the whole list is waited for; ${runs.warmup} warm-up keystrokes, ${runs.runs} timed.`,
    details: {
      changedPackages: changed,
      query: FILTER_KEY,
      rowsAfterFilter: want.items,
      keystrokeToListInDomMedianMs: stats(samples.map((p) => p.inDom - p.start)).median,
    },
  };
}

async function openDiff(s: Session): Promise<BrowserRowResult> {
  const { page } = s;
  const deployment = selector(s.status, 0);
  const added = s.fixture.hostsLines.local - s.fixture.hostsLines.image;
  const region = `Changes to /etc/${BIG_FILE}`;
  // Ready: the big file's diff region has rows in it and its stats say +N −0.
  const ready = `(root) => {
    const region = root.querySelector('section[aria-label=${JSON.stringify(region)}]');
    if (!region || !region.querySelector('.virtual-row .diff-cell')) return false;
    const add = root.querySelector('.diff-stat-add');
    return !!add && add.textContent === '+${added}';
  }`;
  const item = page.getByRole('tree').getByRole('treeitem', { name: new RegExp(`^${BIG_FILE}`) });
  const once = async (): Promise<Probe> => {
    // A new document each run, so the file is asked of the server again (no client cache).
    await page.goto('about:blank');
    await page.goto(`${s.url}#/etc?deployment=${deployment}&path=${SMALL_FILE}`);
    await page
      .getByRole('region', { name: `Changes to /etc/${SMALL_FILE}` })
      .waitFor({ state: 'visible', timeout: 60_000 });
    // Root files come after the folders: scroll the tree down to it, as a person would.
    await page.locator('.tree-scroll').evaluate((el) => {
      el.scrollTop = el.scrollHeight;
    });
    await item.waitFor({ state: 'visible' });
    await settle(page);
    await armInputProbe(page, 'click', '.pane-detail', ready);
    await item.click();
    return probeResult(page);
  };
  const runs = RUNS['browser-open-diff'];
  for (let i = 0; i < runs.warmup; i++) await once();
  const samples: Probe[] = [];
  for (let i = 0; i < runs.runs; i++) samples.push(await once());
  // Verify: the diff holds the whole file; scrolled to its end it shows the blocklist's last line.
  const lastLine = blocklist(BLOCKLIST_LINES, 44).split('\n').pop() as string;
  // The screen scrolls as one page (main), the diff's rows drawn for what is in view of it.
  const diff = page.getByRole('region', { name: region });
  const scroller = page.locator('main');
  for (let i = 0; i < 20; i++) {
    const atEnd = await scroller.evaluate((el) => {
      el.scrollTop = el.scrollHeight;
      return el.scrollTop + el.clientHeight >= el.scrollHeight - 2;
    });
    await page.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))');
    if (atEnd && (await diff.getByText(lastLine).count())) break;
  }
  // The last cell on the new side: the file's last line, with its number, on screen.
  const lastCell = diff.locator('.diff-new').last();
  const lastText = (await lastCell.locator('.diff-text').textContent()) ?? '';
  const lastNo = await lastCell.locator('.diff-no').textContent();
  if (
    !lastText.endsWith(lastLine) ||
    Number(lastNo) !== s.fixture.hostsLines.local ||
    !(await lastCell.isVisible())
  )
    throw new Error(
      `at the diff's end: line ${lastNo} "${lastText}", expected line ${s.fixture.hostsLines.local} "${lastLine}"`,
    );
  const st = stats(samples.map((p) => p.painted - p.start));
  const server = samples.map((p) => {
    const [a, b] = p.requests?.[0] ?? [p.start, p.start];
    return b - a;
  });
  return {
    id: 'browser-open-diff',
    figure: st.median,
    hindsight: {
      label: `click on /etc/${BIG_FILE} to its ${added.toLocaleString('en')}-line diff painted`,
      stats: st,
    },
    method:
      `/etc changes screen of the browser fixture, deployment 0, in the side-by-side layout (the default). /etc/${BIG_FILE} is ${s.fixture.hostsLines.image} lines in the image and ${s.fixture.hostsLines.local.toLocaleString('en')} in this deployment's /etc (a ${added.toLocaleString('en')}-line blocklist appended), so its diff is one hunk of ${added.toLocaleString('en')} added lines after 3 of context (virtualised view). ` +
      `Each run loads the screen afresh with /etc/${SMALL_FILE} open (a new document: nothing cached in the page), waits for it, then clicks /etc/${BIG_FILE} in the tree (Playwright click: real mouse events). ` +
      "Timed in the page from the click event's timeStamp (capture listener on window) to the end of the first frame in which the diff view shows rows of that file and its header says +" +
      `${added} −0: a MutationObserver on the detail pane sees that state, then a requestAnimationFrame callback and a message posted from it, whose handler runs after that frame's style, layout and paint on the page's main thread; performance.now() there minus the click timeStamp is the figure. ` +
      "The figure includes the request to the server (the helper reads both versions and computes the hunks), the JSON transfer and parse, and React's render; details.serverRoundTripMedianMs is the request alone, from the page's Resource Timing entry. " +
      `${runs.warmup} warm-up opens, ${runs.runs} timed.`,
    details: {
      diffLines: added,
      fileLines: s.fixture.hostsLines.local,
      clickToDiffInDomMedianMs: stats(samples.map((p) => p.inDom - p.start)).median,
      serverRoundTripMedianMs: stats(server).median,
    },
  };
}

// ---------------------------------------------------------------------------------------------------

function appJsSize(): string {
  const bytes = statSync(join(PROJECT_ROOT, 'dist', 'renderer', 'app.js')).size;
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

let chromiumVersionText: string | null = null;
function chromiumVersion(): string {
  return chromiumVersionText ?? 'unknown';
}

interface OpenBrowser {
  /** The served address without its one-time link: this tab holds its secret already. */
  url: string;
  page: Page;
  close(): Promise<void>;
}

/**
 * `hindsight serve --sysroot` (the e2e suite's own launcher, the app's data in a scratch folder) and
 * Debian's Chromium on it, the tab past its one-time link. dist/ must be built.
 */
async function openBrowser(sysroot: string): Promise<OpenBrowser> {
  for (const file of ['dist/cli.mjs', 'dist/helper.mjs', 'dist/renderer/app.js']) {
    if (!existsSync(join(PROJECT_ROOT, file))) throw new Error(`${file} is missing: run npm run build first`);
  }
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is not installed (apt-get install chromium)`);
  const scratch = mkdtempSync(join(tmpdir(), 'hindsight-bench-browser-'));
  let server: Awaited<ReturnType<typeof startServer>> | null = null;
  let context: BrowserContext | null = null;
  const close = async (): Promise<void> => {
    await context?.close().catch(() => undefined);
    await server?.stop();
    rmSync(scratch, { recursive: true, force: true });
  };
  try {
    server = await startServer({ root: scratch, sysroot, remoteRepo: '', embedded: false });
    context = await chromium.launchPersistentContext(join(scratch, 'chromium-profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: VIEWPORT,
    });
    chromiumVersionText = context.browser()?.version() ?? null;
    if (!chromiumVersionText) {
      const out = runSync(CHROMIUM, ['--version']).stdout.toString('utf8');
      chromiumVersionText = /Chromium ([0-9.]+)/.exec(out)?.[1] ?? null;
    }
    const page = context.pages()[0] ?? (await context.newPage());
    // The printed address works once: this tab trades its link for a secret of its own (kept in
    // sessionStorage across navigations of the tab), and every timed run loads the bare address.
    await page.goto(server.url);
    await waitIn(page, `sessionStorage.getItem(${JSON.stringify(TAB_SECRET_KEY)}) !== null`);
    return { url: `${new URL(server.url).origin}/`, page, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Measures the browser-mode rows; dist/ must be built (run.ts builds it first). */
export async function measureBrowserRows(options: BrowserBenchOptions): Promise<BrowserRowResult[]> {
  const { log } = options;
  const wanted = options.rows ?? BROWSER_ROW_IDS;
  const fixture = ensureBrowserFixture(log);
  const status = await readStatus({ sysroot: fixture.sysroot });
  const browser = await openBrowser(fixture.sysroot);
  try {
    const session: Session = { url: browser.url, page: browser.page, fixture, status, log };
    const rows: Record<BrowserRowId, (s: Session) => Promise<BrowserRowResult>> = {
      'browser-deployment-list': deploymentList,
      'browser-filter-packages': filterPackages,
      'browser-open-diff': openDiff,
    };
    const results: BrowserRowResult[] = [];
    for (const id of BROWSER_ROW_IDS) {
      if (!wanted.includes(id)) continue;
      log(`- ${id}…`);
      const before = loadavg()[0] ?? 0;
      const result = await rows[id](session);
      // Other work on the machine shows in these times (one page and one server share its cores).
      result.details.loadAverage1m = { before: round(before), after: round(loadavg()[0] ?? 0) };
      results.push(result);
    }
    return results;
  } finally {
    await browser.close();
  }
}

// ---------------------------------------------------------------------------------------------------
// Compare → Files, on the upgrade fixture (upgrade-fixture.ts): a sysroot of its own, so a server of its own.

export interface CompareFilesOptions {
  log: (line: string) => void;
  sysroot: string;
  /** The fixture in words, for the method text. */
  fixtureLabel: string;
}

export type CompareFilesResult =
  | (Omit<BrowserRowResult, 'id'> & { id: 'browser-compare-files' })
  | { skipped: string };

const COMPARE_FILES_RUNS: SampleOptions = { warmup: 2, runs: 9 };

/**
 * The Files control of the compare screen: a tab, or a segment of a segmented control (a radio in a
 * label, as the snapper compare screen has it). Null when the screen has neither.
 */
async function filesControl(page: Page) {
  const tab = page.getByRole('tab', { name: /^Files\b/ });
  if (await tab.count()) return tab.first();
  const radio = page.getByRole('radio', { name: /^Files\b/ });
  if (await radio.count()) return page.locator('label').filter({ has: radio }).first();
  return null;
}

/**
 * Clicks Files on the compare screen of deployment 1 → 0 and times it to the first frame that shows
 * the changed files. Reports `skipped` when the screen has no Files control (the OSTree compare
 * screen before it has one) or when no list of changed paths ever appears after the click.
 */
export async function measureCompareFiles(options: CompareFilesOptions): Promise<CompareFilesResult> {
  const { log, sysroot } = options;
  const status = await readStatus({ sysroot });
  const diff = filesDiff(status, '1', '0');
  // Every name on the changed paths' way: a tree shows folders first, a flat list whole paths.
  const names = new Set<string>();
  for (const e of diff.entries) for (const part of e.path.split('/')) if (part) names.add(part);
  const browser = await openBrowser(sysroot);
  try {
    const { page } = browser;
    const address = `${browser.url}#/compare?from=${selector(status, 1)}&to=${selector(status, 0)}`;
    // The screen as a user finds it: packages shown, then Files clicked.
    const load = async () => {
      await page.goto('about:blank');
      await page.goto(address);
      await page.getByRole('heading', { name: 'Compare' }).first().waitFor({ timeout: 60_000 });
      await page.getByRole('searchbox', { name: 'Search packages' }).waitFor({ timeout: 60_000 });
      return filesControl(page);
    };
    if (!(await load())) {
      log('no Files tab on the compare screen: not measured');
      return { skipped: 'not measured: no Files tab on the compare screen (renderer/screens/compare.tsx)' };
    }
    // Ready: a tree (or list) of changed paths holding an item named after a part of a changed path.
    const ready = `(() => {
      const names = new Set(${JSON.stringify([...names])});
      return (root) => {
        for (const item of root.querySelectorAll('[role=tree] [role=treeitem], [role=list] [role=listitem]')) {
          const label = item.querySelector('.tree-name') || item;
          if ((label.textContent || '').split('/').some((part) => names.has(part.trim()))) return true;
        }
        return false;
      };
    })()`;
    const once = async (): Promise<Probe> => {
      const control = await load();
      if (!control) throw new Error('the Files control went away between runs');
      await settle(page);
      await armInputProbe(page, 'click', 'main', ready);
      await control.click();
      return Promise.race([
        probeResult(page),
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error('no changed path was shown within 30 s of the click')), 30_000),
        ),
      ]);
    };
    const samples: Probe[] = [];
    try {
      for (let i = 0; i < COMPARE_FILES_RUNS.warmup; i++) await once();
      for (let i = 0; i < COMPARE_FILES_RUNS.runs; i++) samples.push(await once());
    } catch (error) {
      return { skipped: `not measured: Files was clicked, but ${(error as Error).message}` };
    }
    // What was timed, checked once: the caption counts every changed path.
    const caption = (await page.locator('main').textContent()) ?? '';
    const counted = caption.replace(/[,.\u00a0\u202f ]/g, '').includes(`${diff.entries.length}changedpath`);
    const st = stats(samples.map((p) => p.painted - p.start));
    const server = samples.map((p) => {
      const [a, b] = p.requests?.[0] ?? [p.start, p.start];
      return b - a;
    });
    return {
      id: 'browser-compare-files',
      figure: st.median,
      hindsight: {
        label: `click on Files to the first frame showing changed paths (${diff.entries.length.toLocaleString('en')} of them)`,
        stats: st,
      },
      method:
        `Chromium ${chromiumVersion()} (headless, ${VIEWPORT.width}×${VIEWPORT.height}) on \`hindsight serve --sysroot\` of the ${options.fixtureLabel}; compare screen, deployment 1 → deployment 0. ` +
        'Each run loads the screen afresh (a new document: nothing cached in the page) as a user finds it, the package changes listed, then clicks Files (Playwright click: real mouse events). ' +
        "Timed in the page from the click event's timeStamp (capture listener on window) to the end of the first frame in which a tree (or list) of changed paths shows an item named after part of a changed path: a MutationObserver on main sees that state, then a requestAnimationFrame callback and a message posted from it, whose handler runs after that frame's style, layout and paint. " +
        "The figure includes the request to the server (its helper diffs the two commits and finds each path's package; warm after the first run), the JSON transfer and parse and React's render; details.serverRoundTripMedianMs is the first request after the click alone. " +
        `${COMPARE_FILES_RUNS.warmup} warm-up clicks, ${COMPARE_FILES_RUNS.runs} timed.`,
      details: {
        changedPaths: diff.entries.length,
        countShown: counted,
        clickToInDomMedianMs: stats(samples.map((p) => p.inDom - p.start)).median,
        serverRoundTripMedianMs: stats(server).median,
        loadAverage1m: round(loadavg()[0] ?? 0),
      },
    };
  } finally {
    await browser.close();
  }
}

// ---------------------------------------------------------------------------------------------------
// Alone: node --import tsx electron/bench/browser.ts [--build] [row ids…]

function newestUnder(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestUnder(path) : statSync(path).mtimeMs);
  }
  return newest;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const log = (line: string): void => console.log(line);
  if (args.includes('--build')) {
    log('building dist/…');
    runSyncChecked(process.execPath, [join(PROJECT_ROOT, '.ci', 'build.mjs'), '--quiet']);
  } else {
    const built = join(PROJECT_ROOT, 'dist', 'renderer', 'app.js');
    if (existsSync(built) && newestUnder(join(PROJECT_ROOT, 'renderer')) > statSync(built).mtimeMs)
      log('note: renderer/ has changed since dist/ was built; pass --build to measure the current sources');
  }
  const rows = args.filter((a): a is BrowserRowId => (BROWSER_ROW_IDS as readonly string[]).includes(a));
  const results = await measureBrowserRows({ log, rows: rows.length ? rows : undefined });
  console.log('');
  for (const r of results) {
    const s = r.hindsight.stats;
    console.log(
      `${r.id.padEnd(24)} ${r.figure.toFixed(1).padStart(7)} ms  (${s.min.toFixed(1)}–${s.max.toFixed(1)}, IQR ±${(s.spread * 50).toFixed(0)}%, ${s.runs} runs)  ${JSON.stringify(r.details)}`,
    );
  }
  if (args.includes('--json')) console.log(JSON.stringify(results, null, 2));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
