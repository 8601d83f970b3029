// How the fold's transactions (`txns`) are written into a checkpoint (JOURNAL_FORMAT §6.1): one array
// per transaction instead of objects with their key names, because every checkpoint carries the whole open
// batch (up to 999 sales) and is written once per segment. Decoding gives back exactly the objects the fold
// built, so a boot from a checkpoint equals a fold from seq 1.
import type { AuthIntent } from './records.js';
import type { StoredIntent, TxnView } from './terminal-state.js';

/** The intent's fields in array order; any other field (a newer record version) goes in a trailing object. */
const INTENT_FIELDS = ['stan', 'batch', 'kind', 'amount', 'currency', 'maskedPan', 'entryMode', 'at', 'requestId', 'original', 'reversalImage'] as const;
// encodeIntent writes the row field by field in this order: keep the two in step.
const KNOWN = new Set<string>(INTENT_FIELDS);
const AMOUNT_AT = INTENT_FIELDS.indexOf('amount');

type Encoded = unknown[];

/**
 * [seq, intent, outcome | 0, reversal | 0, printed 0/1, consumedBy | 0]; intent is [fields…, extra?] with 0
 * for an absent field; outcome is [approved 1 / declined 0, responseCode, rrn?, authCode?].
 */
export function encodeTxns(txns: Record<string, TxnView>): Encoded[] {
  return Object.values(txns).map((v) => [v.seq, encodeIntent(v.intent), v.outcome ? encodeOutcome(v.outcome) : 0, v.reversal ?? 0, v.printed ? 1 : 0, v.consumedBy ?? 0]);
}

function encodeOutcome(o: NonNullable<TxnView['outcome']>): Encoded {
  const row: unknown[] = [o.result === 'approved' ? 1 : 0, o.responseCode, o.rrn ?? 0];
  if (o.authCode !== undefined) row.push(o.authCode);
  else if (o.rrn === undefined) row.pop();
  return row;
}

function decodeOutcome(row: Encoded): NonNullable<TxnView['outcome']> {
  const [approved, responseCode, rrn, authCode] = row as [0 | 1, string, string | 0 | undefined, string | undefined];
  return { result: approved === 1 ? 'approved' : 'declined', responseCode, ...(rrn !== undefined && rrn !== 0 ? { rrn } : {}), ...(authCode !== undefined ? { authCode } : {}) };
}

export function decodeTxns(rows: Encoded[]): Record<string, TxnView> {
  const txns: Record<string, TxnView> = {};
  for (const row of rows) {
    const [seq, intent, outcome, reversal, printed, consumedBy] = row as [number, Encoded, Encoded | 0, TxnView['reversal'] | 0, 0 | 1, number];
    const v: TxnView = { seq, intent: decodeIntent(intent), printed: printed === 1 };
    if (outcome !== 0) v.outcome = decodeOutcome(outcome);
    if (reversal !== 0) v.reversal = reversal;
    if (consumedBy !== 0) v.consumedBy = consumedBy;
    txns[seq] = v;
  }
  return txns;
}

function encodeIntent(i: StoredIntent): Encoded {
  const row: unknown[] = [i.stan ?? 0, i.batch ?? 0, i.kind ?? 0, i.amount ?? 0, i.currency ?? 0, i.maskedPan ?? 0, i.entryMode ?? 0, i.at ?? 0, i.requestId ?? 0, i.original ?? 0, i.reversalImage ?? 0];
  // Trailing absent fields are left out (never amount's place and before, where 0 can be a value).
  while (row.length > AMOUNT_AT + 1 && row[row.length - 1] === 0) row.pop();
  // Every checkpoint encodes the whole open batch: the extra fields are looked for without an entries array per intent.
  let extra: Record<string, unknown> | undefined;
  const keys = Object.keys(i);
  for (let n = 0; n < keys.length; n++) {
    const k = keys[n]!;
    if (!KNOWN.has(k)) (extra ??= {})[k] = (i as Record<string, unknown>)[k];
  }
  if (extra !== undefined) {
    while (row.length < INTENT_FIELDS.length) row.push(0);
    row.push(extra);
  }
  return row;
}

function decodeIntent(row: Encoded): StoredIntent {
  const i: Record<string, unknown> = {};
  INTENT_FIELDS.forEach((f, n) => {
    const value = row[n];
    // 0 stands for "absent" except in amount's place (a balance inquiry's amount is 0).
    if (value !== undefined && (value !== 0 || n === AMOUNT_AT)) i[f] = value;
  });
  const extra = row[INTENT_FIELDS.length];
  if (extra && typeof extra === 'object') Object.assign(i, extra);
  return i as unknown as AuthIntent;
}
