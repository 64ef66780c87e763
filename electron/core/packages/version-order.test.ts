import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HindsightError } from '../../../shared/errors.ts';
import { findProgram, run } from '../exec.ts';
import { compareDpkgVersions, parseDpkgVersion } from './dpkg-version.ts';
import { compareRpmEvr, parseRpmEvr, rpmvercmp } from './rpm-version.ts';

/**
 * Every comparison here is checked against the real tools: `dpkg --compare-versions` and rpm's own
 * `rpm.vercmp` (through its embedded Lua, all pairs in one process).
 */

const MIN_GENERATED_PAIRS = 250;
const GENERATED_PAIRS = 300;

type Pair = readonly [string, string];

function requireTool(name: string): string {
  const path = findProgram(name);
  assert.ok(path, `${name} must be installed for these tests`);
  return path;
}

/** mulberry32: tiny, deterministic, good enough to spread test cases. */
function makeRng(seed: number) {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo: number, hi: number): number => lo + Math.floor(next() * (hi - lo + 1));
  const pick = <T>(items: readonly T[]): T => {
    const item = items[int(0, items.length - 1)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  };
  const chance = (p: number): boolean => next() < p;
  return { int, pick, chance };
}
type Rng = ReturnType<typeof makeRng>;

function numberChunk(r: Rng): string {
  if (r.chance(0.05)) return '123456789012345678901234567890';
  const n = String(r.pick([0, 0, 1, 1, 2, 3, 9, 10, 11, 99, 100, 2024, 20240101]));
  return r.chance(0.15) ? `${'0'.repeat(r.int(1, 2))}${n}` : n;
}

function letterChunk(r: Rng): string {
  return r.pick([
    'a',
    'b',
    'z',
    'A',
    'Z',
    'rc',
    'beta',
    'alpha',
    'git',
    'dfsg',
    'p',
    'pre',
    'fc',
    'el',
    'ubuntu',
  ]);
}

function chunk(r: Rng): string {
  const roll = r.int(0, 9);
  if (roll < 5) return numberChunk(r);
  if (roll < 8) return letterChunk(r);
  return `${letterChunk(r)}${numberChunk(r)}`;
}

/** Replaces the character at `index`; mutations use it to make near-miss pairs. */
function replaceAt(s: string, index: number, text: string): string {
  return s.slice(0, index) + text + s.slice(index + 1);
}

function positionsOf(s: string, test: (ch: string) => boolean): number[] {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) if (test(s.charAt(i))) out.push(i);
  return out;
}

// ---------- dpkg ----------

/** Only versions dpkg accepts without even a warning (checked again against dpkg's stderr). */
function isCleanDpkgVersion(v: string): boolean {
  const withEpoch = /^(\d{1,9}):(.*)$/.exec(v);
  const body = withEpoch ? (withEpoch[2] ?? '') : v;
  if (!withEpoch && v.includes(':')) return false;
  const hyphen = body.lastIndexOf('-');
  const upstream = hyphen >= 0 ? body.slice(0, hyphen) : body;
  if (hyphen >= 0 && !/^[A-Za-z0-9.+~]+$/.test(body.slice(hyphen + 1))) return false;
  return /^[0-9][A-Za-z0-9.+~:-]*$/.test(upstream);
}

function dpkgVersion(r: Rng): string {
  const epoch = r.chance(0.3) ? `${r.pick(['0', '1', '2', '00', '01', '10', '3'])}:` : '';
  const hasRevision = r.chance(0.6);
  let upstream = numberChunk(r);
  const pieces = r.int(0, 4);
  for (let k = 0; k < pieces; k++) {
    const seps = ['.', '.', '.', '+', '~', '~~', ''];
    if (hasRevision) seps.push('-', '-');
    if (epoch) seps.push(':');
    upstream += r.pick(seps) + chunk(r);
  }
  if (r.chance(0.15)) upstream += r.pick(['~', '+', '.', '~~']);
  if (!hasRevision) return `${epoch}${upstream}`;
  const revision = r.pick([
    '1',
    '0',
    '2',
    '10',
    '1.1',
    '0ubuntu1',
    '1~bpo11+1',
    '1+b2',
    '~',
    'a',
    '01',
    '1~',
    '1.0',
  ]);
  return `${epoch}${upstream}-${revision}`;
}

function mutateDpkg(r: Rng, v: string): string {
  switch (r.int(0, 9)) {
    case 0:
      return v + r.pick(['~rc1', '~', '~~', '+b1', '.1', 'a', '.0', '0', '+', '.', '-1', 'A']);
    case 1:
      return v.slice(0, -1);
    case 2: {
      const digits = positionsOf(v, (ch) => /[0-9]/.test(ch));
      const at = digits[r.int(0, digits.length - 1)];
      return at === undefined ? v : replaceAt(v, at, String(r.int(0, 9)));
    }
    case 3: {
      const starts = positionsOf(v, (ch) => /[0-9]/.test(ch));
      const at = starts[r.int(0, starts.length - 1)];
      return at === undefined ? v : `${v.slice(0, at)}0${v.slice(at)}`;
    }
    case 4: {
      const m = /^\d+:/.exec(v);
      if (m) return r.chance(0.5) ? v.slice(m[0].length) : `${r.int(0, 3)}:${v.slice(m[0].length)}`;
      return `${r.pick(['0', '1', '00'])}:${v}`;
    }
    case 5: {
      const seps = positionsOf(v, (ch) => ch === '.' || ch === '+' || ch === '~');
      const at = seps[r.int(0, seps.length - 1)];
      return at === undefined ? v : replaceAt(v, at, r.pick(['.', '+', '~', 'a', '0']));
    }
    case 6: {
      const letters = positionsOf(v, (ch) => /[A-Za-z]/.test(ch));
      const at = letters[r.int(0, letters.length - 1)];
      return at === undefined ? `${v}b` : replaceAt(v, at, r.pick(['a', 'A', 'b', 'Z', '.', '~', '1']));
    }
    case 7: {
      const hyphen = v.lastIndexOf('-');
      return hyphen >= 0 ? v.slice(0, hyphen) : `${v}-${r.pick(['1', '0', '1.1', '~'])}`;
    }
    case 8: {
      // Insert a tilde or a hyphen in the middle: `~` sorts below the end, a hyphen moves the split.
      const at = r.int(1, Math.max(1, v.length - 1));
      return `${v.slice(0, at)}${r.pick(['~', '-', '~~', '+'])}${v.slice(at)}`;
    }
    default:
      return dpkgVersion(r);
  }
}

function generateDpkgPairs(seed: number, count: number): Pair[] {
  const r = makeRng(seed);
  const pairs: Pair[] = [];
  while (pairs.length < count) {
    const a = dpkgVersion(r);
    let b = a;
    for (let tries = 0; tries < 20; tries++) {
      const candidate = mutateDpkg(r, r.chance(0.3) ? mutateDpkg(r, a) : a);
      if (isCleanDpkgVersion(candidate)) {
        b = candidate;
        break;
      }
    }
    if (!isCleanDpkgVersion(a)) throw new Error(`generator produced an invalid dpkg version: ${a}`);
    pairs.push(r.chance(0.5) ? [a, b] : [b, a]);
  }
  return pairs;
}

const DPKG_KNOWN: Pair[] = [
  ['1.0~rc1', '1.0'],
  ['1.0', '1.0+b1'],
  ['1:0.1', '2.0'],
  ['1.0-1', '1.0-1.1'],
  ['1.0a', '1.0.1'],
  ['1.0a', '1.0'],
  ['1~~', '1~~a'],
  ['1~~a', '1~'],
  ['1~', '1'],
  ['1', '1a'],
  ['1.0', '1.00'],
  ['1.01', '1.1'],
  ['0:1.0', '1.0'],
  ['00:1.0', '1.0'],
  ['0', '0:0-0'],
  ['0:0.0-0.0', '0'],
  ['0:0-0-0', '0'],
  ['0:0:0-0', '0'],
  ['0:0-0:0-0', '0'],
  ['1.2-3-4', '1.2-3'],
  ['1.2-3-4', '1.2-4'],
  ['1.0-1ubuntu1', '1.0-1'],
  ['1.0-1~bpo11+1', '1.0-1'],
  ['2:1.0', '1:9.9'],
  ['1.0+dfsg-1', '1.0-1'],
  ['1.0.0', '1.0'],
  ['1.0-0', '1.0'],
  ['1.0-~', '1.0'],
  ['1.0~', '1.0-1'],
  ['9', '10'],
  ['1.10', '1.9'],
  ['1.0A', '1.0a'],
  ['1.0+', '1.0.'],
  ['1.0~a', '1.0~A'],
  ['123456789012345678901234567890', '123456789012345678901234567891'],
  ['007', '7'],
  ['2147483647:1', '1:2'],
  ['1:2:3', '1:2.3'],
  ['0:09azAZ.-+~:-0', '0:09azAZ.-+~:'],
  // Blank versions and padding: dpkg --compare-versions has special cases for these.
  ['', '~'],
  ['', '1'],
  ['', ''],
  ['<unknown>', '1'],
  [' \t1.0-1  ', '1.0-1'],
  // dpkg warns about these but still orders them.
  ['1.0_1', '1.0.1'],
  ['1.0é', '1.0a'],
  ['1.0é', '1.0.1'],
  ['a1', '1'],
  ['~1', ''],
];

const DPKG_RELATION = new Map([
  [-1, 'lt'],
  [0, 'eq'],
  [1, 'gt'],
]);

async function dpkgHolds(dpkg: string, a: string, result: number, b: string) {
  const r = await run(dpkg, ['--compare-versions', a, DPKG_RELATION.get(result) ?? 'eq', b]);
  if (r.code !== 0 && r.code !== 1) throw new Error(`dpkg failed on "${a}" vs "${b}": ${r.stderr.trim()}`);
  return { holds: r.code === 0, stderr: r.stderr };
}

/**
 * dpkg's order for a pair. lt, eq and gt are exclusive, so asking only about the relation we
 * expect settles agreement in one process (each costs ~10 ms here); a second one runs only to name
 * dpkg's answer when it disagrees.
 */
async function dpkgCompare(dpkg: string, a: string, b: string, expected: number) {
  const first = await dpkgHolds(dpkg, a, expected, b);
  if (first.holds) return { result: expected, stderr: first.stderr };
  const [other, last] = [-1, 0, 1].filter((x) => x !== expected) as [number, number];
  const second = await dpkgHolds(dpkg, a, other, b);
  return { result: second.holds ? other : last, stderr: first.stderr + second.stderr };
}

/** Runs `fn` over `items` with a few processes in flight at once; the order of results is kept. */
async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  return results;
}

function describeMismatches(tool: string, mismatches: string[], total: number): string {
  const shown = mismatches.slice(0, 40).join('\n  ');
  return `${tool} disagrees with us on ${mismatches.length} of ${total} pairs:\n  ${shown}`;
}

test('dpkg: every generated and hand-picked pair orders exactly as dpkg --compare-versions', async () => {
  const dpkg = requireTool('dpkg');
  const generated = generateDpkgPairs(0x5eed_d9c6, GENERATED_PAIRS);
  const pairs = [...generated, ...DPKG_KNOWN];

  const ours = pairs.map(([a, b]) => compareDpkgVersions(a, b));
  const answers = await mapLimited(pairs, 6, ([a, b], i) => dpkgCompare(dpkg, a, b, ours[i] as number));

  const mismatches: string[] = [];
  const tally = { '-1': 0, '0': 0, '1': 0 };
  let compared = 0;
  pairs.forEach(([a, b], i) => {
    const answer = answers[i];
    assert.ok(answer, `no dpkg answer for pair ${i}`);
    if (i < generated.length) {
      assert.equal(answer.stderr, '', `dpkg complained about generated pair "${a}" vs "${b}"`);
      tally[String(answer.result) as keyof typeof tally]++;
    }
    const mine = ours[i];
    const reverse = compareDpkgVersions(b, a);
    compared++;
    if (mine !== answer.result) mismatches.push(`"${a}" vs "${b}": dpkg ${answer.result}, ours ${mine}`);
    else if (reverse !== -mine) mismatches.push(`"${b}" vs "${a}" (reversed): ours ${reverse}`);
  });

  assert.deepEqual(mismatches, [], describeMismatches('dpkg', mismatches, pairs.length));
  assert.ok(compared >= MIN_GENERATED_PAIRS + DPKG_KNOWN.length, `compared only ${compared} dpkg pairs`);
  assert.ok(generated.length >= MIN_GENERATED_PAIRS, `generated only ${generated.length} dpkg pairs`);
  // The generator must really produce every kind of tricky case, and all three outcomes.
  const has = (re: RegExp) => generated.filter(([a, b]) => re.test(a) || re.test(b)).length;
  assert.ok(has(/~/) >= 30, 'too few dpkg pairs with a tilde');
  assert.ok(has(/^\d+:/) >= 30, 'too few dpkg pairs with an epoch');
  assert.ok(has(/(^|[^0-9])0\d/) >= 20, 'too few dpkg pairs with leading zeros');
  assert.ok(has(/-.*-/) >= 10, 'too few dpkg pairs with a hyphen in the upstream version');
  assert.ok(has(/[A-Za-z]/) >= 50, 'too few dpkg pairs with letters');
  assert.ok(
    tally['-1'] >= 50 && tally['1'] >= 50 && tally['0'] >= 5,
    `one-sided outcomes: ${JSON.stringify(tally)}`,
  );
});

test('dpkg: versions dpkg refuses are refused with a bad-request error', async () => {
  const dpkg = requireTool('dpkg');
  const refused = ['1.0-', '1:', ':1.0', 'a:1.0', '1.0 1', '0:0 0-1', '2147483648:1', '1a:2', '  '];
  for (const v of refused) {
    const r = await run(dpkg, ['--compare-versions', v, 'lt', '1']);
    assert.equal(r.code, 2, `dpkg accepted "${v}" (exit ${r.code})`);
    assert.throws(
      () => compareDpkgVersions(v, '1'),
      (e: unknown) => e instanceof HindsightError && e.code === 'bad-request',
      `we accepted "${v}"`,
    );
  }
});

test('dpkg: parseDpkgVersion splits epoch at the first colon and revision at the last hyphen', () => {
  assert.deepEqual(parseDpkgVersion('1.0'), { epoch: 0, upstream: '1.0', revision: '' });
  assert.deepEqual(parseDpkgVersion('2:1.0-1'), { epoch: 2, upstream: '1.0', revision: '1' });
  assert.deepEqual(parseDpkgVersion('1:2:3-4-5'), { epoch: 1, upstream: '2:3-4', revision: '5' });
  assert.deepEqual(parseDpkgVersion(' 007:1.0~rc1-0ubuntu1\t'), {
    epoch: 7,
    upstream: '1.0~rc1',
    revision: '0ubuntu1',
  });
});

// ---------- rpm ----------

/** A version with no hyphen and no leading `digits:`, so rpm.vercmp reduces to one rpmvercmp call. */
function rpmPlainVersion(r: Rng): string {
  let s = r.chance(0.85) ? numberChunk(r) : r.pick(['a', 'xyz', '.', '_', '~', '^', 'A1']);
  const pieces = r.int(0, 4);
  for (let k = 0; k < pieces; k++) {
    const sep = r.pick(['.', '.', '.', '', '_', '+', '~', '^', '~~', '^^', '..', '.~', '^~', '%']);
    s += sep + chunk(r);
  }
  if (r.chance(0.2)) s += r.pick(['~', '^', '.', '+', '_', '~rc1', '^git1', 'é']);
  return s;
}

function mutateRpm(r: Rng, v: string): string {
  switch (r.int(0, 8)) {
    case 0:
      return v + r.pick(['~rc1', '~', '^', '^git1', '^1', '.1', 'a', '0', '.', '_', '+', '~~', 'Z']);
    case 1:
      return v.length > 1 ? v.slice(0, -1) : `${v}1`;
    case 2: {
      const digits = positionsOf(v, (ch) => /[0-9]/.test(ch));
      const at = digits[r.int(0, digits.length - 1)];
      return at === undefined ? `${v}1` : replaceAt(v, at, String(r.int(0, 9)));
    }
    case 3: {
      const digits = positionsOf(v, (ch) => /[0-9]/.test(ch));
      const at = digits[r.int(0, digits.length - 1)];
      return at === undefined ? `0${v}` : `${v.slice(0, at)}0${v.slice(at)}`;
    }
    case 4: {
      const seps = positionsOf(v, (ch) => /[^A-Za-z0-9]/.test(ch));
      const at = seps[r.int(0, seps.length - 1)];
      return at === undefined ? `${v}.` : replaceAt(v, at, r.pick(['.', '_', '+', '~', '^', '', 'a', '1']));
    }
    case 5: {
      const letters = positionsOf(v, (ch) => /[A-Za-z]/.test(ch));
      const at = letters[r.int(0, letters.length - 1)];
      return at === undefined ? `${v}a` : replaceAt(v, at, r.pick(['a', 'A', 'b', 'z', '1', '.', '~', '^']));
    }
    case 6: {
      const at = r.int(0, v.length);
      return `${v.slice(0, at)}${r.pick(['~', '^', '.', 'a', '0', '~~'])}${v.slice(at)}`;
    }
    default:
      return rpmPlainVersion(r);
  }
}

function isPlainRpmVersion(v: string): boolean {
  return v !== '' && !v.includes('-') && !/^\d*:/.test(v) && !/[\t\n\r]/.test(v);
}

function generatePlainRpmPairs(seed: number, count: number): Pair[] {
  const r = makeRng(seed);
  const pairs: Pair[] = [];
  while (pairs.length < count) {
    const a = rpmPlainVersion(r);
    let b = mutateRpm(r, r.chance(0.3) ? mutateRpm(r, a) : a);
    if (!isPlainRpmVersion(b)) b = a;
    if (!isPlainRpmVersion(a)) continue;
    pairs.push(r.chance(0.5) ? [a, b] : [b, a]);
  }
  return pairs;
}

function rpmEvr(r: Rng): string {
  const epoch = r.chance(0.35)
    ? `${r.pick(['0', '1', '2', '00', '01', '10', '', '99999999999999999999'])}:`
    : '';
  let version = rpmPlainVersion(r);
  if (r.chance(0.1)) version += r.pick(['-rc1', ':2', '-1-2']);
  const release = r.chance(0.7)
    ? `-${r.pick(['1', '0', '2', '1.fc39', '1.el9', '0.1.rc1', '1~', '', '10', '01'])}`
    : '';
  return `${epoch}${version}${release}`;
}

function mutateEvr(r: Rng, v: string): string {
  switch (r.int(0, 5)) {
    case 0: {
      const m = /^\d*:/.exec(v);
      if (m)
        return r.chance(0.5)
          ? v.slice(m[0].length)
          : `${r.pick(['0', '1', '3', ''])}:${v.slice(m[0].length)}`;
      return `${r.pick(['0', '1', '00'])}:${v}`;
    }
    case 1: {
      const hyphen = v.lastIndexOf('-');
      return hyphen >= 0 ? v.slice(0, hyphen) : `${v}-${r.pick(['1', '0', ''])}`;
    }
    default:
      return mutateRpm(r, v);
  }
}

function generateEvrPairs(seed: number, count: number): Pair[] {
  const r = makeRng(seed);
  const pairs: Pair[] = [];
  while (pairs.length < count) {
    const a = rpmEvr(r);
    const b = mutateEvr(r, r.chance(0.3) ? mutateEvr(r, a) : a);
    if (b === '' || /[\t\n\r]/.test(b)) continue;
    pairs.push(r.chance(0.5) ? [a, b] : [b, a]);
  }
  return pairs;
}

/** Cases from rpm's own test suite (tests/rpmvercmp.at), plus the brief's. */
const RPM_PLAIN_KNOWN: Pair[] = [
  ['1.0', '2.0'],
  ['2.0.1', '2.0'],
  ['2.0.1a', '2.0.1'],
  ['5.5p1', '5.5p10'],
  ['10xyz', '10.1xyz'],
  ['xyz10', 'xyz10.1'],
  ['xyz.4', '8'],
  ['xyz.4', '2'],
  ['5.5p2', '5.6p1'],
  ['6.0.rc1', '6.0'],
  ['10b2', '10a1'],
  ['1.0a', '1.0aa'],
  ['10.0001', '10.1'],
  ['10.0001', '10.0039'],
  ['4.999.9', '5.0'],
  ['20101121', '20101122'],
  ['2_0', '2.0'],
  ['a+', 'a_'],
  ['+a', '_a'],
  ['_+', '+_'],
  ['+', '_'],
  ['1.0~rc1', '1.0'],
  ['1.0~rc1', '1.0~rc2'],
  ['1.0~rc1~git123', '1.0~rc1'],
  ['1.0^', '1.0'],
  ['1.0^git1', '1.0'],
  ['1.0^git1', '1.0^git2'],
  ['1.0^git1', '1.01'],
  ['1.0^20160101', '1.0.1'],
  ['1.0^20160102', '1.0^20160101^git1'],
  ['1.0~rc1^git1', '1.0~rc1'],
  ['1.0^git1~pre', '1.0^git1'],
  ['1.0a', '1.0.1'],
  ['1b.fc17', '1.fc17'],
  ['1g.fc17', '1.fc17'],
  ['1.1.α', '1.1.β'],
  ['1.1.αα', '1.1.α'],
  ['1.0^', '1.0~'],
  ['1.0^a', '1.0.a'],
  ['1.0.', '1.0'],
  ['1..0', '1.0'],
  ['~', '^'],
  ['~', '.'],
  ['^', '.'],
  ['a', '1'],
  ['000', '0'],
  ['123456789012345678901234567890', '123456789012345678901234567891'],
];

const RPM_EVR_KNOWN: Pair[] = [
  ['1:0.1', '2.0'],
  ['0:1.0', '1.0'],
  [':1.0', '0:1.0'],
  ['00:1.0', '0:1.0'],
  ['1.0-1', '1.0-1.1'],
  ['1.0-1', '1.0'],
  ['1.0-', '1.0'],
  ['1.0-', '1.0-0'],
  ['1.0-1-2', '1.0-1'],
  ['1.0-1-2', '1.0-2'],
  ['2:1.0-1', '10:0.1-1'],
  ['99999999999999999999:1', '99999999999999999998:2'],
  ['1.0-1.fc39', '1.0-1.fc40'],
  ['1.0~rc1-1', '1.0-0'],
  ['1.0^git1-1', '1.0-9'],
  ['a:1', '1'],
  ['1:2:3', '1:2'],
];

async function rpmVercmpBatch(rpm: string, pairs: readonly Pair[]): Promise<(number | null)[]> {
  // One rpm process for all pairs: the Lua reads them from stdin, so no quoting of versions.
  const lua = [
    '%{lua:',
    'local n = 0',
    'for line in io.lines() do',
    '  n = n + 1',
    '  local a, b = string.match(line, "^([^\\t]*)\\t([^\\t]*)$")',
    '  local ok, r = pcall(rpm.vercmp, a, b)',
    '  if ok then print(n .. " " .. r .. "\\n") else print(n .. " E\\n") end',
    'end',
    '}',
  ].join('\n');
  const input = `${pairs.map(([a, b]) => `${a}\t${b}`).join('\n')}\n`;
  const r = await run(rpm, ['--eval', lua], { input });
  assert.equal(r.code, 0, `rpm --eval failed: ${r.stderr.trim()}`);
  const results: (number | null)[] = new Array(pairs.length).fill(null);
  let answered = 0;
  for (const line of r.stdout.toString('utf8').split('\n')) {
    const m = /^(\d+) (-?\d+|E)$/.exec(line.trim());
    if (!m) continue;
    const index = Number(m[1]) - 1;
    results[index] = m[2] === 'E' ? Number.NaN : Math.sign(Number(m[2]));
    answered++;
  }
  assert.equal(answered, pairs.length, `rpm answered ${answered} of ${pairs.length} pairs`);
  return results;
}

test('rpm: every generated and hand-picked pair orders exactly as rpm.vercmp', async () => {
  const rpm = requireTool('rpm');
  const plainGenerated = generatePlainRpmPairs(0x5eed_4a11, GENERATED_PAIRS);
  const evrGenerated = generateEvrPairs(0x5eed_e7e7, GENERATED_PAIRS);
  const plain = [...plainGenerated, ...RPM_PLAIN_KNOWN];
  const evr = [...evrGenerated, ...RPM_EVR_KNOWN];
  // Both directions go to rpm, which checks antisymmetry against the tool rather than ourselves.
  const withReverse = (pairs: Pair[]): Pair[] =>
    pairs.flatMap(([a, b]): Pair[] => [
      [a, b],
      [b, a],
    ]);
  const plainAll = withReverse(plain);
  const evrAll = withReverse(evr);

  const answers = await rpmVercmpBatch(rpm, [...plainAll, ...evrAll]);

  const mismatches: string[] = [];
  const tally = { '-1': 0, '0': 0, '1': 0 };
  let compared = 0;
  const check = (pairs: Pair[], offset: number, ours: (a: string, b: string) => number, label: string) => {
    pairs.forEach(([a, b], i) => {
      const tool = answers[offset + i];
      assert.ok(tool !== null && tool !== undefined, `no rpm answer for ${label} pair "${a}" vs "${b}"`);
      assert.ok(!Number.isNaN(tool), `rpm refused ${label} pair "${a}" vs "${b}"`);
      const mine = ours(a, b);
      compared++;
      tally[String(tool) as keyof typeof tally]++;
      if (mine !== tool) mismatches.push(`${label} "${a}" vs "${b}": rpm ${tool}, ours ${mine}`);
    });
  };
  check(plainAll, 0, rpmvercmp, 'rpmvercmp');
  check(evrAll, plainAll.length, compareRpmEvr, 'evr');

  assert.deepEqual(mismatches, [], describeMismatches('rpm', mismatches, plainAll.length + evrAll.length));
  assert.ok(
    plainGenerated.length >= MIN_GENERATED_PAIRS,
    `generated only ${plainGenerated.length} plain pairs`,
  );
  assert.ok(evrGenerated.length >= MIN_GENERATED_PAIRS, `generated only ${evrGenerated.length} EVR pairs`);
  assert.ok(compared >= 4 * MIN_GENERATED_PAIRS, `compared only ${compared} rpm pairs`);
  const has = (pairs: Pair[], re: RegExp) => pairs.filter(([a, b]) => re.test(a) || re.test(b)).length;
  assert.ok(has(plainGenerated, /~/) >= 30, 'too few rpm pairs with a tilde');
  assert.ok(has(plainGenerated, /\^/) >= 30, 'too few rpm pairs with a caret');
  assert.ok(has(plainGenerated, /(^|[^0-9])0\d/) >= 20, 'too few rpm pairs with leading zeros');
  assert.ok(has(plainGenerated, /[A-Za-z]/) >= 50, 'too few rpm pairs with letters');
  assert.ok(has(evrGenerated, /^\d*:/) >= 50, 'too few rpm pairs with an epoch');
  assert.ok(has(evrGenerated, /-/) >= 100, 'too few rpm pairs with a release');
  assert.ok(
    tally['-1'] >= 100 && tally['1'] >= 100 && tally['0'] >= 10,
    `one-sided outcomes: ${JSON.stringify(tally)}`,
  );
});

test('rpm: parseRpmEvr follows parseEVR and empty versions are refused', () => {
  assert.deepEqual(parseRpmEvr('1.0'), { epoch: 0, version: '1.0', release: null });
  assert.deepEqual(parseRpmEvr('3:1.0-2.fc39'), { epoch: 3, version: '1.0', release: '2.fc39' });
  assert.deepEqual(parseRpmEvr(':1.0-'), { epoch: 0, version: '1.0', release: '' });
  assert.deepEqual(parseRpmEvr('1.0-rc1-2'), { epoch: 0, version: '1.0-rc1', release: '2' });
  assert.deepEqual(parseRpmEvr('a:1.0'), { epoch: 0, version: 'a:1.0', release: null });
  assert.throws(
    () => compareRpmEvr('', '1.0'),
    (e: unknown) => e instanceof HindsightError && e.code === 'bad-request',
  );
});
