import { HindsightError } from '../../../shared/errors.ts';

/**
 * Debian version order, ported from dpkg 1.21 (lib/dpkg/parsehelp.c `parseversion`,
 * lib/dpkg/version.c `verrevcmp`, src/main/enquiry.c `cmpversions`). It has to agree with
 * `dpkg --compare-versions` byte for byte, so the C control flow is kept rather than "tidied".
 */

export interface DpkgVersion {
  epoch: number;
  upstream: string;
  /** Empty when the version has no Debian revision. */
  revision: string;
}

const INT_MAX = 2147483647;

/** dpkg's c_isblank: only space and tab, which is all parseversion trims. */
function isBlank(ch: string): boolean {
  return ch === ' ' || ch === '\t';
}

function invalid(version: string, reason: string): HindsightError {
  return new HindsightError('bad-request', `invalid dpkg version "${version}": ${reason}`);
}

/**
 * Splits a version the way dpkg does: epoch up to the first colon, revision after the last hyphen.
 * Throws where dpkg refuses the version outright; dpkg only warns about odd characters or a
 * non-digit start and still compares such versions, so they are accepted here too.
 */
export function parseDpkgVersion(v: string): DpkgVersion {
  let start = 0;
  while (start < v.length && isBlank(v.charAt(start))) start++;
  if (start === v.length) throw invalid(v, 'version string is empty');
  let end = start;
  while (end < v.length && !isBlank(v.charAt(end))) end++;
  let rest = end;
  while (rest < v.length && isBlank(v.charAt(rest))) rest++;
  if (rest < v.length) throw invalid(v, 'version string has embedded spaces');

  let text = v.slice(start, end);
  let epoch = 0;
  const colon = text.indexOf(':');
  if (colon >= 0) {
    // strtol semantics: optional C-locale whitespace, optional sign, then digits.
    const match = /^[ \t\n\v\f\r]*([+-]?)([0-9]+)/.exec(text);
    if (!match) throw invalid(v, 'epoch in version is empty');
    if (match[0].length !== colon) throw invalid(v, 'epoch in version is not number');
    const digits = (match[2] ?? '').replace(/^0+(?=.)/, '');
    const negative = match[1] === '-' && /[1-9]/.test(digits);
    if (negative) throw invalid(v, 'epoch in version is negative');
    if (digits.length > 10 || Number(digits) > INT_MAX) throw invalid(v, 'epoch in version is too big');
    if (colon === text.length - 1) throw invalid(v, 'nothing after colon in version number');
    epoch = Number(digits);
    text = text.slice(colon + 1);
  }

  let upstream = text;
  let revision = '';
  const hyphen = text.lastIndexOf('-');
  if (hyphen >= 0) {
    upstream = text.slice(0, hyphen);
    revision = text.slice(hyphen + 1);
    if (revision === '') throw invalid(v, 'revision number is empty');
  }
  if (upstream === '') throw invalid(v, 'version number is empty');
  return { epoch, upstream, revision };
}

const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
const TILDE = 0x7e;

function isDigit(c: number): boolean {
  return c >= DIGIT_0 && c <= DIGIT_9;
}

function isAlpha(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/**
 * dpkg's order(): `~` below the end of the string, letters below everything else. Bytes above 127
 * arrive as negative signed chars in C, so `c + 256` lands them between letters and punctuation.
 */
function order(c: number): number {
  if (isDigit(c)) return 0;
  if (isAlpha(c)) return c;
  if (c === TILDE) return -1;
  if (c >= 0x80) return c;
  if (c !== 0) return c + 256;
  return 0;
}

/** verrevcmp on UTF-8 bytes, reading past the end as NUL exactly like the C string walk. */
function verrevcmp(aText: string, bText: string): number {
  const a = Buffer.from(aText, 'utf8');
  const b = Buffer.from(bText, 'utf8');
  const at = (buf: Buffer, i: number): number => (i < buf.length ? (buf[i] ?? 0) : 0);
  let i = 0;
  let j = 0;
  while (at(a, i) !== 0 || at(b, j) !== 0) {
    let firstDiff = 0;
    while ((at(a, i) !== 0 && !isDigit(at(a, i))) || (at(b, j) !== 0 && !isDigit(at(b, j)))) {
      const ac = order(at(a, i));
      const bc = order(at(b, j));
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (at(a, i) === DIGIT_0) i++;
    while (at(b, j) === DIGIT_0) j++;
    while (isDigit(at(a, i)) && isDigit(at(b, j))) {
      if (firstDiff === 0) firstDiff = at(a, i) - at(b, j);
      i++;
      j++;
    }
    if (isDigit(at(a, i))) return 1;
    if (isDigit(at(b, j))) return -1;
    if (firstDiff !== 0) return firstDiff;
  }
  return 0;
}

/**
 * Parsed versions by text: a package delta compares thousands of versions, most of them seen
 * before (the same package in the other snapshot, the next delta over the same lists). Only valid
 * versions are kept, so an invalid one throws every time, as it would unparsed.
 */
const parsed = new Map<string, DpkgVersion>();
const PARSED_LIMIT = 100_000;

function parsedVersion(v: string): DpkgVersion {
  let version = parsed.get(v);
  if (!version) {
    version = parseDpkgVersion(v);
    if (parsed.size >= PARSED_LIMIT) parsed.clear();
    parsed.set(v, version);
  }
  return version;
}

/** `dpkg --compare-versions` treats these as "no version", which sorts before every real one. */
function isBlankVersion(v: string): boolean {
  return v === '' || v === '<unknown>';
}

/** Orders two Debian versions as `dpkg --compare-versions` does; returns -1, 0 or 1. */
export function compareDpkgVersions(a: string, b: string): number {
  const aBlank = isBlankVersion(a);
  const bBlank = isBlankVersion(b);
  if (aBlank || bBlank) return aBlank && bBlank ? 0 : aBlank ? -1 : 1;
  const va = parsedVersion(a);
  // Equal text is an equal version once it is known to be valid (dpkg refuses an invalid one).
  if (a === b) return 0;
  const vb = parsedVersion(b);
  if (va.epoch !== vb.epoch) return va.epoch > vb.epoch ? 1 : -1;
  const rc = verrevcmp(va.upstream, vb.upstream) || verrevcmp(va.revision, vb.revision);
  return Math.sign(rc);
}
