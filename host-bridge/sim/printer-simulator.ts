// The printer simulator on a serial path (one end of a socat pty pair, or a USB-serial adapter on a bench):
// answers DLE EOT, prints what it receives into DIR/receipt-NNNN.{txt,svg}, and takes fault commands. It
// opens the line through ReconnectingPort, so when the pty pair is torn down and made again it comes back
// by itself; `unplug` closes the line for good until `replug`.
import { ReconnectingPort } from '../../firmware-ts/devices/reconnecting-port.js';
import type { OpenRawPort } from '../../firmware-ts/devices/raw-port.js';
import { silentLog, type DeviceLog } from '../../protocol/io/device-log.js';
import type { Clock } from '../../protocol/io/clock.js';
import { describeStatus } from '../../protocol/escpos/status.js';
import { PrinterDevice, type SimReceipt } from './printer-device.js';
import { ReceiptWriter, type WrittenReceipt } from './printer-output.js';
import type { SimCommand } from './printer-commands.js';

export interface PrinterSimulatorOptions {
  path: string;
  outDir: string;
  baudRate?: number;
  clock?: Clock;
  log?: DeviceLog;
  /** Told about each receipt file written (the CLI prints the path). */
  onReceipt?: (written: WrittenReceipt, receipt: SimReceipt) => void;
  /** Opens the line; default node-serialport on `path`. An in-process cable passes its own (SimSerialLine). */
  openPort?: OpenRawPort;
}

/** Noise a bad cable or a wrong baud rate produces: none of these is a valid status byte. */
const NOISE = [0xff, 0x00, 0xa5, 0x5a, 0xe0, 0x81];

export class PrinterSimulator {
  readonly device: PrinterDevice;
  readonly writer: ReceiptWriter;
  readonly written: WrittenReceipt[] = [];
  private link: ReconnectingPort | null = null;
  private readonly log: DeviceLog;
  private armed: SimCommand[] = [];

  constructor(private readonly opts: PrinterSimulatorOptions) {
    this.log = opts.log ?? silentLog;
    this.writer = new ReceiptWriter(opts.outDir);
    this.device = new PrinterDevice({
      log: (line) => this.log.warn(line),
      onReceipt: (r) => this.tornOff(r),
      onJobStarted: () => this.fireArmed(),
    });
  }

  private tornOff(receipt: SimReceipt): void {
    let w: WrittenReceipt;
    try {
      w = this.writer.write(receipt);
    } catch (err) {
      // A full disk or a removed DIR must not stop the printer answering status on the line.
      this.log.warn(`sim printer: could not write receipt to ${this.writer.dir}: ${(err as Error).message}`);
      return;
    }
    this.written.push(w);
    this.log.info(`sim printer: receipt ${w.txt}${receipt.incomplete ? ' (INCOMPLETE)' : ''}`);
    this.opts.onReceipt?.(w, receipt);
  }

  /** Opens the serial path and resolves once it is open. */
  async start(): Promise<void> {
    const link = new ReconnectingPort({
      path: this.opts.path,
      baudRate: this.opts.baudRate ?? 115_200,
      log: this.log,
      backoffMs: 50,
      maxBackoffMs: 1000,
      ...(this.opts.clock ? { clock: this.opts.clock } : {}),
      ...(this.opts.openPort ? { openPort: this.opts.openPort } : {}),
    });
    this.link = link;
    link.onData((bytes) => {
      const reply = this.device.receive(bytes);
      if (reply.length > 0) link.write(reply).catch((e: Error) => this.log.warn(`sim printer: reply lost: ${e.message}`));
    });
    link.onState((h) => {
      if (h.state === 'disconnected') this.device.resetLine();
    });
    link.start();
    await link.waitOpen();
  }

  /** Applies a command now. */
  async apply(cmd: SimCommand): Promise<void> {
    switch (cmd.kind) {
      case 'set':
        Object.assign(this.device.conditions, cmd.changes);
        this.log.info(`sim printer: ${cmd.name} → status: ${describeStatus(this.device.status())}`);
        return;
      case 'garbage': {
        const noise = Buffer.from(Array.from({ length: cmd.bytes }, (_, i) => NOISE[i % NOISE.length]!));
        await this.link?.write(noise).catch((e: Error) => this.log.warn(`sim printer: garbage not sent: ${e.message}`));
        return;
      }
      case 'unplug':
        await this.unplug();
        return;
      case 'replug':
        if (!this.link) await this.start();
        return;
      case 'status':
        return;
    }
  }

  /** Applies `cmd` as soon as the next job starts printing (after its first text): a fault mid-slip. */
  armOnNextJob(cmd: SimCommand): void {
    this.armed.push(cmd);
  }

  private fireArmed(): 'line-cut' | void {
    const cmds = this.armed;
    this.armed = [];
    for (const c of cmds) void this.apply(c);
    // Bytes after an unplug never reached the printer, even if they sat in the same read.
    if (cmds.some((c) => c.kind === 'unplug')) return 'line-cut';
  }

  private async unplug(): Promise<void> {
    const link = this.link;
    this.link = null;
    if (!link) return;
    await link.close();
    this.device.resetLine();
    this.log.info('sim printer: unplugged');
  }

  /** One line for the `status` command and for test failure messages. */
  describe(): string {
    const d = this.device;
    const line = this.link ? this.link.health().state : 'unplugged';
    return `line ${line}; status: ${describeStatus(d.status())}; receipts: ${d.receiptsPrinted}; decode errors: ${d.decodeErrors}; dropped print ops: ${d.droppedOps}`;
  }

  async close(): Promise<void> {
    await this.unplug();
  }
}
