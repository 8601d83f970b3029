// A terminal journal with sales the acquirer simulator really approved over loopback TCP, ready to settle.
// Sales are journaled the way the engine does (intent durable before the request, outcome after the reply),
// so settlement reads back exactly what the engine leaves.
import { randomBytes } from 'node:crypto';
import type { Storage } from '../../firmware-ts/io/storage.js';
import { systemClock } from '../../protocol/io/clock.js';
import { maskPan } from '../../firmware-ts/pci/card-data.js';
import { TerminalRecord, type AuthIntent, type AuthOutcome } from '../../firmware-ts/txn/records.js';
import { openTerminalJournal, type TerminalJournal } from '../../firmware-ts/txn/terminal-journal.js';
import { Settlement } from '../../firmware-ts/txn/settlement.js';
import { textField } from '../../protocol/iso8583/index.js';
import { ID, PAN, request, rig, type Rig } from '../acquirer/harness.js';

export const JOURNAL_DIR = '/terminal/journal';
export const deviceKey = randomBytes(32);

export async function openJournal(storage: Storage, dir = JOURNAL_DIR): Promise<TerminalJournal> {
  return openTerminalJournal({ dir, deviceKey, storage, segmentBytes: 64 * 1024 });
}

/** One sale of `amount` fen: intent, 0200 to the host, outcome. Returns the STAN. */
export async function journaledSale(j: TerminalJournal, r: Rig, amount: number): Promise<number> {
  const stan = j.state.stan + 1;
  const intent: AuthIntent = { stan, batch: j.state.batch, kind: 'sale', amount, currency: '156', maskedPan: maskPan(PAN), entryMode: '021', at: new Date().toISOString(), reversalImage: {} };
  await j.append([{ type: TerminalRecord.authIntent.name, payload: intent }], { durable: true });
  const res = await r.link.exchange(request('sale', String(stan).padStart(6, '0'), String(amount).padStart(12, '0'), { batch: String(j.state.batch).padStart(6, '0') }));
  if (res.kind !== 'response' || textField(res.message, 39) !== '00') throw new Error(`sale ${stan} not approved: ${res.kind}`);
  const outcome: AuthOutcome = { stan, result: 'approved', responseCode: '00', rrn: textField(res.message, 37)!, authCode: textField(res.message, 38)!, at: new Date().toISOString() };
  await j.append([{ type: TerminalRecord.authOutcome.name, payload: outcome }], { durable: false });
  return stan;
}

/** A debit the acquirer holds and the terminal does not: what makes the totals differ. */
export async function saleOnlyTheHostSaw(r: Rig, stan: number, amount: number): Promise<void> {
  const res = await r.link.exchange(request('sale', String(stan).padStart(6, '0'), String(amount).padStart(12, '0')));
  if (res.kind !== 'response' || textField(res.message, 39) !== '00') throw new Error('host-only sale not approved');
}

export function settlementFor(j: TerminalJournal, r: Rig, storage: Storage): Settlement {
  return new Settlement({ journal: j, link: r.link, clock: systemClock, identity: ID, storage });
}

export { rig };
