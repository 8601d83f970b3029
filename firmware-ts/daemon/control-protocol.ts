// The local control API's wire: JSON lines over a Unix socket, one request → one response. Lines are
// bounded (DESIGN rule 7: the readline parser alone buffers without limit); a bad line gets a typed error
// reply naming what was wrong, and the connection and the daemon carry on.

/** Longest request line accepted; a request is a few fields, far below this. */
export const MAX_LINE_BYTES = 16 * 1024;

export type ControlErrorCode = 'BAD_JSON' | 'LINE_TOO_LONG' | 'BAD_REQUEST' | 'UNKNOWN_OP' | 'BUSY' | 'FAILED';

export interface ControlError {
  code: ControlErrorCode | string;
  message: string;
}

export type ControlResponse = { id?: string | number; ok: true; result: unknown } | { id?: string | number; ok: false; error: ControlError };

export class ControlRequestError extends Error {
  constructor(
    readonly code: ControlErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ControlRequestError';
  }
}

/** Splits a byte stream into lines of at most MAX_LINE_BYTES; an over-long line is reported once and skipped to its end. */
export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  private discarding = false;

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly onTooLong: () => void,
    private readonly max = MAX_LINE_BYTES,
  ) {}

  push(chunk: Buffer): void {
    let from = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, from);
      const end = nl < 0 ? chunk.length : nl;
      if (!this.discarding) {
        this.size += end - from;
        if (this.size > this.max) {
          this.discarding = true;
          this.parts = [];
          this.onTooLong();
        } else this.parts.push(chunk.subarray(from, end));
      }
      if (nl < 0) return;
      if (!this.discarding) {
        // A request line mostly arrives in one chunk: decode it in place, no copy into a joined buffer.
        const line = this.parts.length === 1 ? this.parts[0]!.toString('utf8') : Buffer.concat(this.parts).toString('utf8');
        this.onLine(line.charCodeAt(line.length - 1) === 13 ? line.slice(0, -1) : line);
      }
      this.parts = [];
      this.size = 0;
      this.discarding = false;
      from = nl + 1;
    }
  }
}

export interface ControlRequest {
  id?: string | number;
  op: string;
  [field: string]: unknown;
}

export function parseRequest(line: string): ControlRequest {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (e) {
    throw new ControlRequestError('BAD_JSON', `request is not JSON: ${(e as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ControlRequestError('BAD_REQUEST', 'request must be a JSON object');
  const r = v as Record<string, unknown>;
  if (typeof r.op !== 'string') throw new ControlRequestError('BAD_REQUEST', 'request needs "op" (a string)');
  if (r.id !== undefined && typeof r.id !== 'string' && typeof r.id !== 'number') throw new ControlRequestError('BAD_REQUEST', '"id" must be a string or number');
  return r as ControlRequest;
}

/** Field readers that name the field in their error. */
export function intField(r: ControlRequest, name: string, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  const v = r[name];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new ControlRequestError('BAD_REQUEST', `"${name}" must be a whole number ${min}..${max}`);
  return v;
}

export function strField(r: ControlRequest, name: string, pattern?: RegExp): string {
  const v = r[name];
  if (typeof v !== 'string' || v.length === 0 || v.length > 256 || (pattern && !pattern.test(v))) throw new ControlRequestError('BAD_REQUEST', `"${name}" is missing or malformed`);
  return v;
}
