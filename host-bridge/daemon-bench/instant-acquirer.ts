// The acquirer of the daemon bench: the acquirer simulator's host on loopback TCP, answering at once, its
// ledger on an in-memory disk (no fsync of its own to wait for), and the time it spends handling each
// request counted, so the bench can take the acquirer's answer out of what the terminal is charged.
import type { Clock } from '../../protocol/io/clock.js';
import { SecretKey } from '../../protocol/iso8583/index.js';
import { AcquirerHost, defaultRules, startAcquirerServer, type AcquirerServer } from '../acquirer/index.js';
import { SimDisk } from '../terminal-sim/sim-disk.js';

export interface InstantAcquirer {
  readonly port: number;
  /** Nanoseconds spent in the host's handler so far (all requests). */
  handlerNs(): number;
  close(): Promise<void>;
}

export async function startInstantAcquirer(tmkHex: string, clock: Clock): Promise<InstantAcquirer> {
  // A card that never runs out: a long run's sales must all be approved.
  const rules = { ...defaultRules(), openingBalance: 10n ** 15n };
  const host = AcquirerHost.open({ storage: new SimDisk(), ledgerPath: '/acquirer/ledger.jsonl', tmk: SecretKey.fromHex(tmkHex), clock, rules });
  let busyNs = 0;
  // The server calls only handle(): time it around the real host.
  const timed = Object.create(host) as AcquirerHost;
  timed.handle = (body) => {
    const t0 = process.hrtime.bigint();
    try {
      return host.handle(body);
    } finally {
      busyNs += Number(process.hrtime.bigint() - t0);
    }
  };
  const server: AcquirerServer = await startAcquirerServer({ host: timed, clock, port: 0, address: '127.0.0.1' });
  return {
    port: server.port,
    handlerNs: () => busyNs,
    close: async () => {
      await server.close();
      host.close();
    },
  };
}
