// The receipt printer over a serial ByteLink. Each job is framed by DLE EOT status before (do not send to a
// printer that cannot print) and after (confirm it did not stop mid-slip). Only a job that passes both is
// "printed"; anything else comes back as a typed not-printed result, so the caller keeps the receipt pending
// — a paper-out right after an approval never loses the slip — and the driver polls status with backoff
// and tells `onReady` listeners when the printer can print again.
import type { ByteLink, LinkHealth } from '../../../protocol/io/byte-link.js';
import type { Clock } from '../../../protocol/io/clock.js';
import { stderrLog, type DeviceLog } from '../../../protocol/io/device-log.js';
import { LogLimiter } from '../../../protocol/io/log-limiter.js';
import { describeStatus, statusProblem, type PrinterStatus } from '../../../protocol/escpos/status.js';
import type { PrintFailureReason, PrintResult, PrintStage, StatusQueryResult } from './print-result.js';
import type { PrinterHealth, PrinterState } from './printer-health.js';
import { RecoveryPoller, type Backoff } from './recovery-poller.js';
import { StatusReader } from './status-reader.js';

export interface PrinterDriverOptions {
  link: ByteLink;
  clock: Clock;
  /** One line per event a field engineer needs: job outcomes, status changes, recovery. Default: stderr. */
  log?: DeviceLog;
  /** Wait for each DLE EOT reply byte. Printers answer in a few ms; a second covers a busy USB hub. */
  statusTimeoutMs?: number;
  /** Status polling while waiting for the printer to recover. */
  recoveryBackoff?: Backoff;
}

export type ReadyListener = (status: PrinterStatus) => void;

const DEFAULT_STATUS_TIMEOUT_MS = 1000;
const DEFAULT_BACKOFF: Backoff = { initialMs: 500, maxMs: 15_000 };

export class PrinterDriver {
  private readonly link: ByteLink;
  private readonly clock: Clock;
  private readonly log: DeviceLog;
  private readonly limited: LogLimiter;
  private readonly reader: StatusReader;
  private readonly poller: RecoveryPoller;
  private readonly readyListeners = new Set<ReadyListener>();
  private readonly unsubscribeState: () => void;
  /** Jobs and status queries take turns: a status byte must answer the question that was asked. */
  private turn: Promise<unknown> = Promise.resolve();
  private state: PrinterState = 'unknown';
  private problem: PrintFailureReason | undefined;
  private lastStatus: PrinterStatus | undefined;
  private lastStatusAt: number | undefined;
  private jobsPrinted = 0;
  private jobsFailed = 0;

  constructor(opts: PrinterDriverOptions) {
    this.link = opts.link;
    this.clock = opts.clock;
    this.log = opts.log ?? stderrLog(opts.clock);
    // A noisy line sends stray bytes in every read: one warning per window, with a count.
    this.limited = new LogLimiter(this.log, this.clock);
    this.reader = new StatusReader(this.link, this.clock, opts.statusTimeoutMs ?? DEFAULT_STATUS_TIMEOUT_MS, (count, first) =>
      this.limited.warn('stray bytes', `${this.prefix()} dropped ${count} byte(s) nobody asked for (first 0x${first.toString(16).padStart(2, '0')}): line noise or a confused printer`),
    );
    this.poller = new RecoveryPoller(this.clock, opts.recoveryBackoff ?? DEFAULT_BACKOFF, () => this.pollForRecovery());
    this.unsubscribeState = this.link.onState((h) => this.onLinkState(h));
  }

  private prefix(): string {
    return `printer ${this.link.path}:`;
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.turn.then(fn, fn);
    this.turn = run.catch(() => undefined);
    return run;
  }

  private onLinkState(h: LinkHealth): void {
    if (this.state === 'closed') return;
    if (h.state === 'open') {
      this.log.info(`${this.prefix()} serial line open (reconnects so far: ${h.reconnects}); checking status`);
      this.poller.kick();
      return;
    }
    const wasDown = this.state === 'link-down';
    this.state = 'link-down';
    this.problem = 'link-down';
    this.poller.start();
    // The port cycles connecting/disconnected while it retries; say it once, when the line goes.
    if (wasDown) return;
    this.log.warn(`${this.prefix()} serial line ${h.state}${h.lastError ? ` (${h.lastError})` : ''}; receipts wait until it is back`);
  }

  /** Reads DLE EOT 1..4 now (for `posj status` or before a burst of jobs). */
  checkStatus(): Promise<StatusQueryResult> {
    return this.exclusive(() => this.queryAndRecord());
  }

  private async queryAndRecord(): Promise<StatusQueryResult> {
    const q = await this.reader.query();
    if (q.ok) {
      const before = this.lastStatus;
      this.lastStatus = q.status;
      this.lastStatusAt = this.clock.now();
      const problem = statusProblem(q.status);
      this.state = problem ? 'not-ready' : 'ready';
      this.problem = problem ?? undefined;
      if (!before || describeStatus(before) !== describeStatus(q.status)) this.log.info(`${this.prefix()} status: ${describeStatus(q.status)}`);
    } else {
      this.state = q.reason === 'link-down' ? 'link-down' : 'not-answering';
      this.problem = q.reason;
    }
    return q;
  }

  /**
   * Prints one job (one or more slips, each ending in a cut). Resolves `printed: true` only after the status
   * after the job is clean; never rejects.
   */
  print(job: Buffer, jobId: string): Promise<PrintResult> {
    return this.exclusive(async () => {
      const before = await this.queryAndRecord();
      if (!before.ok) return this.failed(jobId, before.reason, 'before', before.detail);
      const problemBefore = statusProblem(before.status);
      if (problemBefore) return this.failed(jobId, problemBefore, 'before', describeStatus(before.status), before.status);
      if (before.status.paperNearEnd) this.log.warn(`${this.prefix()} paper near end: change the roll soon`);

      this.state = 'printing';
      try {
        await this.link.write(job);
      } catch (err) {
        return this.failed(jobId, 'write-failed', 'sending', `line dropped while sending ${job.length} bytes: ${(err as Error).message}`);
      }

      const after = await this.queryAndRecord();
      if (!after.ok) return this.failed(jobId, after.reason, 'after', `${after.detail} (job sent, not confirmed)`);
      const problemAfter = statusProblem(after.status);
      if (problemAfter) return this.failed(jobId, problemAfter, 'after', `${describeStatus(after.status)} after the job was sent`, after.status);

      this.jobsPrinted++;
      // A clean job proves the printer is back: stop polling, and tell whoever keeps receipts pending, as
      // the poller would have (found by posj sim: a new slip printed, the pending ones waited forever).
      const wasWaiting = this.poller.active;
      this.poller.stop();
      this.log.info(`${this.prefix()} job ${jobId} printed (${job.length} bytes)`);
      if (wasWaiting) {
        this.log.info(`${this.prefix()} ready again (a job printed); pending receipts can print`);
        for (const l of [...this.readyListeners]) l(after.status);
      }
      return { printed: true, jobId, status: after.status };
    });
  }

  private failed(jobId: string, reason: PrintFailureReason, stage: PrintStage, detail: string, status?: PrinterStatus): PrintResult {
    this.jobsFailed++;
    this.problem = reason;
    const paper = stage === 'before' ? 'nothing was printed' : 'the slip may be partly printed; reprint it as a duplicate';
    this.log.warn(`${this.prefix()} job ${jobId} NOT printed: ${reason} (${detail}); ${paper}; receipt stays pending until the printer is ready`);
    this.poller.start();
    return status ? { printed: false, jobId, reason, stage, status, detail } : { printed: false, jobId, reason, stage, detail };
  }

  private async pollForRecovery(): Promise<boolean> {
    if (this.state === 'closed') return true;
    if (this.link.health().state !== 'open') return false;
    const q = await this.exclusive(() => this.queryAndRecord());
    if (!q.ok || statusProblem(q.status)) return false;
    this.log.info(`${this.prefix()} ready again (${describeStatus(q.status)}); pending receipts can print`);
    for (const l of [...this.readyListeners]) l(q.status);
    return true;
  }

  /**
   * Calls `listener` each time the printer becomes ready after a failed job or a lost line, so the caller can
   * print the receipts it kept pending. Returns an unsubscribe function.
   */
  onReady(listener: ReadyListener): () => void {
    this.readyListeners.add(listener);
    return () => this.readyListeners.delete(listener);
  }

  health(): PrinterHealth {
    const h: PrinterHealth = {
      state: this.state,
      paperNearEnd: this.lastStatus?.paperNearEnd ?? false,
      jobsPrinted: this.jobsPrinted,
      jobsFailed: this.jobsFailed,
      strayBytes: this.reader.strayBytes,
      waitingForRecovery: this.poller.active,
      link: this.link.health(),
    };
    if (this.problem) h.problem = this.problem;
    if (this.lastStatus) h.lastStatus = this.lastStatus;
    if (this.lastStatusAt !== undefined) h.lastStatusAt = this.lastStatusAt;
    return h;
  }

  /** Stops polling and listening; the link belongs to the caller and stays open. */
  close(): void {
    this.state = 'closed';
    this.poller.stop();
    this.unsubscribeState();
    this.reader.close();
    this.limited.close();
    this.readyListeners.clear();
  }
}
