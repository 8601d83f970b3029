// Simulated card reader and receipt printer for the deterministic simulator, shaped like the engine's
// device interfaces (txn/engine-devices.ts). Faults are seeded: the card is pulled before it is read, the
// chip refuses an approval the host gave (second GENERATE AC → reversal reason 06), the printer runs out
// of paper or its cover is open until the simulator "fixes" it (which fires the onReady listeners) — and
// every call can throw (a driver error, the line gone) or stay silent far beyond any engine bound (its
// answer comes, too late, on the simulated clock), the GEN AC2 after a host approval included.
import type { Clock } from '../../protocol/io/clock.js';
import { Secret } from '../../firmware-ts/devices/card-reader/secret.js';
import type { PrintResult } from '../../firmware-ts/devices/printer/print-result.js';
import { luhnValid, maskPan } from '../../firmware-ts/pci/card-data.js';
import type { CardReadOutcome, CardSource, ReceiptPrinter } from '../../firmware-ts/txn/engine-devices.js';
import type { Rng } from './rng.js';

/** Test cards: Luhn-valid 19-digit PANs on the test BIN 621214 (check digit computed, not hard-coded). */
export const SIM_PANS: readonly string[] = ['000000000000', '000000000123', '000000004567'].map((middle) => {
  const body = `621214${middle}`;
  for (let d = 0; d <= 9; d++) if (luhnValid(body + d)) return body + d;
  throw new Error('no check digit');
});

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

/** Throws, stays silent, or answers with `answer()`, as the seed says. */
async function faulty<T>(dev: { rng: Rng; clock: Clock; trace: (l: string) => void; rates: DeviceFaultRates; faultsOn: boolean; lost?(): void }, call: string, answer: () => T): Promise<T> {
  const throws = dev.rng.chance(dev.rates.callThrows);
  const silent = dev.rng.chance(dev.rates.callSilent);
  if (dev.faultsOn && throws) {
    dev.trace(`${call}: the device fails (throws)`);
    dev.lost?.();
    throw new Error(`${call}: device error (simulated)`);
  }
  if (dev.faultsOn && silent) {
    dev.trace(`${call}: the device stays silent`);
    dev.lost?.();
    return new Promise((resolve) => void dev.clock.setTimer(SILENT_MS, () => resolve(answer())));
  }
  return answer();
}

export class SimReader implements CardSource {
  faultsOn = true;
  constructor(
    readonly rng: Rng,
    readonly clock: Clock,
    readonly trace: (line: string) => void,
    readonly rates: DeviceFaultRates = DEFAULT_DEVICE_FAULTS,
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
    return {
      kind: 'card',
      card: {
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

export class SimPrinter implements ReceiptPrinter {
  faultsOn = true;
  /** Why the printer cannot print, until fixed ('link-down' after it threw or went silent). */
  problem: 'paper-end' | 'cover-open' | 'link-down' | null = null;
  printed = 0;
  private readonly listeners = new Set<() => void>();

  constructor(
    readonly rng: Rng,
    readonly clock: Clock,
    readonly trace: (line: string) => void,
    readonly rates: DeviceFaultRates = DEFAULT_DEVICE_FAULTS,
  ) {}

  print(_job: Buffer, jobId: string): Promise<PrintResult> {
    return faulty(this, `printer: ${jobId}`, () => {
      const jam = this.rng.chance(this.rates.printerJams);
      if (jam && this.faultsOn && !this.problem) this.breakDown();
      if (this.problem) {
        return { printed: false, jobId, reason: this.problem, stage: 'before', detail: this.problem };
      }
      this.printed++;
      return { printed: true, jobId, status: { online: true } } as unknown as PrintResult;
    });
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
