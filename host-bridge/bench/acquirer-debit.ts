// A debit the acquirer holds under the terminal's ID that the terminal never sent (a record duplicated at the
// host, another device misconfigured with the same terminal ID): what makes a settlement not balance (对账不平)
// so the terminal uploads its batch (0320). The bench sends it itself, straight to the acquirer simulator,
// MACed under the terminal's session key unwrapped from the ledger's last sign-on (the test TMK is the
// bench's). The money checks leave these debits out — they are the bench's doing, not the terminal's — and
// say so; they are remembered beside the ledger so a bench directory reused keeps knowing them.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AcquirerLink, tcpConnector } from '../../firmware-ts/acquirer/index.js';
import { systemClock } from '../../protocol/io/clock.js';
import { financialRequest, SecretKey, textField, unwrapWorkingKeys } from '../../protocol/iso8583/index.js';
import type { LedgerEntry } from '../acquirer/ledger.js';
import { SIMULATOR_TMK } from '../terminal/simulated-parts.js';

/** The test card the foreign debit is charged to (host-bridge/sim/reader-cards.ts, magstripe). */
const CARD = { pan: '4242424242424242', expiry: '2808', entryMode: '021' };
const pad = (n: number, w: number) => String(n).padStart(w, '0');

export function injectedFile(ledgerFile: string): string {
  return path.join(path.dirname(ledgerFile), 'bench-injected.json');
}

/** Ledger seqs the bench put there itself. */
export function injectedSeqs(ledgerFile: string): Set<number> {
  const f = injectedFile(ledgerFile);
  return new Set(fs.existsSync(f) ? (JSON.parse(fs.readFileSync(f, 'utf8')) as number[]) : []);
}

/** Sends the debit, and remembers its ledger seq as the bench's own. Returns the ledger entry. */
export async function debitOnlyTheAcquirerSaw(o: { port: number; ledgerFile: string; ledger: () => LedgerEntry[]; terminalId: string; batch: number; amount: number }): Promise<LedgerEntry> {
  const before = o.ledger();
  const signOn = before.filter((e) => e.kind === 'sign-on' && (e as { terminalId?: string }).terminalId === o.terminalId).at(-1) as { wrappedKeys: string } | undefined;
  if (!signOn) throw new Error(`the acquirer has no sign-on of terminal ${o.terminalId}: nothing to MAC a debit with`);
  const keys = unwrapWorkingKeys(SecretKey.fromHex(SIMULATOR_TMK), Buffer.from(signOn.wrappedKeys, 'base64'));
  const link = new AcquirerLink({ connector: tcpConnector({ host: '127.0.0.1', port: o.port }), clock: systemClock, connectTimeoutMs: 2000, responseTimeoutMs: 3000 });
  link.setMacKey(keys.mac);
  // A STAN far above what the terminal uses in a batch, so the two never meet.
  const stan = 900_000 + (before.length % 99_999);
  const now = new Date();
  try {
    const r = await link.exchange(
      financialRequest({
        kind: 'sale',
        id: { terminalId: o.terminalId, merchantId: '898310048990001' },
        stan: pad(stan, 6),
        batch: pad(o.batch, 6),
        amount: pad(o.amount, 12),
        card: CARD,
        time: `${pad(now.getHours(), 2)}${pad(now.getMinutes(), 2)}${pad(now.getSeconds(), 2)}`,
        date: `${pad(now.getMonth() + 1, 2)}${pad(now.getDate(), 2)}`,
      }),
    );
    if (r.kind !== 'response' || textField(r.message, 39) !== '00') throw new Error(`the acquirer did not approve the bench's own debit: ${r.kind === 'response' ? `answered ${textField(r.message, 39)}` : r.kind}`);
  } finally {
    link.close();
  }
  const entry = o.ledger().find((e) => e.kind === 'authorization' && (e as { stan?: string }).stan === pad(stan, 6) && (e as { terminalId?: string }).terminalId === o.terminalId && e.seq > (before.at(-1)?.seq ?? 0));
  if (!entry) throw new Error(`the acquirer approved the bench's debit of STAN ${pad(stan, 6)} but its ledger has no line for it`);
  fs.writeFileSync(injectedFile(o.ledgerFile), JSON.stringify([...injectedSeqs(o.ledgerFile), entry.seq]));
  return entry;
}
