// Simulated card reader and receipt printer for the deterministic simulator, shaped like the engine's
// device interfaces (txn/engine-devices.ts). Faults are seeded: the card is pulled before it is read, the
// chip refuses an approval the host gave (second GENERATE AC → reversal reason 06), the printer runs out
// of paper or its cover is open until the simulator "fixes" it (which fires the onReady listeners) — and
// every call can throw (a driver error, the line gone) or stay silent far beyond any engine bound (its
// answer comes, too late, on the simulated clock), the GEN AC2 after a host approval included. As PIN pad
// it forms real PIN blocks under the session's PIK; which cards ask for a PIN and how the cardholder
// enters it (right, wrong, cancel, walk away) come from a PIN stream of their own, so adding PIN sales did
// not move the draws of the main stream.
import type { Clock } from '../../protocol/io/clock.js';
import { encryptPinBlock, unwrapPinKey, type SecretKey } from '../../protocol/iso8583/index.js';
import type { OnlinePinResult } from '../../firmware-ts/devices/card-reader/card-reader.js';
import type { TestCard } from '../sim/reader-cards.js';
import { Secret } from '../../firmware-ts/devices/card-reader/secret.js';
import type { PrintResult } from '../../firmware-ts/devices/printer/print-result.js';
import { luhnValid, maskPan } from '../../firmware-ts/pci/card-data.js';
import type { CardReadOutcome, CardSource, ReceiptPrinter } from '../../firmware-ts/txn/engine-devices.js';
import type { Rng } from './rng.js';
import { encodeText } from '../../protocol/escpos/encoder.js';

/** Test cards: Luhn-valid 19-digit PANs on the test BIN 621214 (check digit computed, not hard-coded). */
export const SIM_PANS: readonly string[] = ['000000000000', '000000000123', '000000004567'].map((middle) => {
  const body = `621214${middle}`;
  for (let d = 0; d <= 9; d++) if (luhnValid(body + d)) return body + d;
  throw new Error('no check digit');
});

/** Each test card's PIN: what the simulated cardholder types and the acquirer checks. */
export const SIM_PINS: readonly string[] = ['1234', '246810', '0000'];

/** The simulator's cards as the acquirer knows them: PIN optional (pin "bypass"), checked when sent. */
export const SIM_CARDS: readonly TestCard[] = SIM_PANS.map((pan, i) => ({ name: `sim-${i}`, pan, expiry: '2812', entryMode: 'chip', aid: 'A000000333010101', pin: 'bypass', pinDigits: SIM_PINS[i]! }));

/** What the cardholder does at the PIN pad, per PIN asked; the rest of the time the right PIN. */
export interface PinEntryRates {
  /** Share of card reads whose card asks for online PIN (CVM). */
  pinCard: number;
  wrongPin: number;
  cancelled: number;
  timeout: number;
}

export const DEFAULT_PIN_ENTRY: PinEntryRates = { pinCard: 0.4, wrongPin: 0.06, cancelled: 0.03, timeout: 0.02 };

/** The PIN pad's side of the simulated reader: its own seeded stream and the TMK it unwraps PIKs with. */
export interface SimPinPad {
  rng: Rng;
  tmk: SecretKey;
  rates?: PinEntryRates;
}

export interface DeviceFaultRates {
  cardPulled: number;
  chipDeclinesApproval: number;
  printerJams: number;
  /** Per call: the driver throws (line dropped, device error). */
  callThrows: number;
  /** Per call: no answer until long after every engine bound. */
  callSilent: number;
}

export const DEFAULT_DEVICE_FAULTS: DeviceFaultRates = { cardPulled: 0.04, chipDeclinesApproval: 0.05, printerJams: 0.04, callThrows: 0.015, callSilent: 0.015 };

/** How long a silent device takes before its (late) answer. */
const SILENT_MS = 10 * 60_000;

/** Throws, stays silent, or answers with `answer()`, as the seed says; `failing` runs first when it does not answer. */
async function faulty<T>(dev: { rng: Rng; clock: Clock; trace: (l: string) => void; rates: DeviceFaultRates; faultsOn: boolean; lost?(): void }, call: string, answer: () => T, failing?: () => void): Promise<T> {
  const throws = dev.rng.chance(dev.rates.callThrows);
  const silent = dev.rng.chance(dev.rates.callSilent);
  if (dev.faultsOn && throws) {
    dev.trace(`${call}: the device fails (throws)`);
    failing?.();
    dev.lost?.();
    throw new Error(`${call}: device error (simulated)`);
  }
  if (dev.faultsOn && silent) {
    dev.trace(`${call}: the device stays silent`);
    failing?.();
    dev.lost?.();
    return new Promise((resolve) => void dev.clock.setTimer(SILENT_MS, () => resolve(answer())));
  }
  return answer();
}

export class SimReader implements CardSource {
  faultsOn = true;
  /** Every encrypted PIN block formed (copies: the engine wipes its own), for the on-disk scan. */
  readonly pinBlocks: Buffer[] = [];
  /** The card last read: the PIN pad forms its block with this PAN. */
  private lastPan: string | undefined;
  constructor(
    readonly rng: Rng,
    readonly clock: Clock,
    readonly trace: (line: string) => void,
    readonly rates: DeviceFaultRates = DEFAULT_DEVICE_FAULTS,
    private readonly pinPad?: SimPinPad,
  ) {}

  readCard(): Promise<CardReadOutcome> {
    return faulty(this, 'reader: READ', () => this.read());
  }

  private read(): CardReadOutcome {
    const pulled = this.rng.chance(this.rates.cardPulled);
    if (pulled && this.faultsOn) {
      this.trace('reader: card pulled before it was read');
      return { kind: 'no-card', detail: 'card removed' };
    }
    const pan = SIM_PANS[this.rng.int(SIM_PANS.length)]!;
    const chip = this.rng.chance(0.7);
    this.lastPan = pan;
    const pinCard = this.pinPad !== undefined && this.pinPad.rng.chance((this.pinPad.rates ?? DEFAULT_PIN_ENTRY).pinCard);
    return {
      kind: 'card',
      card: {
        ...(pinCard ? { cvm: 'online-pin' as const } : {}),
        entryMode: chip ? 'chip' : 'magstripe',
        posEntryMode: chip ? '05' : '90',
        maskedPan: maskPan(pan),
        pan: new Secret(pan),
        expiry: new Secret('2812'),
        ...(chip ? { panSeq: '01' } : { track2: new Secret(`${pan}=28122011234567890`) }),
        emvData: chip ? Buffer.from('9f2701809f360200019f2608a1b2c3d4e5f60718', 'hex') : Buffer.alloc(0),
      },
    };
  }

  /** Absent without a PIN pad (the reader then has none, as before PIN sales). */
  get enterPin(): ((opts: { pinKey: Buffer; timeoutMs: number }) => Promise<OnlinePinResult>) | undefined {
    const pad = this.pinPad;
    if (!pad) return undefined;
    // Faults of the PIN call draw from the PIN stream too.
    const dev = { rng: pad.rng, clock: this.clock, trace: this.trace, rates: this.rates, faultsOn: this.faultsOn };
    return async (opts) => faulty(dev, 'reader: PIN', () => this.pinEntry(pad, opts)).then((r) => r);
  }

  private pinEntry(pad: SimPinPad, opts: { pinKey: Buffer; timeoutMs: number }): Promise<OnlinePinResult> | OnlinePinResult {
    const rates = pad.rates ?? DEFAULT_PIN_ENTRY;
    const wrong = pad.rng.chance(rates.wrongPin);
    const cancelled = pad.rng.chance(rates.cancelled);
    const timeout = pad.rng.chance(rates.timeout);
    if (this.faultsOn && cancelled) {
      this.trace('reader: the cardholder cancels PIN entry');
      return { kind: 'cancelled' };
    }
    if (this.faultsOn && timeout) {
      this.trace('reader: nobody types the PIN');
      return new Promise((resolve) => void this.clock.setTimer(opts.timeoutMs, () => resolve({ kind: 'timeout' })));
    }
    const pan = this.lastPan!;
    const right = SIM_PINS[SIM_PANS.indexOf(pan)]!;
    const pin = this.faultsOn && wrong ? right.slice(0, -1) + String((Number(right.at(-1)) + 1) % 10) : right;
    this.trace(pin !== right ? 'reader: the cardholder types a wrong PIN' : 'reader: PIN entered');
    const block = encryptPinBlock(unwrapPinKey(pad.tmk, opts.pinKey), pin, pan);
    this.pinBlocks.push(Buffer.from(block));
    return { kind: 'pin', pinBlock: new Secret(block) };
  }

  completeChip(opts: { arc: string }): Promise<{ reversalReason?: '06' }> {
    return faulty(this, `reader: GEN AC2 (ARC ${opts.arc})`, () => {
      const refuse = this.rng.chance(this.rates.chipDeclinesApproval);
      if (opts.arc === '00' && refuse && this.faultsOn) {
        this.trace('reader: chip declines the host approval (06)');
        return { reversalReason: '06' as const };
      }
      return {};
    });
  }
}

export interface SlipOnPaper {
  jobId: string;
  /** The job carries 重打印 or DUPLICATE. */
  marked: boolean;
}

/** The duplicate mark as a job carries it, in either receipt language (labels.ts). */
const DUPLICATE_MARKS = [encodeText('重打印', true), Buffer.from('DUPLICATE', 'latin1')];

export class SimPrinter implements ReceiptPrinter {
  faultsOn = true;
  /** Why the printer cannot print, until fixed ('link-down' after it threw or went silent). */
  problem: 'paper-end' | 'cover-open' | 'link-down' | null = null;
  printed = 0;
  /** Every job that reached the paper, whole or torn (what the customer may hold), and whether it is marked a duplicate. */
  readonly onPaper: SlipOnPaper[] = [];
  private readonly listeners = new Set<() => void>();

  /**
   * `paper`: whether a job that fails had already moved paper (a jam or a dropped line mid-slip) is drawn
   * from a stream of its own, so the main stream's draws stay what they were without it.
   */
  constructor(
    readonly rng: Rng,
    readonly clock: Clock,
    readonly trace: (line: string) => void,
    readonly rates: DeviceFaultRates = DEFAULT_DEVICE_FAULTS,
    private readonly paper?: Rng,
  ) {}

  print(job: Buffer, jobId: string): Promise<PrintResult> {
    const torn = this.paper?.chance(0.5) ?? false;
    // Read off the job's bytes, not its id: what the customer sees is what counts.
    const onPaper = { jobId, marked: DUPLICATE_MARKS.some((m) => job.includes(m)) };
    // One job is one piece of paper, however it ends: torn first and finished by a late answer is still one.
    let recorded = false;
    const reachPaper = () => {
      if (!recorded) this.onPaper.push(onPaper);
      recorded = true;
    };
    const tear = () => {
      if (!torn) return;
      reachPaper();
      this.trace(`printer: ${jobId} torn part-way, on paper`);
    };
    return faulty(
      this,
      `printer: ${jobId}`,
      () => {
        const jam = this.rng.chance(this.rates.printerJams);
        const jamsNow = jam && this.faultsOn && !this.problem;
        if (jamsNow) this.breakDown();
        if (this.problem) {
          if (jamsNow && torn) {
            tear();
            return { printed: false, jobId, reason: this.problem, stage: 'sending', detail: `${this.problem} part-way through the job` };
          }
          return { printed: false, jobId, reason: this.problem, stage: 'before', detail: this.problem };
        }
        this.printed++;
        reachPaper();
        return { printed: true, jobId, status: { online: true } } as unknown as PrintResult;
      },
      tear,
    );
  }

  /** A call threw or went silent: the line is gone until the printer is fixed (re-plugged). */
  lost(): void {
    this.problem ??= 'link-down';
  }

  onReady(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  breakDown(): void {
    this.problem = this.rng.chance(0.5) ? 'paper-end' : 'cover-open';
    this.trace(`printer: ${this.problem}`);
  }

  fix(): void {
    if (!this.problem) return;
    this.trace(`printer: ${this.problem} fixed`);
    this.problem = null;
    for (const l of [...this.listeners]) l();
  }
}
