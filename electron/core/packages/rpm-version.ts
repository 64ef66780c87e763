import { HindsightError } from '../../../shared/errors.ts';

/**
 * RPM version order, ported from rpm 4.18 (rpmio/rpmvercmp.c `rpmvercmp`, rpmio/rpmver.c
 * `parseEVR` and `rpmverCmp`, which is what `rpm.vercmp` in rpm's Lua uses). The C control flow
 * is kept so the result agrees with rpm on every input, odd ones included.
 */

export interface RpmEvr {
  /** 0 when the string has no epoch (or an empty one, as in `:1.0`). */
  epoch: number;
  version: string;
  /** null when there is no hyphen; rpm orders a missing release before any present one. */
  release: string | null;
}

const TILDE = 0x7e;
const CARET = 0x5e;

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isAlpha(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/** rpm's risalnum is ASCII-only, so every other character (UTF-8 included) is a separator. */
function isSeparator(c: number): boolean {
  return !isDigit(c) && !isAlpha(c) && c !== TILDE && c !== CARET;
}

/** rpmvercmp on one version or release string; returns -1, 0 or 1. */
export function rpmvercmp(a: string, b: string): number {
  if (a === b) return 0;
  // Past the end reads as 0, standing in for the C string's NUL terminator.
  const at = (s: string, i: number): number => (i < s.length ? s.charCodeAt(i) : 0);
  let one = 0;
  let two = 0;

  while (one < a.length || two < b.length) {
    while (one < a.length && isSeparator(at(a, one))) one++;
    while (two < b.length && isSeparator(at(b, two))) two++;
    const c1 = at(a, one);
    const c2 = at(b, two);

    if (c1 === TILDE || c2 === TILDE) {
      if (c1 !== TILDE) return 1;
      if (c2 !== TILDE) return -1;
      one++;
      two++;
      continue;
    }

    // Like `~`, except that running out of string sorts below `^` rather than above it.
    if (c1 === CARET || c2 === CARET) {
      if (c1 === 0) return -1;
      if (c2 === 0) return 1;
      if (c1 !== CARET) return 1;
      if (c2 !== CARET) return -1;
      one++;
      two++;
      continue;
    }

    if (c1 === 0 || c2 === 0) break;

    let end1 = one;
    let end2 = two;
    const isNum = isDigit(c1);
    const inSegment = isNum ? isDigit : isAlpha;
    while (end1 < a.length && inSegment(at(a, end1))) end1++;
    while (end2 < b.length && inSegment(at(b, end2))) end2++;

    if (end1 === one) return -1;
    // Segments of different kinds: a number always beats letters.
    if (end2 === two) return isNum ? 1 : -1;

    let seg1 = a.slice(one, end1);
    let seg2 = b.slice(two, end2);
    if (isNum) {
      seg1 = seg1.replace(/^0+/, '');
      seg2 = seg2.replace(/^0+/, '');
      if (seg1.length !== seg2.length) return seg1.length > seg2.length ? 1 : -1;
    }
    // Segments are pure ASCII here, so UTF-16 order equals strcmp's byte order.
    if (seg1 !== seg2) return seg1 < seg2 ? -1 : 1;

    one = end1;
    two = end2;
  }

  if (one >= a.length && two >= b.length) return 0;
  return one >= a.length ? -1 : 1;
}

interface EvrParts {
  /** The epoch digits as written, or null when absent; compared as text to avoid overflow. */
  epochText: string | null;
  version: string;
  release: string | null;
}

/** parseEVR: epoch only if the string opens with digits then a colon; release after the last hyphen. */
function splitEvr(evr: string): EvrParts {
  let digitsEnd = 0;
  while (digitsEnd < evr.length && isDigit(evr.charCodeAt(digitsEnd))) digitsEnd++;
  const hyphen = evr.lastIndexOf('-');
  let epochText: string | null = null;
  let versionStart = 0;
  if (evr.charAt(digitsEnd) === ':') {
    epochText = digitsEnd === 0 ? '0' : evr.slice(0, digitsEnd);
    versionStart = digitsEnd + 1;
  }
  if (hyphen >= digitsEnd) {
    return { epochText, version: evr.slice(versionStart, hyphen), release: evr.slice(hyphen + 1) };
  }
  return { epochText, version: evr.slice(versionStart), release: null };
}

export function parseRpmEvr(evr: string): RpmEvr {
  const { epochText, version, release } = splitEvr(evr);
  return { epoch: epochText === null ? 0 : Number(epochText), version, release };
}

/** rpmver.c compare_values: a present value beats an absent one. */
function compareValues(a: string | null, b: string | null): number {
  if (a === null && b === null) return 0;
  if (b === null) return 1;
  if (a === null) return -1;
  return rpmvercmp(a, b);
}

/**
 * Orders two `[epoch:]version[-release]` strings as rpm's rpmverCmp does (`rpm.vercmp`);
 * returns -1, 0 or 1. rpm refuses an empty EVR, and so does this.
 */
export function compareRpmEvr(a: string, b: string): number {
  if (a === '' || b === '') throw new HindsightError('bad-request', 'invalid rpm version: empty string');
  // Equal text compares equal part by part (rpmvercmp returns 0 for equal strings).
  if (a === b) return 0;
  const ea = splitEvr(a);
  const eb = splitEvr(b);
  return (
    rpmvercmp(ea.epochText ?? '0', eb.epochText ?? '0') ||
    compareValues(ea.version, eb.version) ||
    compareValues(ea.release, eb.release)
  );
}
