// The card reader and printer the daemon hands the engine: the real drivers over reconnecting serial lines,
// or, in the bench build, in-process simulated ones (host-bridge/terminal/simulated-parts.ts).
import type { Clock } from '../../protocol/io/clock.js';
import { CardReader } from '../devices/card-reader/card-reader.js';
import type { DeviceLog } from '../../protocol/io/device-log.js';
import { PrinterDriver } from '../devices/printer/printer-driver.js';
import { ReconnectingPort } from '../devices/reconnecting-port.js';
import type { CardSource, ReceiptPrinter } from '../txn/engine-devices.js';
import type { DeviceConfig } from './config.js';

export type HealthReader = CardSource & { health(): unknown };
export type HealthPrinter = ReceiptPrinter & { health(): unknown };

/** In-process stand-ins for `"simulated"` devices; only the bench build has them (SimulatedParts). */
export interface SimulatedDevices {
  reader(): HealthReader;
  printer(): HealthPrinter;
}

export interface DaemonDevices {
  reader: CardSource;
  printer: ReceiptPrinter;
  health(): { reader: unknown; printer: unknown };
  /** Ends a wait for a card (shutdown): the sale gets "no card" and nothing is sent; a card already being read is read. */
  endCardWaits(detail: string): void;
  close(): Promise<void>;
}

export function openDevices(opts: { reader: DeviceConfig; printer: DeviceConfig; clock: Clock; log: DeviceLog; simulated?: SimulatedDevices }): DaemonDevices {
  const ports: ReconnectingPort[] = [];
  /** Set by endCardWaits: why no new card wait may start. */
  let ended: string | null = null;
  const enders = new Set<(detail: string) => void>();
  const port = (d: Exclude<DeviceConfig, 'simulated'>) => {
    const p = new ReconnectingPort({ path: d.path, baudRate: d.baud, clock: opts.clock, log: opts.log });
    p.start();
    ports.push(p);
    return p;
  };
  const simulated = () => {
    if (!opts.simulated) throw new Error('a "simulated" device needs the bench build (startDaemon checks this first)');
    return opts.simulated;
  };
  let reader: HealthReader;
  let closeReader = () => undefined as void;
  if (opts.reader === 'simulated') {
    const sim = simulated().reader();
    reader = { ...sim, readCard: async (o) => (ended !== null ? { kind: 'no-card', detail: ended } : sim.readCard(o)), health: () => sim.health() };
  } else {
    const driver = new CardReader({ link: port(opts.reader), clock: opts.clock, log: opts.log });
    closeReader = () => driver.close();
    reader = {
      async readCard({ amount, currency, timeoutMs }) {
        // A shutdown aborts the wait: the driver cancels it on the reader, so the reader is idle for the next boot.
        if (ended !== null) return { kind: 'no-card', detail: ended };
        const abort = new AbortController();
        const end = (detail: string) => abort.abort(detail);
        enders.add(end);
        const w = await driver.waitForCard({ timeoutMs, signal: abort.signal }).finally(() => enders.delete(end));
        if (w.kind === 'cancelled' && ended !== null) return { kind: 'no-card', detail: ended };
        if (w.kind !== 'card') return { kind: 'no-card', detail: w.kind };
        return { kind: 'card', card: await driver.readCard({ amount, currency }) };
      },
      completeChip: (o) => driver.completeChip(o),
      enterPin: (o) => driver.requestOnlinePin(o),
      health: () => driver.health(),
    };
  }
  let printer: HealthPrinter;
  let closePrinter = () => undefined as void;
  if (opts.printer === 'simulated') printer = simulated().printer();
  else {
    const driver = new PrinterDriver({ link: port(opts.printer), clock: opts.clock, log: opts.log });
    closePrinter = () => driver.close();
    printer = { print: (job, id) => driver.print(job, id), onReady: (l) => driver.onReady(() => l()), health: () => driver.health() };
  }
  return {
    reader,
    printer,
    health: () => ({ reader: reader.health(), printer: printer.health() }),
    endCardWaits(detail) {
      ended = detail;
      for (const end of enders) end(detail);
    },
    async close() {
      closeReader();
      closePrinter();
      for (const p of ports) await p.close();
    },
  };
}
