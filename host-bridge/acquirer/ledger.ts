// The acquirer simulator's durable ledger: one JSON object per line, appended and fdatasync'ed before the
// host replies, so what the terminal is told always matches what survives a restart. Only masked PANs are
// written; sign-on keys only wrapped under the terminal master key.
import * as path from 'node:path';
import type { Storage, StorageFile } from '../../firmware-ts/io/storage.js';
import type { BatchTotals, TransactionKind } from '../../protocol/iso8583/index.js';

/** An approved authorization-side effect: a debit (sale, completion), a hold (preauth), or a credit. */
export interface AuthorizationEntry {
  kind: 'authorization';
  txn: Exclude<TransactionKind, 'balance'>;
  terminalId: string;
  batch: string;
  stan: string;
  /** Masked PAN (first 6, last 4). */
  card: string;
  /** Minor units (fen), 12 digits as sent. */
  amount: string;
  processingCode: string;
  /** Field 13 (MMDD) of the request; a refund's field 61 must name it. Absent in ledgers written before it was kept. */
  date?: string;
  rrn: string;
  authCode: string;
  /** The earlier entry (seq) a void, refund, preauth void or completion applies to. */
  target?: number;
}

export interface ReversalEntry {
  kind: 'reversal';
  terminalId: string;
  batch: string;
  stan: string;
  mti: string;
  reason: string;
  /** The authorization it undid; null when none was found (it then blocks a late original with this key). */
  target: number | null;
}

export interface SignOnEntry {
  kind: 'sign-on';
  terminalId: string;
  /** Field 62 of the 0810 (keys under the TMK), base64. */
  wrappedKeys: string;
}

export interface SettlementEntry {
  kind: 'settlement';
  terminalId: string;
  batch: string;
  /** Field 11 of the 0500: a repeat with the same STAN is the same settlement. Absent in older ledgers. */
  stan?: string;
  terminalTotals: TotalsJson;
  hostTotals: TotalsJson;
  balanced: boolean;
}

export interface BatchUploadEntry {
  kind: 'batch-upload';
  terminalId: string;
  batch: string;
  stan: string;
  original: { batch: string; stan: string };
  card: string;
  amount: string;
}

export interface BatchEndEntry {
  kind: 'batch-end';
  terminalId: string;
  batch: string;
  records: number;
  /** Field 11 of the batch-end 0320. Absent in older ledgers. */
  stan?: string;
}

export interface TotalsJson {
  debitAmount: string;
  debitCount: number;
  creditAmount: string;
  creditCount: number;
}

export const totalsJson = (t: BatchTotals): TotalsJson => ({
  debitAmount: t.debitAmount.toString(),
  debitCount: t.debitCount,
  creditAmount: t.creditAmount.toString(),
  creditCount: t.creditCount,
});

export const totalsFromJson = (t: TotalsJson): BatchTotals => ({
  debitAmount: BigInt(t.debitAmount),
  debitCount: t.debitCount,
  creditAmount: BigInt(t.creditAmount),
  creditCount: t.creditCount,
});

/** Wrong PINs in a row for a card, after a wrong PIN or after the correct one reset them. */
export interface PinTriesEntry {
  kind: 'pin-tries';
  /** The masked PAN, for a person reading the ledger. */
  card: string;
  /** Which card: a hash of the full PAN (two cards may share a masked PAN). Absent in older ledgers. */
  cardRef?: string;
  tries: number;
}

export type LedgerBody =
  | AuthorizationEntry
  | PinTriesEntry
  | ReversalEntry
  | SignOnEntry
  | SettlementEntry
  | BatchUploadEntry
  | BatchEndEntry;

/** Every entry: a sequence number (1, 2, ...) and the host's time as ISO text, then the body. */
export type LedgerEntry = LedgerBody & { seq: number; at: string };

/** The ledger could not make an entry durable: the host must stop rather than answer (it would lie). */
export class LedgerWriteError extends Error {
  constructor(
    readonly file: string,
    cause: Error,
  ) {
    super(`ledger ${file}: append failed: ${cause.message}`, { cause });
    this.name = 'LedgerWriteError';
  }
}

export class LedgerCorruptError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly offset: number,
    reason: string,
  ) {
    super(`ledger ${file} corrupt at line ${line} (byte ${offset}): ${reason}`);
    this.name = 'LedgerCorruptError';
  }
}

/** Parses ledger text. A final line without its newline is a torn append and is dropped; any other bad line is corruption. */
export function parseLedger(file: string, text: string): { entries: LedgerEntry[]; validLength: number } {
  const entries: LedgerEntry[] = [];
  let offset = 0;
  let line = 0;
  while (offset < text.length) {
    line++;
    const nl = text.indexOf('\n', offset);
    if (nl < 0) break; // torn tail
    const raw = text.slice(offset, nl);
    let entry: LedgerEntry;
    try {
      entry = JSON.parse(raw) as LedgerEntry;
    } catch {
      throw new LedgerCorruptError(file, line, offset, 'not JSON');
    }
    if (typeof entry !== 'object' || entry === null || entry.seq !== entries.length + 1) {
      throw new LedgerCorruptError(file, line, offset, `expected seq ${entries.length + 1}`);
    }
    entries.push(entry);
    offset = nl + 1;
  }
  return { entries, validLength: Buffer.byteLength(text.slice(0, offset)) };
}

export function readLedgerFile(storage: Storage, file: string): LedgerEntry[] {
  const f = storage.open(file, 'r');
  try {
    return parseLedger(file, readAll(f)).entries;
  } finally {
    f.close();
  }
}

function readAll(f: StorageFile): string {
  const buf = Buffer.alloc(f.size());
  let done = 0;
  while (done < buf.length) {
    const n = f.read(buf, done, buf.length - done, done);
    if (n === 0) break;
    done += n;
  }
  return buf.subarray(0, done).toString('utf8');
}

export class Ledger {
  private failed: Error | undefined;

  private constructor(
    private readonly path: string,
    private readonly file: StorageFile,
    private size: number,
    readonly entries: LedgerEntry[],
  ) {}

  /** Opens or creates the ledger, cutting a torn last line. */
  static open(storage: Storage, file: string): Ledger {
    if (!storage.exists(file)) {
      storage.mkdirp(path.dirname(file));
      const created = storage.open(file, 'create');
      created.sync();
      storage.syncDir(path.dirname(file));
      return new Ledger(file, created, 0, []);
    }
    const f = storage.open(file, 'rw');
    const { entries, validLength } = parseLedger(file, readAll(f));
    if (validLength !== f.size()) {
      f.truncate(validLength);
      f.sync();
    }
    return new Ledger(file, f, validLength, entries);
  }

  /** Appends and makes durable. A failed write or fsync is fatal: the ledger refuses every later append. */
  append(body: LedgerBody, now: Date): LedgerEntry {
    if (this.failed) throw this.failed;
    const entry = { seq: this.entries.length + 1, at: now.toISOString(), ...body } as LedgerEntry;
    const bytes = Buffer.from(JSON.stringify(entry) + '\n');
    try {
      this.file.write(bytes, this.size);
      this.file.datasync();
    } catch (e) {
      this.failed = new LedgerWriteError(this.path, e as Error);
      throw this.failed;
    }
    this.size += bytes.length;
    this.entries.push(entry);
    return entry;
  }

  close(): void {
    this.file.close();
  }
}
