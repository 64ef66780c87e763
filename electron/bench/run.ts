import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import type { StatusReport } from '../../shared/types.ts';
import { AppCache } from '../core/app-cache.ts';
import { etcDrift } from '../core/etc/etc-drift.ts';
import { etcMerge } from '../core/etc/etc-merge.ts';
import { requireProgram, runSync, runSyncChecked } from '../core/exec.ts';
import { DPKG_STATUS_PATH } from '../core/fixtures/sysroot-fixture.ts';
import { deploymentPath, readStatus } from '../core/ostree/sysroot.ts';
import { compareDpkgVersions } from '../core/packages/dpkg-version.ts';
import { rememberedPackageDelta } from '../core/packages/package-delta.ts';
import { type HelperClient, spawnHelper } from '../helper/helper-client.ts';
import {
  BROWSER_ROW_IDS,
  type BrowserRowId,
  type BrowserRowResult,
  measureBrowserRows,
  measureCompareFiles,
} from './browser.ts';
import {
  type BenchFixture,
  builderHash,
  ensureFixture,
  type FixtureName,
  GROWTH_SIZES,
  PROJECT_ROOT,
} from './fixtures.ts';
import {
  growthExponent,
  processTask,
  type SampleOptions,
  type Stats,
  sample,
  sampleGroup,
  samplePair,
} from './measure.ts';
import { ensureUpgradeFixture, type UpgradeFixture } from './upgrade-fixture.ts';

/**
 * `npm run bench`: Hindsight side by side with the tool a user would run instead, on the same
 * fixtures in the same run. Prints a table and writes bench/results.json.
 */

type Unit = 'ratio' | 'ms' | 'MiB' | 'exponent';

interface Side {
  label: string;
  stats: Stats;
}

export interface RowResult {
  id: string;
  title: string;
  /** What the figure is: a ratio (Hindsight ÷ other), an absolute time or size, or a growth exponent. */
  unit: Unit;
  figure: number | null;
  target: number | null;
  pass: boolean | null;
  hindsight?: Side;
  other?: Side;
  /** How the figure was taken, in words, including what stands in for what. */
  method: string;
  details?: Record<string, unknown>;
  skipped?: string;
}

interface Context {
  fixtures: Record<'desktop' | 'stress', BenchFixture>;
  growth: BenchFixture[];
  reports: Map<string, StatusReport>;
  trios: Map<string, Promise<DriftTrio>>;
  node: string;
  cli: string;
  ostree: string;
  /** One read-mode helper per fixture, started from the bundle and kept running, as the app keeps it. */
  helpers: Map<string, Promise<HelperClient>>;
  /** `node -e 0`: what any Node process costs before it does anything (the CLI rows' floor). */
  nodeFloor: Promise<Stats> | null;
  browser?: Promise<BrowserRowResult[]>;
  /** The upgrade fixture (100,000 files, 300 packages upgraded): built on first use only. */
  upgrade(): UpgradeFixture;
  upgradeFixture?: UpgradeFixture;
  filesTrio?: Promise<FilesTrio>;
  /** Whether a row was asked for (all are, when none is named on the command line). */
  selected(id: string): boolean;
}

interface BenchRow {
  id: string;
  title: string;
  unit: Unit;
  target: number | null;
  /** Rows that cannot be measured yet say why; they are printed, never faked. */
  skip?: string;
  run?: (ctx: Context) => Promise<Omit<RowResult, 'id' | 'title' | 'unit' | 'target' | 'pass'>>;
}

const PROCESS_RUNS: SampleOptions = { warmup: 2, runs: 9 };
/** Stress rows take seconds per run on the compared side; fewer runs keep the whole bench short. */
const STRESS_RUNS: SampleOptions = { warmup: 1, runs: 7 };
const WARM_RUNS: SampleOptions = { warmup: 3, runs: 15 };
const runsFor = (fx: BenchFixture): SampleOptions => (fx.name === 'stress' ? STRESS_RUNS : PROCESS_RUNS);

async function report(ctx: Context, fx: BenchFixture): Promise<StatusReport> {
  const cached = ctx.reports.get(fx.name);
  if (cached) return cached;
  const fresh = await readStatus({ sysroot: fx.sysroot });
  ctx.reports.set(fx.name, fresh);
  return fresh;
}

const cliTask = (ctx: Context, args: string[]) => processTask(ctx.node, [ctx.cli, ...args]);

function helperFor(ctx: Context, fx: Pick<BenchFixture, 'name' | 'sysroot'>): Promise<HelperClient> {
  let helper = ctx.helpers.get(fx.name);
  if (!helper) {
    helper = spawnHelper({
      sysroot: fx.sysroot,
      mode: 'read',
      command: { program: ctx.node, args: [join(PROJECT_ROOT, 'dist', 'helper.mjs')] },
    });
    ctx.helpers.set(fx.name, helper);
  }
  return helper;
}

function nodeFloor(ctx: Context): Promise<Stats> {
  ctx.nodeFloor ??= sample(processTask(ctx.node, ['-e', '0']), { warmup: 3, runs: 15 });
  return ctx.nodeFloor;
}

/** The ratio a Node process that does nothing would score against the same tool: no CLI can go lower. */
async function floorDetails(ctx: Context, other: Stats): Promise<Record<string, number>> {
  const floor = await nodeFloor(ctx);
  return { nodeFloorMs: floor.median, nodeFloorRatio: ratio(floor.median, other.median) };
}
const configDiffTask = (ctx: Context, fx: BenchFixture) =>
  processTask(ctx.ostree, ['admin', 'config-diff', `--sysroot=${fx.sysroot}`, `--os=${fx.stateroot}`]);

const ratio = (a: number, b: number): number => Math.round((a / b) * 1000) / 1000;

function ratioRow(h: Side, o: Side, method: string) {
  const cpu = h.stats.cpuMedian && o.stats.cpuMedian ? ratio(h.stats.cpuMedian, o.stats.cpuMedian) : null;
  return {
    figure: ratio(h.stats.median, o.stats.median),
    hindsight: h,
    other: o,
    method,
    // The same ratio in CPU time: a check on the wall-clock figure when the machine is busy.
    details: { cpuRatio: cpu },
  };
}

/** config-diff always diffs the merge deployment (index 0 on a sysroot that is not booted); so do we. */
const CONFIG_DIFF = 'ostree admin config-diff (whole process)';

/**
 * The CLI drift, the warm engine drift and config-diff, measured in turn in one loop: both drift
 * rows of a fixture share config-diff's runs (on stress they are most of the bench's time).
 */
interface DriftTrio {
  cli: Stats;
  /** The CLI with --no-cache: what the very first run on a machine costs. */
  cliFresh: Stats;
  warm: Stats;
  configDiff: Stats;
  /** The helper's first drift of this deployment: nothing remembered yet. */
  firstCallMs: number;
}

function driftTrio(ctx: Context, fx: BenchFixture): Promise<DriftTrio> {
  const known = ctx.trios.get(fx.name);
  if (known) return known;
  const measured = (async (): Promise<DriftTrio> => {
    const helper = await helperFor(ctx, fx);
    const started = performance.now();
    await helper.call('etcDrift', { deployment: '0' });
    const firstCallMs = Math.round((performance.now() - started) * 10) / 10;
    const [cli, cliFresh, warm, configDiff] = (await sampleGroup(
      [
        cliTask(ctx, ['etc', 'drift', '0', `--sysroot=${fx.sysroot}`]),
        cliTask(ctx, ['etc', 'drift', '0', '--no-cache', `--sysroot=${fx.sysroot}`]),
        () => helper.call('etcDrift', { deployment: '0' }),
        configDiffTask(ctx, fx),
      ],
      runsFor(fx),
    )) as [Stats, Stats, Stats, Stats];
    return { cli, cliFresh, warm, configDiff, firstCallMs };
  })();
  ctx.trios.set(fx.name, measured);
  return measured;
}

async function driftCli(ctx: Context, fx: BenchFixture) {
  const trio = await driftTrio(ctx, fx);
  const row = ratioRow(
    { label: 'hindsight etc drift 0 (whole process, local cache warm)', stats: trio.cli },
    { label: CONFIG_DIFF, stats: trio.configDiff },
    `both on deployment 0 of the ${fx.name} fixture (${fx.etcFiles} files in /etc, ${fx.localEdits} local edits), in turn, ${runsFor(fx).warmup} warm-up + ${runsFor(fx).runs} runs each. The CLI keeps its byte comparisons in the local cache (like git's index: each valid while both files keep their inode, size, mtime and ctime), so from its second run it reads only files that changed; it still lstats every file of both trees. freshRatio: the same with --no-cache, as on a machine's very first run`,
  );
  return {
    ...row,
    details: {
      ...row.details,
      freshMs: trio.cliFresh.median,
      freshRatio: ratio(trio.cliFresh.median, trio.configDiff.median),
      ...(await floorDetails(ctx, trio.configDiff)),
    },
  };
}

async function driftWarm(ctx: Context, fx: BenchFixture) {
  const trio = await driftTrio(ctx, fx);
  const h = trio.warm;
  const o = trio.configDiff;
  return {
    ...ratioRow(
      // Its CPU is spent in the helper process, which this process cannot time per call.
      {
        label: 'helper etcDrift {deployment: "0"}, warm (request to parsed answer)',
        stats: { ...h, cpuMedian: undefined },
      },
      { label: CONFIG_DIFF, stats: o },
      `the real helper (dist/helper.mjs, read mode) kept running as the app keeps it; timed from sending the JSON request to the parsed answer, so it includes the helper reading status, the drift, JSON both ways and the pipe. Warm: byte comparisons, directory listings and symlink targets remembered from earlier calls, each checked against the inode, size, mtime and ctime it had; deployment 0 of ${fx.name}`,
    ),
    details: {
      cpuRatio: null,
      firstCallMs: trio.firstCallMs,
      firstCallRatio: ratio(trio.firstCallMs, o.median),
    },
  };
}

function adminDir(status: StatusReport, index: number): string {
  const d = status.deployments[index];
  if (!d) throw new Error(`no deployment ${index}`);
  return join(deploymentPath(status.sysroot, d), DPKG_STATUS_PATH, '..');
}

/** What a user runs to compare two trees' packages: two dpkg-query runs, sorted, diffed. */
const DPKG_PIPELINE = 'diff <(dpkg-query --admindir="$1" -W | sort) <(dpkg-query --admindir="$2" -W | sort)';

async function deltaCli(ctx: Context, fx: BenchFixture) {
  const status = await report(ctx, fx);
  const bash = requireProgram('bash');
  requireProgram('dpkg-query');
  const [h, o] = await samplePair(
    cliTask(ctx, ['packages', 'diff', '1', '0', `--sysroot=${fx.sysroot}`]),
    // diff exits 1 when the lists differ, which they do.
    processTask(bash, ['-c', DPKG_PIPELINE, 'bench', adminDir(status, 1), adminDir(status, 0)], [0, 1]),
    PROCESS_RUNS,
  );
  const row = ratioRow(
    { label: 'hindsight packages diff 1 0 (whole process, local cache warm)', stats: h },
    { label: `bash -c '${DPKG_PIPELINE}' (whole pipeline)`, stats: o },
    `${fx.name}: deployments 1 and 0, ~${fx.packages} packages each. The CLI keeps deltas in the local cache by the two commit checksums (commits never change), so from its second run it reads status and prints; freshRatio: --no-cache, which reads both package databases and counts the trees' file changes`,
  );
  const fresh = await sample(
    cliTask(ctx, ['packages', 'diff', '1', '0', '--no-cache', `--sysroot=${fx.sysroot}`]),
    { warmup: 1, runs: 5 },
  );
  return {
    ...row,
    details: {
      ...row.details,
      freshMs: fresh.median,
      freshRatio: ratio(fresh.median, o.median),
      ...(await floorDetails(ctx, o)),
    },
  };
}

async function deltaWarm(ctx: Context, fx: BenchFixture) {
  const helper = await helperFor(ctx, fx);
  const cache = new AppCache(':memory:');
  // The app's own path (handlers.ts, packages:delta): status from the helper, then the delta by checksums.
  const appDelta = async () =>
    rememberedPackageDelta(await helper.call('status', {}), '1', '0', cache, () =>
      helper.call('packageDelta', { from: '1', to: '0' }),
    );
  const started = performance.now();
  await appDelta();
  const firstMs = Math.round((performance.now() - started) * 10) / 10;
  const h = await sample(appDelta, WARM_RUNS);
  cache.close();
  return {
    figure: h.median,
    hindsight: {
      label: "the app's packages:delta: helper status + cached delta",
      stats: { ...h, cpuMedian: undefined },
    },
    method: `${fx.name}: what the app does for a delta it has seen (handlers.ts): the helper's status (deployment facts change, commits do not), then the delta by the two commit checksums from the better-sqlite3 cache; firstMs: the first, uncached request (the helper reads both package databases and counts file changes)`,
    details: { firstMs },
  };
}

async function statusCli(ctx: Context, fx: BenchFixture) {
  const [h, o] = await samplePair(
    cliTask(ctx, ['status', `--sysroot=${fx.sysroot}`]),
    processTask(ctx.ostree, ['admin', 'status', `--sysroot=${fx.sysroot}`]),
    { warmup: 3, runs: 15 },
  );
  const row = ratioRow(
    { label: 'hindsight status (whole process, local cache warm)', stats: h },
    { label: 'ostree admin status (whole process)', stats: o },
    `${fx.name}: ${fx.deployments} deployments. The CLI keeps ostree's deployment listing in the local cache while ostree/deploy's mtime (libostree's own change signal), the boot loader link and, on a booted system, the staged deployment and boot id stay as they were; it reads commit objects, origins and boot entries every time`,
  );
  return { ...row, details: { ...row.details, ...(await floorDetails(ctx, o)) } };
}

async function mergeWarm(ctx: Context, fx: BenchFixture) {
  const status = await report(ctx, fx);
  const last = String(status.deployments.length - 1);
  let files = 0;
  const h = await sample(
    async () => {
      const merge = await etcMerge(status, '0', last);
      files = merge.files.length;
      JSON.stringify(merge);
    },
    { warmup: 2, runs: 7 },
  );
  return {
    figure: h.median,
    hindsight: { label: `etcMerge(report, "0", "${last}") in process, warm`, stats: h },
    method: `${fx.name}: three-way analysis of all of /etc (${fx.etcFiles} files): deployment 0's edits against the oldest deployment's image, ${files} paths reported`,
  };
}

async function driftMemory(ctx: Context, fx: BenchFixture) {
  // The helper has served every stress drift of the drift rows by now (the first cold, the rest warm).
  await driftTrio(ctx, fx);
  const helper = await helperFor(ctx, fx);
  await helper.call('etcDrift', { deployment: '0', diffs: true });
  const status = readFileSync(`/proc/${helper.pid}/status`, 'utf8');
  const kb = (field: string): number =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  const peak = Math.round((kb('VmHWM') / 1024) * 10) / 10;
  return {
    figure: peak,
    details: { currentMiB: Math.round((kb('VmRSS') / 1024) * 10) / 10 },
    method: `${fx.name}: peak resident memory (VmHWM in /proc/PID/status) of the running helper after it has served all the stress drifts above (${runsFor(fx).warmup + runsFor(fx).runs + 1} of deployment 0, the first cold) and one more with line diffs of every changed text file`,
  };
}

async function driftGrowth(ctx: Context) {
  const points: { size: number; ms: number; configDiffMs: number; entries: number }[] = [];
  for (const fx of ctx.growth) {
    const status = await report(ctx, fx);
    let entries = 0;
    const [h, o] = await samplePair(
      () => {
        entries = etcDrift(status, '0').entries.length;
      },
      configDiffTask(ctx, fx),
      { warmup: 1, runs: 5 },
    );
    points.push({ size: fx.etcFiles, ms: h.median, configDiffMs: o.median, entries });
  }
  const exponent = growthExponent(points);
  const first = points[0];
  const last = points[points.length - 1];
  return {
    figure: exponent,
    details: {
      points,
      timeRatio: first && last ? Math.round((last.ms / first.ms) * 100) / 100 : null,
      sizeRatio: first && last ? last.size / first.size : null,
      configDiffExponent: growthExponent(points.map((p) => ({ size: p.size, ms: p.configDiffMs }))),
    },
    method:
      'warm in-process etcDrift on deployments with 2,500 / 5,000 / 10,000 / 20,000 files in /etc, 2% of them edited; slope of log(time) over log(files), 1.0 = linear',
  };
}

/** The three browser rows share one server, one browser and one fixture: measured together, once. */
async function browserRow(ctx: Context, id: BrowserRowId) {
  ctx.browser ??= measureBrowserRows({
    log: (line) => console.log(`  ${line}`),
    rows: BROWSER_ROW_IDS.filter((r) => ctx.selected(r)),
  });
  const row = (await ctx.browser).find((r) => r.id === id);
  if (!row) throw new Error(`the browser bench did not measure ${id}`);
  const { id: _id, ...measured } = row;
  return measured;
}

// ---------------------------------------------------------------------------------------------------
// Files and changelogs of an upgrade (issue 15): the upgrade fixture, deployments 1 (before) and 0 (after).

const UPGRADE_RUNS: SampleOptions = { warmup: 1, runs: 5 };
/** 300 dpkg-parsechangelog processes take tens of seconds a loop: few runs keep the bench short. */
const CHANGELOG_RUNS: SampleOptions = { warmup: 0, runs: 3 };

const upgradeLabel = (fx: UpgradeFixture): string =>
  `upgrade fixture: ${fx.files.toLocaleString('en')} files a tree, ${fx.ostreeDiffLines.toLocaleString('en')} paths in ostree diff's list, ${fx.upgraded} of ${fx.packages.toLocaleString('en')} packages upgraded`;

/**
 * The CLI, the helper's warm answer and `ostree diff`, measured in turn in one loop, as the drift
 * rows share config-diff's runs.
 */
interface FilesTrio {
  cli: Stats;
  warm: Stats;
  ostreeDiff: Stats;
  /** The helper's first and second filesDiff calls: nothing remembered, then the first warm one. */
  firstCallMs: number;
  secondCallMs: number;
  entries: number;
  /** Paths ostree diff printed, once, to check that both list the same changes. */
  ostreeLines: number;
}

const msSince = (started: number): number => Math.round((performance.now() - started) * 10) / 10;

function filesTrio(ctx: Context): Promise<FilesTrio> {
  ctx.filesTrio ??= (async (): Promise<FilesTrio> => {
    const fx = ctx.upgrade();
    const helper = await helperFor(ctx, fx);
    const call = () => helper.call('filesDiff', { from: '1', to: '0' });
    let started = performance.now();
    const first = await call();
    const firstCallMs = msSince(started);
    started = performance.now();
    await call();
    const secondCallMs = msSince(started);
    const repo = join(fx.sysroot, 'ostree', 'repo');
    const ostreeLines = runSyncChecked(ctx.ostree, ['diff', `--repo=${repo}`, fx.from, fx.to])
      .toString('utf8')
      .split('\n')
      .filter(Boolean).length;
    if (first.entries.length !== ostreeLines)
      throw new Error(`filesDiff lists ${first.entries.length} paths, ostree diff ${ostreeLines}`);
    const [cli, warm, ostreeDiff] = (await sampleGroup(
      [
        cliTask(ctx, ['files', 'diff', '1', '0', `--sysroot=${fx.sysroot}`]),
        call,
        processTask(ctx.ostree, ['diff', `--repo=${repo}`, fx.from, fx.to]),
      ],
      UPGRADE_RUNS,
    )) as [Stats, Stats, Stats];
    return { cli, warm, ostreeDiff, firstCallMs, secondCallMs, entries: first.entries.length, ostreeLines };
  })();
  return ctx.filesTrio;
}

const OSTREE_DIFF = 'ostree diff --repo=R FROM TO (whole process)';

async function filesCli(ctx: Context) {
  const fx = ctx.upgrade();
  const trio = await filesTrio(ctx);
  const row = ratioRow(
    { label: 'hindsight files diff 1 0 (whole process)', stats: trio.cli },
    { label: OSTREE_DIFF, stats: trio.ostreeDiff },
    `${upgradeLabel(fx)}. Cold: a fresh CLI process each run (Node's start, status, the tree diff from the repository's dirtree objects, each path's owning package from dpkg's info/*.list of the side it is on, the printed list) against ostree diff on the same two commits, in turn, ${UPGRADE_RUNS.warmup} warm-up + ${UPGRADE_RUNS.runs} runs each; both list the same ${trio.entries.toLocaleString('en')} paths (checked)`,
  );
  return {
    ...row,
    details: { ...row.details, entries: trio.entries, ...(await floorDetails(ctx, trio.ostreeDiff)) },
  };
}

async function filesWarm(ctx: Context) {
  const fx = ctx.upgrade();
  const trio = await filesTrio(ctx);
  return {
    ...ratioRow(
      {
        label: 'helper filesDiff {from: "1", to: "0"}, warm (request to parsed answer)',
        stats: { ...trio.warm, cpuMedian: undefined },
      },
      { label: OSTREE_DIFF, stats: trio.ostreeDiff },
      `${upgradeLabel(fx)}. The real helper (dist/helper.mjs, read mode) spawned once and kept running, as the app keeps it; its first call is untimed in the figure (details.firstCallMs), every later call is a warm one as the helper serves the app's second look at the pair (details.secondCallMs is the very second call), timed from the JSON request to the parsed answer of ${trio.entries.toLocaleString('en')} entries with their packages`,
    ),
    details: {
      cpuRatio: null,
      firstCallMs: trio.firstCallMs,
      firstCallRatio: ratio(trio.firstCallMs, trio.ostreeDiff.median),
      secondCallMs: trio.secondCallMs,
      secondCallRatio: ratio(trio.secondCallMs, trio.ostreeDiff.median),
    },
  };
}

/** What a Debian user runs for the changelogs of an upgrade: dpkg-parsechangelog for each package. */
const CHANGELOG_LOOP =
  'while read -r pkg since; do dpkg-parsechangelog -l "$1/$pkg/changelog.Debian.gz" --since "$since"; done < "$2"';

/** Entries in the loop's output (dpkg's format: `Version:` is the newest, then one line per entry). */
function dpkgLoopEntries(out: string): { all: number; atMostInstalled: number } {
  let all = 0;
  let atMostInstalled = 0;
  for (const block of out.split(/^Source: /m).slice(1)) {
    const installed = /^Version: (\S+)$/m.exec(block)?.[1];
    for (const m of block.matchAll(/^ \S+ \(([^()\s]+)\) [^;\n]*;/gm)) {
      all++;
      if (installed && compareDpkgVersions(m[1] as string, installed) <= 0) atMostInstalled++;
    }
  }
  return { all, atMostInstalled };
}

async function changelogsCli(ctx: Context) {
  const fx = ctx.upgrade();
  const status = await report(ctx, { name: fx.name, sysroot: fx.sysroot } as BenchFixture);
  const after = status.deployments[0];
  if (!after) throw new Error('the upgrade fixture has no deployment 0');
  const doc = join(deploymentPath(status.sysroot, after), 'usr', 'share', 'doc');
  const bash = requireProgram('bash');
  requireProgram('dpkg-parsechangelog');
  const args = ['packages', 'diff', '1', '0', '--changelogs', `--sysroot=${fx.sysroot}`];
  // Checked once, untimed: both read the same entries.
  const json = JSON.parse(
    runSyncChecked(ctx.node, [ctx.cli, ...args, '--json', '--no-cache']).toString('utf8'),
  ) as { changelogs: { packages: { changelog: { entries: unknown[] } | null }[] } };
  const hindsightEntries = json.changelogs.packages.reduce(
    (n, p) => n + (p.changelog?.entries.length ?? 0),
    0,
  );
  // The loop's output is kept from its timed runs (it is checked below): no extra loop for the check.
  let loopOut = '';
  const loopTask = () => {
    const result = runSync(bash, ['-c', CHANGELOG_LOOP, 'bench', doc, fx.upgradesList]);
    if (result.code !== 0) throw new Error(`the dpkg-parsechangelog loop exited ${result.code}`);
    loopOut = result.stdout.toString('utf8');
  };
  const hindsightTask = cliTask(ctx, [...args, '--no-cache']);
  await hindsightTask();
  const [h, o] = await samplePair(hindsightTask, loopTask, CHANGELOG_RUNS);
  const dpkg = dpkgLoopEntries(loopOut);
  // dpkg-parsechangelog --since lists every entry newer than the old version; Hindsight so far keeps
  // those at most the installed one, so a backport (`5.7-0.5~deb12u1` over `5.7-0.5`) shows one fewer.
  // Either count passes; details.entriesAboveInstalledVersion says how many such entries there are.
  if (
    dpkg.all !== fx.changelogEntries ||
    (hindsightEntries !== dpkg.atMostInstalled && hindsightEntries !== dpkg.all)
  )
    throw new Error(
      `changelog entries: hindsight ${hindsightEntries}, dpkg-parsechangelog ${dpkg.all} (${dpkg.atMostInstalled} at most the installed version), fixture ${fx.changelogEntries}`,
    );
  const cached = await sample(cliTask(ctx, args), { warmup: 1, runs: 3 });
  return {
    figure: h.median,
    hindsight: { label: 'hindsight packages diff 1 0 --changelogs --no-cache (whole process)', stats: h },
    other: {
      label: `bash -c '${CHANGELOG_LOOP}' over the ${fx.upgraded} upgraded packages (whole loop)`,
      stats: o,
    },
    method: `${upgradeLabel(fx)}; changelogs: ${fx.changelogSource}, ${fx.changelogEntries} entries between the two versions in all (2 to 6 a package; dpkg-parsechangelog prints all of them, Hindsight those at most the installed version, checked: details.entriesAboveInstalledVersion). Cold: a fresh CLI process, --no-cache (both package databases read and the delta computed, then every upgraded package's changelog.Debian.gz read from deployment 0 and parsed down to the installed version). The other side is what a Debian user runs without Hindsight: dpkg-parsechangelog -l FILE --since OLD for each upgraded package, given the list of packages and old versions for free (working that out is not timed). One Hindsight warm-up, then both in turn, ${CHANGELOG_RUNS.runs} runs each (the loop takes tens of seconds)`,
    details: {
      ratio: ratio(h.median, o.median),
      cpuRatio: h.cpuMedian && o.cpuMedian ? ratio(h.cpuMedian, o.cpuMedian) : null,
      entries: hindsightEntries,
      dpkgParsechangelogEntries: dpkg.all,
      entriesAboveInstalledVersion: dpkg.all - dpkg.atMostInstalled,
      packages: fx.upgraded,
      withLocalCacheMs: cached.median,
    },
  };
}

async function compareFilesBrowser(ctx: Context) {
  const fx = ctx.upgrade();
  const measured = await measureCompareFiles({
    log: (line) => console.log(`  ${line}`),
    sysroot: fx.sysroot,
    fixtureLabel: upgradeLabel(fx),
  });
  if ('skipped' in measured) return { figure: null, method: '', skipped: measured.skipped };
  const { id: _id, ...row } = measured;
  return row;
}

const ROWS: BenchRow[] = [
  {
    id: 'drift-cli-stress',
    title: '/etc drift, CLI whole process, stress ÷ config-diff',
    unit: 'ratio',
    target: 0.3,
    run: (ctx) => driftCli(ctx, ctx.fixtures.stress),
  },
  {
    id: 'drift-warm-desktop',
    title: '/etc drift, warm helper call, desktop ÷ config-diff',
    unit: 'ratio',
    target: 0.2,
    run: (ctx) => driftWarm(ctx, ctx.fixtures.desktop),
  },
  {
    id: 'drift-warm-stress',
    title: '/etc drift, warm helper call, stress ÷ config-diff',
    unit: 'ratio',
    target: 0.2,
    run: (ctx) => driftWarm(ctx, ctx.fixtures.stress),
  },
  {
    id: 'delta-cli-desktop',
    title: 'package delta, CLI whole process, desktop ÷ dpkg-query pipeline',
    unit: 'ratio',
    target: 0.5,
    run: (ctx) => deltaCli(ctx, ctx.fixtures.desktop),
  },
  {
    id: 'delta-warm-desktop',
    title: 'package delta, warm (cache hit), desktop',
    unit: 'ms',
    target: 20,
    run: (ctx) => deltaWarm(ctx, ctx.fixtures.desktop),
  },
  {
    id: 'delta-warm-stress',
    title: 'package delta, warm (cache hit), stress',
    unit: 'ms',
    target: 20,
    run: (ctx) => deltaWarm(ctx, ctx.fixtures.stress),
  },
  {
    id: 'status-cli-desktop',
    title: 'status, CLI whole process, desktop ÷ ostree admin status',
    unit: 'ratio',
    target: 1.5,
    run: (ctx) => statusCli(ctx, ctx.fixtures.desktop),
  },
  {
    id: 'status-cli-stress',
    title: 'status, CLI whole process, stress ÷ ostree admin status',
    unit: 'ratio',
    target: 1.5,
    run: (ctx) => statusCli(ctx, ctx.fixtures.stress),
  },
  {
    id: 'merge-warm-stress',
    title: 'three-way analysis of all /etc, warm, stress',
    unit: 'ms',
    target: 1000,
    run: (ctx) => mergeWarm(ctx, ctx.fixtures.stress),
  },
  {
    id: 'drift-memory-stress',
    title: 'peak memory of the helper during stress drifts',
    unit: 'MiB',
    target: 200,
    run: (ctx) => driftMemory(ctx, ctx.fixtures.stress),
  },
  {
    id: 'drift-growth',
    title: 'growth of drift time, 2,500 → 20,000 files (exponent)',
    unit: 'exponent',
    target: 1,
    run: (ctx) => driftGrowth(ctx),
  },
  {
    id: 'browser-deployment-list',
    title: 'browser mode: deployment list painted after load',
    unit: 'ms',
    target: 1000,
    run: (ctx) => browserRow(ctx, 'browser-deployment-list'),
  },
  {
    id: 'browser-filter-packages',
    title: 'browser mode: filter 6,000 packages, one keystroke',
    unit: 'ms',
    target: 50,
    run: (ctx) => browserRow(ctx, 'browser-filter-packages'),
  },
  {
    id: 'browser-open-diff',
    title: 'browser mode: open a 20,000-line diff',
    unit: 'ms',
    target: 300,
    run: (ctx) => browserRow(ctx, 'browser-open-diff'),
  },
  {
    id: 'files-diff-cli-upgrade',
    title: 'files diff, CLI whole process, 100k files / 5k changes ÷ ostree diff',
    unit: 'ratio',
    target: 0.5,
    run: (ctx) => filesCli(ctx),
  },
  {
    id: 'files-diff-warm-upgrade',
    title: 'files diff, warm helper call, 100k files / 5k changes ÷ ostree diff',
    unit: 'ratio',
    target: 0.1,
    run: (ctx) => filesWarm(ctx),
  },
  {
    id: 'changelogs-cli-upgrade',
    title: 'changelogs of a 300-package upgrade, CLI whole process, cold',
    unit: 'ms',
    target: 1000,
    run: (ctx) => changelogsCli(ctx),
  },
  {
    id: 'browser-compare-files',
    title: 'browser mode: Compare → Files painted, 100k files / 5k changes',
    unit: 'ms',
    target: 500,
    run: (ctx) => compareFilesBrowser(ctx),
  },
];

// ---------------------------------------------------------------------------------------------------

const UNIT_TEXT: Record<Unit, (x: number) => string> = {
  ratio: (x) => `${x.toFixed(3)}×`,
  ms: (x) => `${x.toFixed(1)} ms`,
  MiB: (x) => `${x.toFixed(1)} MiB`,
  exponent: (x) => x.toFixed(3),
};

const ms = (s: Stats): string =>
  `${s.median.toFixed(1)} ms (${s.min.toFixed(1)}–${s.max.toFixed(1)}, IQR ±${(s.spread * 50).toFixed(0)}%${s.cpuMedian === undefined ? '' : `, cpu ${s.cpuMedian.toFixed(0)} ms`})`;

function printTable(results: RowResult[]): void {
  const lines: string[][] = [['row', 'figure', 'target', 'result', 'Hindsight | compared with']];
  for (const r of results) {
    const figure = r.figure === null ? '—' : UNIT_TEXT[r.unit](r.figure);
    const target = r.target === null ? '—' : `≤ ${UNIT_TEXT[r.unit](r.target)}`;
    const result = r.skipped ? 'not measured yet' : r.pass ? 'meets' : 'falls short';
    const sides = r.skipped
      ? r.skipped
      : [r.hindsight ? ms(r.hindsight.stats) : '', r.other ? `${ms(r.other.stats)} ${r.other.label}` : '']
          .filter(Boolean)
          .join(' | ');
    lines.push([r.title, figure, target, result, sides]);
  }
  const widths = [0, 1, 2, 3].map((i) => Math.max(...lines.map((l) => (l[i] as string).length)));
  for (const [n, l] of lines.entries()) {
    const head = l.slice(0, 4).map((c, i) => c.padEnd(widths[i] as number));
    console.log(`${head.join('  ')}  ${l[4]}`.trimEnd());
    if (n === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
}

/**
 * The CLI and helper rows run dist/, the bundles a user runs, so they are rebuilt first. The build
 * writes them before the app's bundles: when it fails later on (the renderer, say), they are fresh.
 */
function build(log: (line: string) => void): void {
  const started = Date.now();
  const result = runSync(process.execPath, [join(PROJECT_ROOT, '.ci', 'build.mjs'), '--quiet']);
  if (result.code === 0) return;
  const fresh = ['cli.mjs', 'helper.mjs'].every(
    (f) =>
      (statSync(join(PROJECT_ROOT, 'dist', f), { throwIfNoEntry: false })?.mtimeMs ?? 0) >= started - 1000,
  );
  const first = result.stderr.split('\n').find((l) => l.includes('ERROR')) ?? result.stderr.trim();
  if (!fresh) throw new Error(`npm run build failed: ${first.trim()}`);
  log(`  npm run build failed after the CLI and helper bundles (${first.trim()}); measuring them`);
}

async function main(): Promise<void> {
  const started = performance.now();
  const only = process.argv.slice(2);
  const log = (line: string): void => console.log(line);
  // The CLI's local cache starts empty in every run: its first runs are the warm-up.
  const dataHome = join(PROJECT_ROOT, 'bench', 'data-home');
  rmSync(dataHome, { recursive: true, force: true });
  process.env.XDG_DATA_HOME = dataHome;
  log('building dist/ (the CLI rows run the bundle a user runs)…');
  build(log);
  const hash = builderHash();
  const fixtures = {
    desktop: ensureFixture('desktop', hash, log),
    stress: ensureFixture('stress', hash, log),
  };
  const growth = GROWTH_SIZES.map((n) => ensureFixture(`growth-${n}` as FixtureName, hash, log));
  const fixtureSeconds = (performance.now() - started) / 1000;
  const ctx: Context = {
    fixtures,
    growth,
    reports: new Map(),
    trios: new Map(),
    node: process.execPath,
    cli: join(PROJECT_ROOT, 'electron', 'cli', 'hindsight.mjs'),
    ostree: requireProgram('ostree', 'ostree-missing'),
    helpers: new Map(),
    nodeFloor: null,
    selected: (id) => !only.length || only.includes(id),
    upgrade() {
      this.upgradeFixture ??= ensureUpgradeFixture(log);
      return this.upgradeFixture;
    },
  };
  const results: RowResult[] = [];
  for (const row of ROWS) {
    const base = { id: row.id, title: row.title, unit: row.unit, target: row.target };
    if (row.skip || !row.run || !ctx.selected(row.id)) {
      const skipped = row.skip ?? (row.run ? 'not selected on the command line' : 'no measurement');
      results.push({ ...base, figure: null, pass: null, method: '', skipped });
      log(`- ${row.title}: not measured yet: ${skipped}`);
      continue;
    }
    log(`- ${row.title}…`);
    const measured = await row.run(ctx);
    const pass = measured.figure === null || row.target === null ? null : measured.figure <= row.target;
    results.push({ ...base, ...measured, pass });
  }
  for (const helper of ctx.helpers.values()) await (await helper).close(10_000);
  console.log('');
  printTable(results);
  const ostreeVersion = /Version:\s*'?([0-9.]+)/.exec(
    runSyncChecked(ctx.ostree, ['--version']).toString('utf8'),
  )?.[1];
  const out = {
    generatedAt: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? null,
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      kernel: os.release(),
      node: process.version,
      ostree: ostreeVersion ?? null,
    },
    fixtures: [
      fixtures.desktop,
      fixtures.stress,
      ...growth,
      ...(ctx.upgradeFixture ? [ctx.upgradeFixture] : []),
    ],
    rows: results,
    fixtureSeconds: Math.round(fixtureSeconds * 10) / 10,
    totalSeconds: Math.round((performance.now() - started) / 100) / 10,
  };
  mkdirSync(join(PROJECT_ROOT, 'bench'), { recursive: true });
  writeFileSync(join(PROJECT_ROOT, 'bench', 'results.json'), `${JSON.stringify(out, null, 2)}\n`);
  const short = results.filter((r) => r.pass === false).map((r) => r.id);
  console.log(
    `\n${results.filter((r) => r.pass).length} of ${results.length} rows meet their target` +
      `${short.length ? `; short: ${short.join(', ')}` : ''}; ${results.filter((r) => r.skipped).length} not measured.` +
      ` Total ${out.totalSeconds} s (fixtures ${out.fixtureSeconds} s). Wrote bench/results.json.`,
  );
}

await main();
