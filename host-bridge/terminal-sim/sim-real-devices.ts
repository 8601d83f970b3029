// `posj sim --devices real`: the terminal's real card-reader and printer drivers (CardReader, PrinterDriver,
// each on a ReconnectingPort) over simulated serial lines (SimSerialLine) on the simulated clock, with the
// real device logic on the far end — the bench's ReaderSimulator (its command cache, EMV data, faults) and
// PrinterDevice (ESC/POS decoding, DLE EOT status, torn slips). Seeded line faults before card and print
// operations: silence at any command (GEN AC2 after approval included, up to every try), ACK without reply,
// an answer carried out and lost, garbage, bad CRC, torn and oversize lines, duplicates, a lost ACK, the
// cable pulled (on either side, also mid-slip), a device that stops reading, noise bursts; paper out, cover
// open, a printer that answers nothing or garbage. A power cut kills the terminal's drivers and ports; the
// devices live on, as real ones powered on their own would.
import type { Clock, TimerHandle } from '../../protocol/io/clock.js';
import { silentLog } from '../../protocol/io/device-log.js';
import type { ReaderCommand } from '../../protocol/reader/reader-messages.js';
import { CardReader } from '../../firmware-ts/devices/card-reader/card-reader.js';
import { PrinterDriver } from '../../firmware-ts/devices/printer/printer-driver.js';
import { ReconnectingPort } from '../../firmware-ts/devices/reconnecting-port.js';
import type { CardSource, ReceiptPrinter } from '../../firmware-ts/txn/engine-devices.js';
import { DEFAULT_TEST_CARDS } from '../sim/reader-cards.js';
import type { ReaderFault } from '../sim/reader-faults.js';
import { ReaderSimulator } from '../sim/reader-simulator.js';
import { PrinterDevice, NORMAL_CONDITIONS } from '../sim/printer-device.js';
import type { Rng } from './rng.js';
import { SimSerialLine } from './sim-serial-line.js';

export interface LineFaultRates {
  /** Per card operation: some reader or reader-line fault is armed. */
  reader: number;
  /** Per card operation: no card is presented (the wait runs out). */
  noCard: number;
  /** Per print job: some printer or printer-line fault. */
  printer: number;
}

export const DEFAULT_LINE_FAULTS: LineFaultRates = { reader: 0.2, noCard: 0.03, printer: 0.12 };

const BAUD = 115_200;
const COMMANDS: ReaderCommand['type'][] = ['STATUS', 'WAIT_CARD', 'CANCEL', 'READ', 'GEN_AC2'];

type Trace = (line: string) => void;

/** One boot's terminal side: ports and drivers, closed by a power cut. */
interface TerminalSide {
  readerPort: ReconnectingPort;
  printerPort: ReconnectingPort;
  reader: CardReader;
  printer: PrinterDriver;
}

export class RealDevices {
  faultsOn = true;
  readonly readerLine: SimSerialLine;
  readonly printerLine: SimSerialLine;
  readonly readerSim: ReaderSimulator;
  readonly printerDevice: PrinterDevice;
  private readonly printerPort: ReconnectingPort;
  private side: TerminalSide | undefined;
  /** Every encrypted PIN block the reader simulator formed, for the on-disk scan. */
  readonly pinBlocks: Buffer[] = [];
  /** Printer fault timers (a printer that answers nothing for a while): cancelled when fixed. */
  private readonly healers = new Set<TimerHandle>();
  slips = 0;

  constructor(
    private readonly clock: Clock,
    private readonly rng: Rng,
    private readonly trace: Trace,
    private readonly rates: LineFaultRates = DEFAULT_LINE_FAULTS,
    /** The chip's cryptograms (a stream of their own, so the main stream's draws are what they were); the OS's without. */
    chipRng?: Rng,
  ) {
    this.readerLine = new SimSerialLine(clock, '/dev/ttyS1');
    this.printerLine = new SimSerialLine(clock, '/dev/ttyS2');
    this.readerSim = new ReaderSimulator({
      path: this.readerLine.path,
      present: null,
      clock,
      log: silentLog,
      onPinBlock: (b) => this.pinBlocks.push(Buffer.from(b)),
      ...(chipRng ? { random: (n: number) => Buffer.from(chipRng.fill(new Uint8Array(n))) } : {}),
      openLink: () => new ReconnectingPort({ path: this.readerLine.path, baudRate: BAUD, clock, log: silentLog, backoffMs: 50, maxBackoffMs: 500, openPort: this.readerLine.device }),
    });
    this.readerSim.start();
    this.printerDevice = new PrinterDevice({
      onReceipt: (r) => {
        this.slips++;
        if (r.incomplete) this.trace('printer: a torn slip came out');
      },
      onJobStarted: () => this.midSlip(),
    });
    this.printerPort = new ReconnectingPort({ path: this.printerLine.path, baudRate: BAUD, clock, log: silentLog, backoffMs: 50, maxBackoffMs: 500, openPort: this.printerLine.device });
    this.printerPort.onData((bytes) => {
      const reply = this.printerDevice.receive(bytes);
      if (reply.length > 0) this.printerPort.write(reply).catch(() => undefined);
    });
    this.printerPort.onState((h) => {
      if (h.state !== 'open') this.printerDevice.resetLine();
    });
    this.printerPort.start();
  }

  /** The terminal powers on: new ports and drivers on the same lines. */
  boot(): { reader: CardSource; printer: ReceiptPrinter } {
    const port = (line: SimSerialLine) => {
      const p = new ReconnectingPort({ path: line.path, baudRate: BAUD, clock: this.clock, log: silentLog, openPort: line.terminal });
      p.start();
      return p;
    };
    const readerPort = port(this.readerLine);
    const printerPort = port(this.printerLine);
    const side: TerminalSide = {
      readerPort,
      printerPort,
      reader: new CardReader({ link: readerPort, clock: this.clock, log: silentLog }),
      printer: new PrinterDriver({ link: printerPort, clock: this.clock, log: silentLog }),
    };
    this.side = side;
    const driver = side.reader;
    return {
      reader: {
        readCard: async ({ amount, currency, timeoutMs }) => {
          this.beforeCard();
          const w = await driver.waitForCard({ timeoutMs });
          if (w.kind !== 'card') return { kind: 'no-card', detail: w.kind };
          return { kind: 'card', card: await driver.readCard({ amount, currency }) };
        },
        completeChip: (o) => driver.completeChip(o),
        enterPin: (o) => driver.requestOnlinePin(o),
      },
      printer: {
        print: (job, jobId) => {
          this.beforePrint();
          return side.printer.print(job, jobId);
        },
        onReady: (l) => side.printer.onReady(() => l()),
      },
    };
  }

  /** The terminal loses power: its drivers and ports stop (timers, listeners); the devices stay. */
  powerCut(): void {
    const s = this.side;
    this.side = undefined;
    if (!s) return;
    s.reader.close();
    s.printer.close();
    void s.readerPort.close();
    void s.printerPort.close();
  }

  /** Paper out or cover open, until fix(). */
  get problem(): 'paper-end' | 'cover-open' | null {
    const c = this.printerDevice.conditions;
    return c.paperEnd ? 'paper-end' : c.coverOpen ? 'cover-open' : null;
  }

  breakDown(): void {
    const paper = this.rng.chance(0.5);
    this.printerDevice.conditions[paper ? 'paperEnd' : 'coverOpen'] = true;
    this.trace(`printer: ${paper ? 'paper-end' : 'cover-open'}`);
  }

  /** Everything back to normal: paper, cover, both cables plugged and both devices reading. */
  fix(): void {
    for (const t of this.healers) t.cancel();
    this.healers.clear();
    // An armed mid-slip cut is a fault too: left armed, it cut the final settlement's slip after "faults stop".
    this.cutMidSlip = null;
    Object.assign(this.printerDevice.conditions, NORMAL_CONDITIONS);
    for (const line of [this.readerLine, this.printerLine]) {
      line.replug();
      line.resumeReading();
    }
  }

  private for(ms: number, apply: () => void, heal: () => void): void {
    apply();
    const t = this.clock.setTimer(ms, () => {
      this.healers.delete(t);
      heal();
    });
    this.healers.add(t);
  }

  private beforeCard(): void {
    const card = DEFAULT_TEST_CARDS[this.rng.int(DEFAULT_TEST_CARDS.length)]!;
    const noCard = this.rng.chance(this.rates.noCard);
    const fault = this.rng.chance(this.rates.reader);
    if (!this.faultsOn || !noCard) this.readerSim.present(card.name);
    else {
      this.readerSim.remove();
      this.trace('reader: no card presented');
    }
    if (this.faultsOn && fault) this.readerFault();
  }

  private readerFault(): void {
    const on = COMMANDS[this.rng.int(COMMANDS.length)]!;
    const ms = 100 + this.rng.int(6_000);
    const arm = (f: ReaderFault, cmd: ReaderCommand['type'] | undefined, times = 1) => {
      this.trace(`reader: ${cmd ? `on ${cmd} ` : ''}${f.kind}${times > 1 ? ` x${times}` : ''}`);
      for (let i = 0; i < times; i++) this.readerSim.inject(f, cmd);
    };
    switch (this.rng.int(13)) {
      case 0:
        // Silence at a command; up to every try of it (GEN AC2 after the host approved included).
        return arm({ kind: 'no-reply' }, on, 1 + this.rng.int(3));
      case 1:
        return arm({ kind: 'lose-reply' }, on);
      case 2:
        return arm({ kind: 'garbage' }, on);
      case 3:
        return arm({ kind: 'bad-crc' }, on);
      case 4:
        return arm({ kind: 'partial' }, on);
      case 5:
        return arm({ kind: 'oversize', bytes: 2_000 + this.rng.int(6_000) }, on);
      case 6:
        return arm({ kind: 'duplicate' }, on);
      case 7:
        return arm({ kind: 'drop-ack' }, undefined);
      case 8:
        return arm({ kind: 'unplug', ms }, on);
      case 9:
        return arm({ kind: 'no-reply' }, 'GEN_AC2', 3);
      case 10:
        this.trace(`reader line: cable pulled for ${ms} ms`);
        return this.for(ms, () => this.readerLine.unplug(), () => this.readerLine.replug());
      case 11:
        this.trace(`reader line: the reader stops reading for ${ms} ms`);
        return this.for(ms, () => this.readerLine.stopReading(), () => this.readerLine.resumeReading());
      default: {
        const noise = Buffer.from(this.rng.fill(new Uint8Array(100 + this.rng.int(5_000))));
        this.trace(`reader line: ${noise.length} bytes of noise`);
        return this.readerLine.noiseToTerminal(noise);
      }
    }
  }

  private beforePrint(): void {
    if (!this.faultsOn || !this.rng.chance(this.rates.printer)) return;
    const ms = 200 + this.rng.int(8_000);
    const c = this.printerDevice.conditions;
    switch (this.rng.int(6)) {
      case 0:
        return this.breakDown();
      case 1:
        this.trace(`printer: answers nothing for ${ms} ms`);
        return this.for(ms, () => (c.noReply = true), () => (c.noReply = false));
      case 2:
        this.trace(`printer: answers garbage for ${ms} ms`);
        return this.for(ms, () => (c.garbageReplies = true), () => (c.garbageReplies = false));
      case 3:
        this.trace(`printer line: cable pulled for ${ms} ms`);
        return this.for(ms, () => this.printerLine.unplug(), () => this.printerLine.replug());
      case 4:
        this.trace(`printer line: the printer stops reading for ${ms} ms`);
        return this.for(ms, () => this.printerLine.stopReading(), () => this.printerLine.resumeReading());
      default:
        this.trace('printer line: the cable will be pulled mid-slip');
        this.cutMidSlip = 500 + this.rng.int(3_000);
    }
  }

  /** Armed: the next slip's cable is pulled once its first text is on paper, for this many ms. */
  private cutMidSlip: number | null = null;

  private midSlip(): 'line-cut' | void {
    const ms = this.cutMidSlip;
    if (ms === null) return;
    this.cutMidSlip = null;
    this.trace(`printer line: cable pulled mid-slip for ${ms} ms`);
    this.for(ms, () => this.printerLine.unplug(), () => this.printerLine.replug());
    return 'line-cut';
  }
}
