import { HindsightError } from '../../../shared/errors.ts';

/**
 * A strict reader for serialized GVariant data (GLib's binary format, the one OSTree stores its
 * metadata objects in). It accepts normal form only: data that GLib itself would have to
 * "repair" (bad framing offsets, wrong fixed sizes, unterminated strings) is reported as
 * `unreadable` instead of being read as defaults, because for us it means a corrupt repository.
 *
 * Values come back as:
 *   b → boolean; y n q i u h → number; x t → bigint; d → number; s o g → string;
 *   ay → Buffer (a copy); other arrays → arrays; arrays of dict entries → Map (first key wins,
 *   as with g_variant_lookup); tuples and lone dict entries → arrays; v → { type, value };
 *   m → null for Nothing, otherwise the value (so `mm…` cannot tell Nothing from Just Nothing).
 *
 * Numbers are read little-endian: every host OSTree runs on in practice, and the byte order
 * GLib writes there. Framing offsets are little-endian by the specification.
 */

export type GVariantValue =
  | boolean
  | number
  | bigint
  | string
  | Buffer
  | null
  | GVariantValue[]
  | Map<GVariantKey, GVariantValue>
  | GVariantBoxed;

export type GVariantKey = boolean | number | bigint | string;

/** The contents of a `v`: the type string it carries and the value read with it. */
export interface GVariantBoxed {
  type: string;
  value: GVariantValue;
}

/** A JSON-safe rendering of a GVariant value; see `gvariantToPlain`. */
export type GVariantPlain =
  | string
  | number
  | boolean
  | null
  | GVariantPlain[]
  | { [key: string]: GVariantPlain };

type TypeNode =
  | { kind: 'basic'; code: string; align: number; fixed: number | null }
  | { kind: 'variant'; align: 8; fixed: null }
  | { kind: 'array'; element: TypeNode; align: number; fixed: null }
  | { kind: 'maybe'; element: TypeNode; align: number; fixed: null }
  | { kind: 'tuple'; members: TypeNode[]; dict: boolean; align: number; fixed: number | null };

/** GLib's own limit on container nesting (G_VARIANT_MAX_RECURSION_DEPTH). */
const MAX_DEPTH = 128;

const FIXED_BASIC: Record<string, number> = { b: 1, y: 1, n: 2, q: 2, i: 4, u: 4, h: 4, x: 8, t: 8, d: 8 };
const STRING_BASIC = new Set(['s', 'o', 'g']);

const utf8 = new TextDecoder('utf-8', { fatal: true });

function corrupt(detail: string): HindsightError {
  return new HindsightError('unreadable', `corrupt GVariant data: ${detail}`);
}

function alignUp(offset: number, align: number): number {
  return (offset + align - 1) & ~(align - 1);
}

// ---------------------------------------------------------------------------------------------
// Type strings

const typeCache = new Map<string, TypeNode>();
const TYPE_CACHE_LIMIT = 512;

function parseType(type: string): TypeNode {
  const cached = typeCache.get(type);
  if (cached) return cached;
  const [node, next] = parseTypeAt(type, 0, 0);
  if (next !== type.length) throw corrupt(`"${printableType(type)}" is not a single complete type`);
  // Variants in the data bring their own type strings; keep the cache from growing with them.
  if (typeCache.size < TYPE_CACHE_LIMIT) typeCache.set(type, node);
  return node;
}

function parseTypeAt(type: string, pos: number, depth: number): [TypeNode, number] {
  if (depth > MAX_DEPTH) throw corrupt('type nested too deeply');
  const c = type[pos];
  if (c === undefined) throw corrupt(`type "${printableType(type)}" ends too early`);
  const fixedSize = FIXED_BASIC[c];
  if (fixedSize !== undefined)
    return [{ kind: 'basic', code: c, align: fixedSize, fixed: fixedSize }, pos + 1];
  if (STRING_BASIC.has(c)) return [{ kind: 'basic', code: c, align: 1, fixed: null }, pos + 1];
  if (c === 'v') return [{ kind: 'variant', align: 8, fixed: null }, pos + 1];
  if (c === 'a' || c === 'm') {
    const [element, next] = parseTypeAt(type, pos + 1, depth + 1);
    const kind = c === 'a' ? 'array' : 'maybe';
    return [{ kind, element, align: element.align, fixed: null }, next];
  }
  if (c === '(') {
    const members: TypeNode[] = [];
    let next = pos + 1;
    while (type[next] !== ')') {
      if (next >= type.length) throw corrupt(`type "${printableType(type)}" has an unclosed tuple`);
      const [member, after] = parseTypeAt(type, next, depth + 1);
      members.push(member);
      next = after;
    }
    return [tupleNode(members, false), next + 1];
  }
  if (c === '{') {
    const [key, afterKey] = parseTypeAt(type, pos + 1, depth + 1);
    if (key.kind !== 'basic') throw corrupt(`type "${printableType(type)}" has a dict key that is not basic`);
    const [value, afterValue] = parseTypeAt(type, afterKey, depth + 1);
    if (type[afterValue] !== '}') throw corrupt(`type "${printableType(type)}" has a malformed dict entry`);
    return [tupleNode([key, value], true), afterValue + 1];
  }
  throw corrupt(`type "${printableType(type)}" has an unknown code at ${pos}`);
}

function tupleNode(members: TypeNode[], dict: boolean): TypeNode {
  let align = 1;
  let end: number | null = 0;
  for (const member of members) {
    align = Math.max(align, member.align);
    if (end !== null) end = member.fixed === null ? null : alignUp(end, member.align) + member.fixed;
  }
  // The unit tuple takes one byte so that arrays of it still have a length.
  const fixed = end === null ? null : end === 0 ? 1 : alignUp(end, align);
  return { kind: 'tuple', members, dict, align, fixed };
}

function printableType(type: string): string {
  const shown = type.length > 40 ? `${type.slice(0, 40)}…` : type;
  return shown.replace(/[^\x20-\x7e]/g, '?');
}

// ---------------------------------------------------------------------------------------------
// Values

/**
 * Reads `bytes` as a serialized GVariant of `type` (a definite type string such as `a{sv}`).
 * Corrupt data gives HindsightError('unreadable'); an invalid `type` argument gives 'internal'.
 */
export function parseGVariant(type: string, bytes: Buffer): GVariantValue {
  let node: TypeNode;
  try {
    node = parseType(type);
  } catch (error) {
    throw new HindsightError('internal', `invalid GVariant type "${printableType(type)}"`, { cause: error });
  }
  return readValue(node, bytes, 0, bytes.length, 0);
}

function readValue(node: TypeNode, buf: Buffer, start: number, end: number, depth: number): GVariantValue {
  if (depth > MAX_DEPTH) throw corrupt('values nested too deeply');
  // Callers compute start and end from framing data; these checks are what keep a corrupt
  // offset from ever reaching a Buffer read.
  if (start < 0 || end < start || end > buf.length) throw corrupt('a value lies outside its container');
  switch (node.kind) {
    case 'basic':
      return node.fixed === null ? readString(node.code, buf, start, end) : readFixed(node, buf, start, end);
    case 'variant':
      return readVariant(buf, start, end, depth);
    case 'array':
      return readArray(node.element, buf, start, end, depth);
    case 'maybe':
      return readMaybe(node.element, buf, start, end, depth);
    case 'tuple':
      return readTuple(node, buf, start, end, depth);
  }
}

function readFixed(
  node: TypeNode & { kind: 'basic' },
  buf: Buffer,
  start: number,
  end: number,
): GVariantValue {
  if (end - start !== node.fixed) throw corrupt(`a "${node.code}" value has ${end - start} bytes`);
  switch (node.code) {
    case 'b': {
      const byte = buf.readUInt8(start);
      if (byte > 1) throw corrupt('a boolean is neither 0 nor 1');
      return byte === 1;
    }
    case 'y':
      return buf.readUInt8(start);
    case 'n':
      return buf.readInt16LE(start);
    case 'q':
      return buf.readUInt16LE(start);
    case 'i':
    case 'h':
      return buf.readInt32LE(start);
    case 'u':
      return buf.readUInt32LE(start);
    case 'x':
      return buf.readBigInt64LE(start);
    case 't':
      return buf.readBigUInt64LE(start);
    case 'd':
      return buf.readDoubleLE(start);
    default:
      throw corrupt(`unknown fixed type "${node.code}"`);
  }
}

const OBJECT_PATH = /^\/(?:[A-Za-z0-9_]+(?:\/[A-Za-z0-9_]+)*)?$/;

function readString(code: string, buf: Buffer, start: number, end: number): string {
  if (end === start || buf.readUInt8(end - 1) !== 0) throw corrupt('a string has no terminating nul');
  if (buf.indexOf(0, start) !== end - 1) throw corrupt('a string has a nul inside it');
  let text: string;
  try {
    text = utf8.decode(buf.subarray(start, end - 1));
  } catch {
    throw corrupt('a string is not valid UTF-8');
  }
  if (code === 'o' && !OBJECT_PATH.test(text)) throw corrupt('an object path is malformed');
  if (code === 'g') {
    for (let pos = 0; pos < text.length; ) pos = parseTypeAt(text, pos, 0)[1];
  }
  return text;
}

function readVariant(buf: Buffer, start: number, end: number, depth: number): GVariantBoxed {
  if (end === start) throw corrupt('an empty variant');
  const separator = start + buf.subarray(start, end).lastIndexOf(0);
  if (separator < start) throw corrupt('a variant has no type string');
  const type = buf.toString('latin1', separator + 1, end);
  const node = parseType(type);
  return { type, value: readValue(node, buf, start, separator, depth + 1) };
}

function readMaybe(element: TypeNode, buf: Buffer, start: number, end: number, depth: number): GVariantValue {
  if (end === start) return null;
  if (element.fixed !== null) {
    if (end - start !== element.fixed) throw corrupt('a maybe value has the wrong size');
    return readValue(element, buf, start, end, depth + 1);
  }
  if (buf.readUInt8(end - 1) !== 0) throw corrupt('a maybe value lacks its trailing nul');
  return readValue(element, buf, start, end - 1, depth + 1);
}

function offsetSize(containerSize: number): number {
  if (containerSize <= 0xff) return 1;
  if (containerSize <= 0xffff) return 2;
  if (containerSize <= 0xffffffff) return 4;
  return 8;
}

function readOffset(buf: Buffer, at: number, size: number): number {
  if (size === 8) {
    const value = buf.readBigUInt64LE(at);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw corrupt('a framing offset is too large');
    return Number(value);
  }
  return buf.readUIntLE(at, size);
}

function readArray(element: TypeNode, buf: Buffer, start: number, end: number, depth: number): GVariantValue {
  if (element.kind === 'basic' && element.code === 'y') return Buffer.from(buf.subarray(start, end));
  const size = end - start;
  const items: GVariantValue[] = [];
  if (size > 0) {
    if (element.fixed !== null) {
      if (size % element.fixed !== 0) throw corrupt('an array is not a whole number of elements');
      for (let at = start; at < end; at += element.fixed) {
        items.push(readValue(element, buf, at, at + element.fixed, depth + 1));
      }
    } else {
      const width = offsetSize(size);
      if (size < width) throw corrupt('an array is shorter than its framing offset');
      const tableStart = readOffset(buf, end - width, width);
      if (tableStart > size - width || (size - tableStart) % width !== 0) {
        throw corrupt('an array has a bad framing offset table');
      }
      const count = (size - tableStart) / width;
      let previousEnd = 0;
      for (let i = 0; i < count; i++) {
        const itemStart = alignUp(previousEnd, element.align);
        const itemEnd = readOffset(buf, start + tableStart + i * width, width);
        if (itemStart > itemEnd || itemEnd > tableStart) throw corrupt('an array element has a bad offset');
        items.push(readValue(element, buf, start + itemStart, start + itemEnd, depth + 1));
        previousEnd = itemEnd;
      }
    }
  }
  if (element.kind === 'tuple' && element.dict) return toMap(items);
  return items;
}

function toMap(entries: GVariantValue[]): Map<GVariantKey, GVariantValue> {
  const map = new Map<GVariantKey, GVariantValue>();
  for (const entry of entries) {
    const [key, value] = entry as [GVariantKey, GVariantValue];
    if (!map.has(key)) map.set(key, value);
  }
  return map;
}

function readTuple(
  node: TypeNode & { kind: 'tuple' },
  buf: Buffer,
  start: number,
  end: number,
  depth: number,
): GVariantValue[] {
  const size = end - start;
  if (node.fixed !== null && size !== node.fixed)
    throw corrupt(`a tuple has ${size} bytes, not ${node.fixed}`);
  const { members } = node;
  // Every variable-size member but a final one records where it ends, last-to-first at the tail.
  let framed = 0;
  members.forEach((member, i) => {
    if (member.fixed === null && i < members.length - 1) framed++;
  });
  const width = framed > 0 ? offsetSize(size) : 0;
  const tableStart = size - framed * width;
  if (tableStart < 0) throw corrupt('a tuple is shorter than its framing offsets');
  const values: GVariantValue[] = [];
  let cursor = 0;
  let nextOffset = size;
  members.forEach((member, i) => {
    const memberStart = alignUp(cursor, member.align);
    let memberEnd: number;
    if (member.fixed !== null) memberEnd = memberStart + member.fixed;
    else if (i === members.length - 1) memberEnd = tableStart;
    else {
      nextOffset -= width;
      memberEnd = readOffset(buf, start + nextOffset, width);
    }
    if (memberStart > memberEnd || memberEnd > tableStart) throw corrupt('a tuple member has a bad offset');
    values.push(readValue(member, buf, start + memberStart, start + memberEnd, depth + 1));
    cursor = memberEnd;
  });
  if (node.fixed === null && cursor !== tableStart)
    throw corrupt('a tuple has stray bytes after its members');
  return values;
}

// ---------------------------------------------------------------------------------------------
// Plain values

/**
 * Turns a parsed value into plain, JSON-safe data: variants are unwrapped to their value;
 * 64-bit integers become numbers when exactly representable, otherwise decimal strings; byte
 * arrays (`ay`) become lowercase hex; dictionaries become objects keyed by the key's text;
 * tuples become arrays; Nothing becomes null.
 */
export function gvariantToPlain(value: GVariantValue): GVariantPlain {
  if (
    value === null ||
    typeof value === 'boolean' ||
    typeof value === 'number' ||
    typeof value === 'string'
  ) {
    return value;
  }
  if (typeof value === 'bigint')
    return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (Buffer.isBuffer(value)) return value.toString('hex');
  if (Array.isArray(value)) return value.map(gvariantToPlain);
  if (value instanceof Map) {
    // fromEntries defines own properties, so a "__proto__" key stays a plain key.
    return Object.fromEntries(
      Array.from(value, ([key, item]) => [String(gvariantToPlain(key)), gvariantToPlain(item)]),
    );
  }
  return gvariantToPlain(value.value);
}
