// Asks the printer DLE EOT 1..4 over the byte link and waits for each one-byte answer with a Clock timeout.
// Bytes that arrive when no question is open are not status replies: they are counted and dropped, so line
// noise can never be read as "paper is back".
import type { ByteLink } from '../../../protocol/io/byte-link.js';
import type { Clock, TimerHandle } from '../../../protocol/io/clock.js';
import { STATUS_KINDS, type StatusKind } from '../../../protocol/escpos/commands.js';
import { decodeStatusByte, isStatusByte, statusRequest, STATUS_OK, type PrinterStatus } from '../../../protocol/escpos/status.js';
import type { StatusQueryResult } from './print-result.js';

type Reply = { byte: number } | { timeout: true };

export class StatusReader {
  private waiter: ((r: Reply) => void) | null = null;
  private timer: TimerHandle | null = null;
  /** Bytes received while no status question was open. */
  strayBytes = 0;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly link: ByteLink,
    private readonly clock: Clock,
    private readonly timeoutMs: number,
    private readonly onStray: (count: number, first: number) => void,
  ) {
    this.unsubscribe = link.onData((bytes) => this.receive(bytes));
  }

  private receive(bytes: Buffer): void {
    let i = 0;
    if (this.waiter && bytes.length > 0) {
      this.settle({ byte: bytes[0]! });
      i = 1;
    }
    if (i < bytes.length) {
      this.strayBytes += bytes.length - i;
      this.onStray(bytes.length - i, bytes[i]!);
    }
  }

  private settle(r: Reply): void {
    const w = this.waiter;
    this.waiter = null;
    this.timer?.cancel();
    this.timer = null;
    w?.(r);
  }

  private ask(kind: StatusKind): Promise<Reply> {
    return new Promise<Reply>((resolve) => {
      this.waiter = resolve;
      this.timer = this.clock.setTimer(this.timeoutMs, () => this.settle({ timeout: true }));
      this.link.write(statusRequest(kind)).catch(() => {
        // A write that fails means the line is gone; the timeout answers for it.
      });
    });
  }

  /** One full status: four questions, four bytes. Callers serialize (one query at a time). */
  async query(): Promise<StatusQueryResult> {
    if (this.link.health().state !== 'open') {
      return { ok: false, reason: 'link-down', detail: `serial line ${this.link.path} is ${this.link.health().state}` };
    }
    let status: PrinterStatus = { ...STATUS_OK };
    for (const kind of STATUS_KINDS) {
      const r = await this.ask(kind);
      if ('timeout' in r) {
        const state = this.link.health().state;
        if (state !== 'open') return { ok: false, reason: 'link-down', detail: `serial line ${this.link.path} went ${state} during DLE EOT ${kind}` };
        return { ok: false, reason: 'no-reply', detail: `no reply to DLE EOT ${kind} within ${this.timeoutMs} ms` };
      }
      if (!isStatusByte(r.byte)) {
        return { ok: false, reason: 'garbled-reply', detail: `reply 0x${r.byte.toString(16).padStart(2, '0')} to DLE EOT ${kind} is not a status byte` };
      }
      status = { ...status, ...decodeStatusByte(kind, r.byte) };
    }
    return { ok: true, status };
  }

  close(): void {
    this.unsubscribe();
    this.settle({ timeout: true });
  }
}
