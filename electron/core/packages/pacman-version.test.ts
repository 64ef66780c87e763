import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { findProgram, runChecked } from '../exec.ts';
import { comparePacmanVersions, pacmanRpmvercmp, parsePacmanEvr } from './pacman-version.ts';

/**
 * pacman's order is checked against pacman's own `vercmp` (Debian package `makepkg`), which prints
 * alpm_pkg_vercmp's answer. A few facts also hold without it, so a machine lacking vercmp still
 * checks the rules that matter most.
 */

type Pair = readonly [string, string];

const VERCMP = findProgram('vercmp');
const NO_VERCMP = VERCMP
  ? false
  : 'vercmp is not installed: install the Debian package makepkg (apt-get install makepkg) to check pacman order against it';

/** Hand-picked pairs, each for a rule of pacman's order; the number is vercmp's answer (checked by the test below). */
const KNOWN: readonly [string, string, number][] = [
  ['1.0', '1.0', 0],
  ['1.0', '1.0a', 1],
  ['1.0a', '1.0b', -1],
  ['1.0.0', '1.0', 1],
  ['1.0rc1', '1.0', -1],
  ['1.0rc1', '1.0.1', -1],
  ['1.0alpha', '1.0beta', -1],
  ['1.0', '1.0.a', -1],
  ['1.0', '1.0.', -1],
  ['1.0.', '1.0a', 1],
  ['1.0', '1..0', -1],
  ['1.0', '1_0', 0],
  ['1.0', '1+0', 0],
  ['1.0', '1~0', 0],
  ['1.0~rc1', '1.0', 1],
  ['1.0^1', '1.0', 1],
  ['1:1.0', '2.0', 1],
  ['0:2.0', '2.0', 0],
  [':2.0', '2.0', 0],
  ['1:', '0:9', 1],
  ['2:1.0', '10:1.0', -1],
  ['01:1.0', '1:1.0', 0],
  ['1.0-1', '1.0-2', -1],
  ['1.0-10', '1.0-9', 1],
  ['1.0-1', '1.0', 0],
  ['1.0-', '1.0-1', -1],
  ['1.0-', '1.0', 0],
  ['1.0-1.1', '1.0-1', 1],
  ['1.0-a', '1.0-1', -1],
  ['1.01', '1.1', 0],
  ['1.001', '1.1', 0],
  ['1.0', '1.00', 0],
  ['007', '7', 0],
  ['123456789012345678901234567890', '123456789012345678901234567891', -1],
  ['1a', '1', -1],
  ['a', '1', -1],
  ['a', '', -1],
  ['1', '', 1],
  ['', '', 0],
  ['.', '', 1],
  ['1.0', 'a.0', 1],
  ['A', 'a', -1],
  ['1.0é', '1.0', 1],
  ['1é0', '1.0', 1],
  ['1é0', '1..0', 0],
  ['1.2.3-4', '1.2.3-4.1', -1],
  ['6.6.1.arch1-1', '6.6.10.arch1-1', -1],
  ['2024a-1', '2024b-1', -1],
  ['1:1.2-3', '1:1.2-3', 0],
  ['1-2-3', '1-2', 1],
  ['r1234.abcdef-1', 'r1235.abc-1', -1],
];

/** mulberry32: tiny and deterministic, so a failure names the same pairs on every run. */
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
  const pick = <T>(items: readonly T[]): T => items[int(0, items.length - 1)] as T;
  return { int, pick, chance: (p: number): boolean => next() < p };
}
type Rng = ReturnType<typeof makeRng>;

const NUMBERS = ['0', '1', '2', '9', '10', '01', '001', '99', '100', '2024', '20240101'];
const LETTERS = ['a', 'b', 'z', 'A', 'rc', 'alpha', 'beta', 'git', 'pre', 'p', 'arch', 'r'];
const SEPARATORS = ['.', '.', '.', '_', '+', '~', '^', '..', '._', 'é'];

function version(r: Rng): string {
  let v = '';
  const parts = r.int(1, 4);
  for (let i = 0; i < parts; i++) {
    if (i > 0 || r.chance(0.05)) v += r.pick(SEPARATORS);
    v += r.chance(0.65) ? r.pick(NUMBERS) : r.pick(LETTERS);
    if (r.chance(0.2)) v += r.chance(0.5) ? r.pick(LETTERS) : r.pick(NUMBERS);
  }
  if (r.chance(0.05)) v += r.pick(SEPARATORS);
  return v;
}

function evr(r: Rng): string {
  const epoch = r.chance(0.25) ? `${r.pick(['', '0', '1', '2', '01', '10'])}:` : '';
  const release = r.chance(0.6) ? `-${r.pick(['', '1', '2', '10', '1.1', '0.1', 'a'])}` : '';
  return `${epoch}${version(r)}${release}`;
}

/** Near misses teach more than random pairs: the second side is often the first, slightly changed. */
function mutate(r: Rng, v: string): string {
  switch (r.int(0, 6)) {
    case 0:
      return `${v}${r.pick(SEPARATORS)}${r.pick(NUMBERS)}`;
    case 1:
      return `${v}${r.pick(LETTERS)}`;
    case 2:
      return v.replace(/\d+/, (n) => String(Number(n) + 1));
    case 3:
      return v.replace(/[._+~^]/, r.pick(SEPARATORS));
    case 4:
      return v.includes('-') ? v.slice(0, v.lastIndexOf('-')) : `${v}-1`;
    case 5:
      return v.includes(':') ? v.slice(v.indexOf(':') + 1) : `1:${v}`;
    default:
      return v.replace(/\d/, (d) => `0${d}`);
  }
}

function generatePairs(seed: number, count: number): Pair[] {
  const r = makeRng(seed);
  const pairs: Pair[] = [];
  while (pairs.length < count) {
    const a = evr(r);
    pairs.push([a, r.chance(0.7) ? mutate(r, a) : evr(r)]);
  }
  return pairs;
}

/**
 * vercmp's answers, one line per pair, from one shell that runs it for each: hundreds of processes
 * started from Node would take seconds longer. Fields are split on \x1f, which keeps empty ones.
 */
async function vercmpAll(vercmp: string, pairs: readonly Pair[]): Promise<number[]> {
  const input = pairs.map(([a, b]) => `${a}\x1f${b}\n`).join('');
  const script = 'US=$(printf "\\037"); while IFS=$US read -r a b; do "$0" "$a" "$b" || exit 1; done';
  const out = (await runChecked('/bin/bash', ['-c', script, vercmp], { input })).toString('utf8');
  const answers = out.split('\n').filter((l) => l !== '');
  assert.equal(answers.length, pairs.length, 'vercmp gave one answer per pair');
  return answers.map((line) => {
    assert.match(line, /^-?[01]$/, `vercmp printed ${JSON.stringify(line)}`);
    return Number(line);
  });
}

describe('pacman version order', () => {
  test('parses epoch, version and release as alpm parseEVR does', () => {
    assert.deepEqual(parsePacmanEvr('1:2.3-4'), { epoch: '1', version: '2.3', release: '4' });
    assert.deepEqual(parsePacmanEvr('2.3'), { epoch: '0', version: '2.3', release: null });
    assert.deepEqual(parsePacmanEvr(':2.3-'), { epoch: '0', version: '2.3', release: '' });
    assert.deepEqual(parsePacmanEvr('1-2-3'), { epoch: '0', version: '1-2', release: '3' });
    assert.deepEqual(parsePacmanEvr('a:1'), { epoch: '0', version: 'a:1', release: null });
  });

  test('the rules that matter most hold without vercmp', () => {
    assert.equal(comparePacmanVersions('1.0a', '1.0'), -1, 'a trailing letter segment is older');
    assert.equal(comparePacmanVersions('1.0.0', '1.0'), 1, 'a trailing number segment is newer');
    assert.equal(comparePacmanVersions('1.0rc1', '1.0'), -1);
    assert.equal(comparePacmanVersions('1:1.0', '2.0'), 1, 'the epoch comes first');
    assert.equal(comparePacmanVersions('1.0-1', '1.0-2'), -1);
    assert.equal(comparePacmanVersions('1.0-9', '1.0'), 0, 'one missing release leaves releases out');
    assert.equal(comparePacmanVersions('1.0_1', '1.0.1'), 0, 'separators of the same length are equal');
    assert.equal(pacmanRpmvercmp('1..0', '1.0'), 1, 'a longer separator run is newer');
  });

  test('every hand-picked and generated pair orders as pacman vercmp does', { skip: NO_VERCMP }, async () => {
    const vercmp = VERCMP as string;
    const generated = generatePairs(0x9ac_a11, 400);
    const pairs: Pair[] = [...KNOWN.map(([a, b]) => [a, b] as const), ...generated];
    const answers = await vercmpAll(vercmp, pairs);

    const mismatches: string[] = [];
    pairs.forEach(([a, b], i) => {
      const ours = comparePacmanVersions(a, b);
      if (ours !== answers[i]) mismatches.push(`"${a}" vs "${b}": vercmp ${answers[i]}, ours ${ours}`);
      else if (comparePacmanVersions(b, a) !== -ours)
        mismatches.push(`"${b}" vs "${a}" (reversed) is not the opposite`);
    });
    assert.deepEqual(mismatches, [], `vercmp disagrees on ${mismatches.length} of ${pairs.length} pairs`);

    KNOWN.forEach(([a, b, expected], i) => {
      assert.equal(answers[i], expected, `the table's answer for "${a}" vs "${b}" is vercmp's`);
    });
    // The generator must really reach every outcome and the tricky shapes, or the check proves little.
    const outcomes = new Set(answers.slice(KNOWN.length));
    assert.deepEqual([...outcomes].sort(), [-1, 0, 1]);
    const has = (re: RegExp) => generated.filter(([a, b]) => re.test(a) || re.test(b)).length;
    assert.ok(has(/^\d*:/) >= 40, 'pairs with an epoch');
    assert.ok(has(/-/) >= 100, 'pairs with a release');
    assert.ok(has(/-$/) >= 10, 'pairs with an empty release');
    assert.ok(has(/[a-z]$/i) >= 40, 'pairs ending in letters');
    assert.ok(has(/\.\.|é|\._/) >= 30, 'pairs with long or multi-byte separators');
  });
});
