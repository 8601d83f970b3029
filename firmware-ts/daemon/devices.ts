// The card reader and printer the daemon hands the engine: the real drivers over reconnecting serial lines,
// or in-process simulated ones (the embedded default) that read a test card and print into memory.
import type { Clock } from '../io/clock.js';
import { CardReader } from '../devices/card-reader/card-reader.js';
import { Secret } from '../devices/card-reader/secret.js';
import type { DeviceLog } from '../devices/device-log.js';
import { PrinterDriver } from '../devices/printer/printer-driver.js';
import { ReconnectingPort } from '../devices/reconnecting-port.js';
import { maskPan } from '../pci/card-data.js';
import { STATUS_OK } from '../../protocol/escpos/status.js';
import type { CardSource, ReceiptPrinter } from '../txn/engine-devices.js';
import type { DeviceConfig } from './config.js';

/** A UnionPay test card the acquirer simulator accepts (Luhn-valid, test range). */
export const SIMULATED_PAN = '6212140000000000006';

export interface DaemonDevices {
  reader: CardSource;
  printer: ReceiptPrinter;
  health(): { reader: unknown; printer: unknown };
  close(): Promise<void>;
}

function simulatedReader(): CardSource & { health(): unknown } {
  let reads = 0;
  return {
    async readCard() {
      reads++;
      // Swiped, no PIN: a fresh Secret per read, as the real driver hands out.
      return { kind: 'card', card: { entryMode: 'magstripe', posEntryMode: '02', maskedPan: maskPan(SIMULATED_PAN), pan: new Secret(SIMULATED_PAN), expiry: new Secret('2812'), emvData: Buffer.alloc(0) } };
    },
    async completeChip() {
      return {};
    },
    health: () => ({ kind: 'simulated', state: 'ready', cardsRead: reads }),
  };
}

function simulatedPrinter(): ReceiptPrinter & { health(): unknown } {
  let jobs = 0;
  return {
    async print(_job, jobId) {
      jobs++;
      return { printed: true, jobId, status: STATUS_OK };
    },
    onReady: () => () => undefined,
    health: () => ({ kind: 'simulated', state: 'ready', jobsPrinted: jobs }),
  };
}

export function openDevices(opts: { reader: DeviceConfig; printer: DeviceConfig; clock: Clock; log: DeviceLog }): DaemonDevices {
  const ports: ReconnectingPort[] = [];
  const port = (d: Exclude<DeviceConfig, 'simulated'>) => {
    const p = new ReconnectingPort({ path: d.path, baudRate: d.baud, clock: opts.clock, log: opts.log });
    p.start();
    ports.push(p);
    return p;
  };
  let reader: CardSource & { health(): unknown };
  let closeReader = () => undefined as void;
  if (opts.reader === 'simulated') reader = simulatedReader();
  else {
    const driver = new CardReader({ link: port(opts.reader), clock: opts.clock, log: opts.log });
    closeReader = () => driver.close();
    reader = {
      async readCard({ amount, currency, timeoutMs }) {
        const w = await driver.waitForCard({ timeoutMs });
        if (w.kind !== 'card') return { kind: 'no-card', detail: w.kind };
        return { kind: 'card', card: await driver.readCard({ amount, currency }) };
      },
      completeChip: (o) => driver.completeChip(o),
      health: () => driver.health(),
    };
  }
  let printer: ReceiptPrinter & { health(): unknown };
  let closePrinter = () => undefined as void;
  if (opts.printer === 'simulated') printer = simulatedPrinter();
  else {
    const driver = new PrinterDriver({ link: port(opts.printer), clock: opts.clock, log: opts.log });
    closePrinter = () => driver.close();
    printer = { print: (job, id) => driver.print(job, id), onReady: (l) => driver.onReady(() => l()), health: () => driver.health() };
  }
  return {
    reader,
    printer,
    health: () => ({ reader: reader.health(), printer: printer.health() }),
    async close() {
      closeReader();
      closePrinter();
      for (const p of ports) await p.close();
    },
  };
}
