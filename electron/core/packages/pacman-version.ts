/**
 * pacman's version order, ported from pacman 6.0 (lib/libalpm/version.c: `parseEVR`, its own copy
 * of `rpmvercmp`, and `alpm_pkg_vercmp`, which is what `vercmp` prints). pacman forked rpmvercmp
 * long before rpm added `~` and `^`, and changed it since, so rpm-version.ts cannot serve:
 * - a run of separators of a different length ends the comparison (`1.0` < `1..0`, `1_0` = `1.0`);
 * - no `~` or `^`: they are plain separators;
 * - a trailing letter segment loses to nothing (`1.0a` < `1.0`), a trailing number wins;
 * - the release is compared only when both sides have one (`1.0` = `1.0-5`);
 * - a missing epoch is 0, whatever follows.
 * The C works on bytes in the C locale, so this does too: every byte outside ASCII letters and
 * digits is a separator, and separator runs are measured in bytes (UTF-8 included).
 */

export interface PacmanEvr {
  /** The epoch digits as written ("0" when absent or empty); compared like a version, not as a number. */
  epoch: string;
  version: string;
  /** null when there is no hyphen; then the release takes no part in the order. */
  release: string | null;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isAlpha(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

function isAlnum(c: number): boolean {
  return isDigit(c) || isAlpha(c);
}

/** parseEVR: epoch only when the string opens with digits (or nothing) then a colon; release after the last hyphen. */
export function parsePacmanEvr(evr: string): PacmanEvr {
  let digitsEnd = 0;
  while (digitsEnd < evr.length && isDigit(evr.charCodeAt(digitsEnd))) digitsEnd++;
  // strrchr from the end of the digits: a hyphen can only follow them.
  const hyphen = evr.lastIndexOf('-');
  const release = hyphen >= digitsEnd ? evr.slice(hyphen + 1) : null;
  const end = release === null ? evr.length : hyphen;
  if (evr.charAt(digitsEnd) === ':') {
    return {
      epoch: digitsEnd === 0 ? '0' : evr.slice(0, digitsEnd),
      version: evr.slice(digitsEnd + 1, end),
      release,
    };
  }
  return { epoch: '0', version: evr.slice(0, end), release };
}

/** pacman's rpmvercmp on one epoch, version or release; returns -1, 0 or 1. */
export function pacmanRpmvercmp(a: string, b: string): number {
  if (a === b) return 0;
  return compareBytes(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function compareBytes(s1: Buffer, s2: Buffer): number {
  // Past the end reads as 0, standing in for the C string's NUL terminator.
  const at = (s: Buffer, i: number): number => (i < s.length ? (s[i] as number) : 0);
  let one = 0;
  let two = 0;
  // Where the previous segment ended: the separator run is measured from here.
  let ptr1 = 0;
  let ptr2 = 0;

  while (at(s1, one) && at(s2, two)) {
    while (at(s1, one) && !isAlnum(at(s1, one))) one++;
    while (at(s2, two) && !isAlnum(at(s2, two))) two++;
    if (!(at(s1, one) && at(s2, two))) break;
    if (one - ptr1 !== two - ptr2) return one - ptr1 < two - ptr2 ? -1 : 1;

    ptr1 = one;
    ptr2 = two;
    const isNum = isDigit(at(s1, ptr1));
    const inSegment = isNum ? isDigit : isAlpha;
    while (at(s1, ptr1) && inSegment(at(s1, ptr1))) ptr1++;
    while (at(s2, ptr2) && inSegment(at(s2, ptr2))) ptr2++;

    // A letter segment against a digit one: numbers are newer.
    if (two === ptr2) return isNum ? 1 : -1;

    let seg1 = s1.subarray(one, ptr1);
    let seg2 = s2.subarray(two, ptr2);
    if (isNum) {
      seg1 = stripZeros(seg1);
      seg2 = stripZeros(seg2);
      if (seg1.length !== seg2.length) return seg1.length > seg2.length ? 1 : -1;
    }
    const order = Buffer.compare(seg1, seg2);
    if (order !== 0) return order;
    one = ptr1;
    two = ptr2;
  }

  const c1 = at(s1, one);
  const c2 = at(s2, two);
  if (!c1 && !c2) return 0;
  // What is left decides: a letter segment never beats the end, anything else does.
  return (!c1 && !isAlpha(c2)) || isAlpha(c1) ? -1 : 1;
}

function stripZeros(segment: Buffer): Buffer {
  let i = 0;
  while (i < segment.length && segment[i] === 0x30) i++;
  return segment.subarray(i);
}

/**
 * Orders two `[epoch:]version[-release]` strings as `vercmp` and pacman do; returns -1, 0 or 1.
 * Unlike rpm, pacman accepts any string, the empty one included.
 */
export function comparePacmanVersions(a: string, b: string): number {
  if (a === b) return 0;
  const ea = parsePacmanEvr(a);
  const eb = parsePacmanEvr(b);
  const order = pacmanRpmvercmp(ea.epoch, eb.epoch) || pacmanRpmvercmp(ea.version, eb.version);
  if (order !== 0 || ea.release === null || eb.release === null) return order;
  return pacmanRpmvercmp(ea.release, eb.release);
}
