// Splits a serial byte stream into LF-terminated lines with a hard cap on line length.
//
// Not @serialport/parser-readline: it (via DelimiterParser) concatenates every chunk onto its buffer until a
// delimiter shows up, so a line that never ends grows without limit and costs O(n^2) copying, and it has no
// hook to drop a line half-way. Putting a byte counter in front of it cannot empty its internal buffer, so
// the counter would have to find delimiters itself — which is this whole class. Here a line over the cap is
// discarded as it streams in (only the count is kept) and the splitter resyncs at the next delimiter.
import { FRAME_DELIMITER, MAX_LINE_BYTES } from './frame.js';

export interface LineSplitterHandlers {
  /** A complete line without its delimiter; the buffer is the listener's to keep. */
  line(line: Buffer): void;
  /** A line longer than the cap was dropped; `bytes` counts it including its delimiter. */
  oversize(bytes: number): void;
}

export class BoundedLineSplitter {
  private readonly buf: Buffer;
  private used = 0;
  /** Bytes of the current line thrown away so far; > 0 means "discarding until the next delimiter". */
  private dropping = 0;

  constructor(private readonly handlers: LineSplitterHandlers, readonly maxLineBytes = MAX_LINE_BYTES) {
    // The longest keepable line without its delimiter; one fixed buffer, never grown.
    this.buf = Buffer.alloc(maxLineBytes - 1);
  }

  /** Bytes held for an unfinished line (never more than maxLineBytes - 1). */
  get pendingBytes(): number {
    return this.used;
  }

  push(chunk: Uint8Array): void {
    let start = 0;
    while (start < chunk.length) {
      const lf = chunk.indexOf(FRAME_DELIMITER, start);
      const end = lf < 0 ? chunk.length : lf;
      this.take(chunk, start, end);
      if (lf < 0) return;
      this.endLine();
      start = lf + 1;
    }
  }

  /** Forgets an unfinished line, e.g. after the line was lost and reopened. */
  reset(): void {
    this.used = 0;
    this.dropping = 0;
  }

  private take(chunk: Uint8Array, start: number, end: number): void {
    const len = end - start;
    if (this.dropping > 0) {
      this.dropping += len;
      return;
    }
    if (this.used + len > this.buf.length) {
      this.dropping = this.used + len;
      this.used = 0;
      return;
    }
    this.buf.set(chunk.subarray(start, end), this.used);
    this.used += len;
  }

  private endLine(): void {
    if (this.dropping > 0) {
      const bytes = this.dropping + 1;
      this.dropping = 0;
      this.handlers.oversize(bytes);
      return;
    }
    const line = Buffer.from(this.buf.subarray(0, this.used));
    this.used = 0;
    this.handlers.line(line);
  }
}
