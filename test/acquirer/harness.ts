// A simulated acquirer on a loopback port and a terminal-side link to it, signed on and ready.
import * as path from 'node:path';
import { systemClock } from '../../protocol/io/clock.js';
import { nodeStorage } from '../../firmware-ts/io/node-storage.js';
import { AcquirerLink, signOn, tcpConnector, type LinkEvent } from '../../firmware-ts/acquirer/index.js';
import { AcquirerHost, startAcquirerServer, type AcquirerServer, type RuleSet } from '../../host-bridge/acquirer/index.js';
import { financialRequest, SecretKey, type FinancialRequest, type TransactionKind } from '../../protocol/iso8583/index.js';

export const TMK = SecretKey.fromHex('0123456789ABCDEFFEDCBA9876543210');
export const ID = { terminalId: '12345678', merchantId: '898310048990001' };
export const PAN = '6212140000000000006';
export const BATCH = '000001';

export interface Rig {
  host: AcquirerHost;
  server: AcquirerServer;
  link: AcquirerLink;
  events: LinkEvent[];
  ledgerPath: string;
  stop(): Promise<void>;
}

export async function startHost(ledgerPath: string, rules?: RuleSet): Promise<{ host: AcquirerHost; server: AcquirerServer }> {
  const host = AcquirerHost.open({ storage: nodeStorage, ledgerPath, tmk: TMK, clock: systemClock, ...(rules ? { rules } : {}) });
  const server = await startAcquirerServer({ host, clock: systemClock, port: 0 });
  return { host, server };
}

export function linkTo(port: number, events: LinkEvent[], responseTimeoutMs = 400): AcquirerLink {
  return new AcquirerLink({
    connector: tcpConnector({ host: '127.0.0.1', port }),
    clock: systemClock,
    connectTimeoutMs: 1000,
    responseTimeoutMs,
    onEvent: (e) => events.push(e),
  });
}

export async function rig(dir: string, opts: { rules?: RuleSet; responseTimeoutMs?: number } = {}): Promise<Rig> {
  const ledgerPath = path.join(dir, 'acquirer.jsonl');
  const { host, server } = await startHost(ledgerPath, opts.rules);
  const events: LinkEvent[] = [];
  const link = linkTo(server.port, events, opts.responseTimeoutMs);
  const signed = await signOn(link, TMK, ID, '000001', BATCH);
  if (signed.kind !== 'signed-on') throw new Error(`sign-on failed: ${signed.kind}`);
  return {
    host,
    server,
    link,
    events,
    ledgerPath,
    async stop() {
      link.close();
      await server.close();
      host.close();
    },
  };
}

export function request(kind: TransactionKind, stan: string, amount: string | undefined, extra: Partial<FinancialRequest> = {}) {
  return financialRequest({
    kind,
    id: ID,
    stan,
    batch: BATCH,
    ...(amount !== undefined ? { amount } : {}),
    card: { pan: PAN, expiry: '2812', entryMode: '021' },
    time: '103015',
    date: '0315',
    ...extra,
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
