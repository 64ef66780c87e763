/**
 * Splits a byte stream into lines without ever holding more than `maxBytes` of one line: a longer
 * line is dropped as it streams past and reported once, when its end arrives, so a hostile client
 * cannot make the helper buffer without bound, and the next line is read normally.
 */
export type LineEvent = { kind: 'line'; line: Buffer } | { kind: 'overflow'; bytes: number };

export class LineReader {
  private parts: Buffer[] = [];
  private size = 0;
  /** Bytes of the current over-long line seen so far, or -1 when the current line fits. */
  private skipped = -1;

  constructor(private readonly maxBytes: number) {}

  /** Feeds a chunk; returns every line (or overflow) it completes, in order. */
  push(chunk: Buffer): LineEvent[] {
    const events: LineEvent[] = [];
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(0x0a, start);
      const end = newline === -1 ? chunk.length : newline;
      this.take(chunk.subarray(start, end));
      if (newline === -1) break;
      events.push(this.finish());
      start = newline + 1;
    }
    return events;
  }

  /** The unterminated rest when the stream ends (a last line without a newline still counts). */
  end(): LineEvent[] {
    if (this.skipped < 0 && this.size === 0) return [];
    return [this.finish()];
  }

  private take(piece: Buffer): void {
    if (piece.length === 0) return;
    if (this.skipped >= 0) {
      this.skipped += piece.length;
      return;
    }
    if (this.size + piece.length > this.maxBytes) {
      this.skipped = this.size + piece.length;
      this.parts = [];
      this.size = 0;
      return;
    }
    // Copy: the caller's chunk buffer may be reused once push() returns.
    this.parts.push(Buffer.from(piece));
    this.size += piece.length;
  }

  private finish(): LineEvent {
    if (this.skipped >= 0) {
      const bytes = this.skipped;
      this.skipped = -1;
      return { kind: 'overflow', bytes };
    }
    const line = this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts, this.size);
    this.parts = [];
    this.size = 0;
    return { kind: 'line', line };
  }
}
