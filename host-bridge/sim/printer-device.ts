// The emulated thermal printer, without any port: bytes in, status replies out, finished receipts to a sink.
// It keeps the conditions a test or a bench operator sets (paper, cover, offline, a dead or noisy printer)
// and behaves like the device in each: answers DLE EOT, prints only when it can, and tears off a receipt at
// each cut. The serial attachment lives in printer-simulator.ts.
import { EscPosStreamDecoder } from '../../protocol/escpos/decoder.js';
import type { EscPosError } from '../../protocol/escpos/errors.js';
import type { EscPosOp } from '../../protocol/escpos/ops.js';
import { PageAssembler, type PrintedReceipt } from '../../protocol/escpos/page.js';
import { encodeStatusByte, STATUS_OK, type PrinterStatus } from '../../protocol/escpos/status.js';

export interface PrinterConditions {
  paperEnd: boolean;
  paperNearEnd: boolean;
  coverOpen: boolean;
  /** Offline by button or command, with paper and cover fine. */
  offline: boolean;
  autoCutterError: boolean;
  /** Dead printer (powered off, cable cut on the printer side): ignores everything, answers nothing. */
  noReply: boolean;
  /** Answers each status request with bytes that are not a status byte. */
  garbageReplies: boolean;
}

export const NORMAL_CONDITIONS: Readonly<PrinterConditions> = Object.freeze({
  paperEnd: false,
  paperNearEnd: false,
  coverOpen: false,
  offline: false,
  autoCutterError: false,
  noReply: false,
  garbageReplies: false,
});

export interface SimReceipt extends PrintedReceipt {
  /** Print data arrived while the printer could not print (paper ran out, cover opened): the slip is torn. */
  incomplete: boolean;
}

export interface PrinterDeviceOptions {
  onReceipt: (receipt: SimReceipt) => void;
  log?: (line: string) => void;
  /**
   * Called after the first print op of each job (since the last cut): where a test arms a mid-job fault.
   * Returning 'line-cut' drops the rest of the bytes received so far, as if the cable went at that moment.
   */
  onJobStarted?: () => 'line-cut' | void;
}

/** Bytes a noisy line or a confused printer sends: the first breaks the fixed status bits. */
const GARBAGE_REPLY = Buffer.from([0xff, 0x00, 0xa5]);

export class PrinterDevice {
  readonly conditions: PrinterConditions = { ...NORMAL_CONDITIONS };
  private decoder = new EscPosStreamDecoder();
  private page = new PageAssembler();
  private incomplete = false;
  private inJob = false;
  /** The line went mid-job: ignore input until resetLine(). */
  private lineCut = false;
  receiptsPrinted = 0;
  decodeErrors = 0;
  /** Print ops dropped because the printer could not print. */
  droppedOps = 0;

  constructor(private readonly opts: PrinterDeviceOptions) {}

  private log(line: string): void {
    this.opts.log?.(line);
  }

  status(): PrinterStatus {
    const c = this.conditions;
    return {
      ...STATUS_OK,
      paperEnd: c.paperEnd,
      paperEndStop: c.paperEnd,
      paperNearEnd: c.paperNearEnd || c.paperEnd,
      coverOpen: c.coverOpen,
      autoCutterError: c.autoCutterError,
      // A printer goes offline by itself when it cannot print.
      offline: c.offline || c.paperEnd || c.coverOpen || c.autoCutterError,
    };
  }

  private canPrint(): boolean {
    const c = this.conditions;
    return !(c.paperEnd || c.coverOpen || c.offline || c.autoCutterError);
  }

  /** Feeds received bytes; returns the bytes to send back (status replies). */
  receive(bytes: Buffer): Buffer {
    if (this.conditions.noReply || this.lineCut) return Buffer.alloc(0);
    const { ops, errors } = this.decoder.push(bytes);
    errors.forEach((e) => this.decodeError(e));
    const replies: number[] = [];
    for (const op of ops) {
      if (this.lineCut) break;
      if (op.op === 'status-request') {
        if (this.conditions.garbageReplies) replies.push(...GARBAGE_REPLY);
        else replies.push(encodeStatusByte(op.kind, this.status()));
        continue;
      }
      this.printOp(op);
    }
    return Buffer.from(replies);
  }

  private decodeError(e: EscPosError): void {
    this.decodeErrors++;
    this.log(`sim printer: rejected input: ${e.message}`);
  }

  private printOp(op: EscPosOp): void {
    if (op.op === 'init' && this.inJob) this.tearOffUnfinished();
    if (!this.canPrint()) {
      // Styles still apply; paper does not move.
      if (op.op === 'text' || op.op === 'line-feed' || op.op === 'feed' || op.op === 'cut') {
        this.droppedOps++;
        this.incomplete = true;
        if (op.op !== 'cut') return;
      }
    }
    const receipt = this.page.apply(op);
    if (op.op === 'text' && !this.inJob) {
      this.inJob = true;
      if (this.opts.onJobStarted?.() === 'line-cut') this.lineCut = true;
    }
    if (receipt) this.tearOff(receipt);
  }

  private tearOff(receipt: PrintedReceipt): void {
    const incomplete = this.incomplete;
    this.incomplete = false;
    this.inJob = false;
    // A cut with nothing on paper is no receipt, whether the job was empty or the printer could not print.
    if (receipt.lines.every((l) => l.runs.length === 0)) {
      if (incomplete) this.log('sim printer: a whole job arrived while the printer could not print; nothing came out');
      return;
    }
    this.receiptsPrinted++;
    this.opts.onReceipt({ ...receipt, incomplete });
  }

  /**
   * A new job (ESC @) while the last one never reached its cut: the host gave up on it mid-slip. What made it
   * onto paper comes out on its own, marked incomplete, and is never merged into the reprint that follows.
   */
  private tearOffUnfinished(): void {
    const torn = this.page.takeUncut();
    this.inJob = false;
    this.incomplete = false;
    if (torn.length === 0) return;
    this.log(`sim printer: a new job began before the last one was cut; its ${torn.length} printed line(s) come out as an incomplete slip`);
    this.receiptsPrinted++;
    this.opts.onReceipt({ lines: torn, partialCut: false, incomplete: true });
  }

  /** The line dropped: whatever was half-received is gone, as in a printer whose host vanished. */
  resetLine(): void {
    this.decoder = new EscPosStreamDecoder();
    const lost = this.page.takeUncut();
    if (lost.length > 0) {
      this.log(`sim printer: line lost mid-receipt; ${lost.length} printed line(s) left uncut`);
      this.opts.onReceipt({ lines: lost, partialCut: false, incomplete: true });
      this.receiptsPrinted++;
    }
    this.page = new PageAssembler();
    this.incomplete = false;
    this.inJob = false;
    this.lineCut = false;
  }
}
