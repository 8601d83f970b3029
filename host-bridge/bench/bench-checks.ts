// The assertions a scenario's check steps make, each judged from outside the terminal: the money invariants
// of DESIGN.md (firmware-ts/txn/money-invariants.ts, plus settlement totals and reopen-after-crash, which
// need the ledger's settlement entries and the bench's boots), `posj journal verify`, the receipts the
// printer simulator tore off, and fields of `status`. Every result carries the evidence it judged — the
// journal records and ledger lines — so a failure can be read without rerunning.
import type { JournalRecord } from '../../firmware-ts/journal/state-machine.js';
import { checkMoneyInvariants, type ToldCashier, type Violation } from '../../firmware-ts/txn/money-invariants.js';
import type { LedgerEntry } from '../acquirer/ledger.js';
import { TEST_PANS } from '../sim/reader-cards.js';
import type { BenchInvariant, Checks, FieldExpect } from './scenario.js';
import type { ReceiptSeen } from './bench-parts.js';
import type { BootSeen, JournalVerdict } from './terminal-under-test.js';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface Judgement {
  what: string;
  ok: boolean;
  /** Why it failed, or what held. */
  detail: string;
  evidence: string[];
}

const pad6 = (n: number) => String(n).padStart(6, '0');
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const clip = (s: string, n = 220) => (s.length > n ? `${s.slice(0, n)}…` : s);

export function journalLine(r: JournalRecord): string {
  return clip(`journal seq ${r.seq} ${r.type} ${JSON.stringify(r.payload)}`);
}

export function ledgerLine(e: LedgerEntry): string {
  return clip(`ledger  seq ${e.seq} ${JSON.stringify(e)}`);
}

/** The journal records and ledger lines of one transaction (batch + STAN). */
export function txnEvidence(records: readonly JournalRecord[], ledger: readonly LedgerEntry[], terminalId: string, batch: number | undefined, stan: number | undefined): string[] {
  if (stan === undefined) return [];
  const mine = (p: unknown) => {
    const o = p as { stan?: unknown; batch?: unknown };
    return o?.stan === stan && (batch === undefined || o.batch === undefined || o.batch === batch);
  };
  const j = records.filter((r) => mine(r.payload)).map(journalLine);
  const l = ledger
    .filter((e) => (e as { terminalId?: string }).terminalId === terminalId && (e as { stan?: string }).stan === pad6(stan) && (batch === undefined || (e as { batch?: string }).batch === pad6(batch)))
    .map(ledgerLine);
  return [...(j.length ? j : [`journal: no record names STAN ${pad6(stan)}`]), ...(l.length ? l : [`ledger: no line names STAN ${pad6(stan)}${batch !== undefined ? ` of batch ${pad6(batch)}` : ''}`])];
}

/** A broken invariant with the transaction it names, if any. */
interface Found {
  as: BenchInvariant;
  detail: string;
  batch?: number | undefined;
  stan?: number | undefined;
}

/** Invariant 5: a balanced settlement agreed on both sides; an unbalanced one was followed by the batch upload and its end. */
function settlementTotals(ledger: readonly LedgerEntry[], terminalId: string): Found[] {
  const out: Found[] = [];
  const mine = ledger.filter((e) => (e as { terminalId?: string }).terminalId === terminalId);
  for (const e of mine) {
    if (e.kind !== 'settlement') continue;
    const s = e as unknown as { batch: string; balanced: boolean; terminalTotals: unknown; hostTotals: unknown; seq: number };
    if (s.balanced) {
      if (JSON.stringify(s.terminalTotals) !== JSON.stringify(s.hostTotals)) out.push({ as: 'settlement-totals', batch: Number(s.batch), detail: `settlement seq ${s.seq} says balanced but terminal totals ${JSON.stringify(s.terminalTotals)} ≠ host ${JSON.stringify(s.hostTotals)}` });
      continue;
    }
    const end = mine.find((x) => x.kind === 'batch-end' && (x as { batch?: string }).batch === s.batch && x.seq > s.seq) as (LedgerEntry & { records?: number }) | undefined;
    const uploads = mine.filter((x) => x.kind === 'batch-upload' && (x as { batch?: string }).batch === s.batch && x.seq > s.seq && (!end || x.seq < end.seq)).length;
    if (!end) out.push({ as: 'settlement-totals', batch: Number(s.batch), detail: `settlement seq ${s.seq} of batch ${s.batch} did not balance and no batch upload ended (no batch-end after it)` });
    else if (end.records !== uploads) out.push({ as: 'settlement-totals', batch: Number(s.batch), detail: `batch ${s.batch}: batch-end seq ${end.seq} counts ${end.records} records, the acquirer received ${uploads} uploads` });
  }
  return out;
}

/** Invariant 7 from outside: no test card number, in the clear, in any file of the journal directory. */
function cardBytesOnDisk(journalDir: string): Found[] {
  const out: Found[] = [];
  if (!fs.existsSync(journalDir)) return out;
  for (const name of fs.readdirSync(journalDir)) {
    const file = path.join(journalDir, name);
    if (!fs.statSync(file).isFile()) continue;
    const bytes = fs.readFileSync(file);
    for (const pan of TEST_PANS) if (bytes.includes(pan)) out.push({ as: 'no-card-data', detail: `${file} holds the full PAN ${pan.slice(0, 6)}…${pan.slice(-4)}` });
  }
  return out;
}

export interface InvariantInputs {
  records: readonly JournalRecord[];
  ledger: readonly LedgerEntry[];
  /** Ledger seqs of debits the bench itself sent under the terminal's ID (acquirer-debit.ts): not the terminal's doing. */
  injected: ReadonlySet<number>;
  terminalId: string;
  told: readonly ToldCashier[];
  boots: readonly BootSeen[];
  journalDir: string;
}

export function judgeInvariants(which: readonly BenchInvariant[], i: InvariantInputs): Judgement[] {
  const theTerminals = i.ledger.filter((e) => !i.injected.has(e.seq));
  const found: Found[] = checkMoneyInvariants({ records: i.records, ledger: theTerminals, terminalId: i.terminalId, told: i.told }).map((v: Violation) => ({ as: v.invariant, detail: v.detail, batch: v.batch, stan: v.stan }));
  found.push(...settlementTotals(i.ledger, i.terminalId), ...cardBytesOnDisk(i.journalDir));
  for (const b of i.boots) if (!b.ok) found.push({ as: 'journal-reopens', detail: `a boot needed more than a restart: ${b.detail}` });
  return which.map((name) => {
    const bad = found.filter((v) => v.as === name);
    if (bad.length === 0) {
      const held =
        name === 'journal-reopens'
          ? `${plural(i.boots.length, 'boot')}, each came up by itself`
          : name === 'no-failed-debit'
            ? `${plural(i.told.filter((t) => t.said === 'failed').length, 'answer')} told "failed", none live at the acquirer`
            : `held over ${i.records.length} journal records and ${theTerminals.length} ledger lines${i.injected.size ? ` (${i.injected.size} debit(s) the bench itself sent left out: ledger seq ${[...i.injected].join(', ')})` : ''}`;
      return { what: `invariant ${name}`, ok: true, detail: held, evidence: [] };
    }
    const evidence = bad.flatMap((v) => [`VIOLATION ${v.as}: ${v.detail}`, ...txnEvidence(i.records, i.ledger, i.terminalId, v.batch, v.stan).map((l) => `  ${l}`)]);
    return { what: `invariant ${name}`, ok: false, detail: bad.map((v) => v.detail).join('; '), evidence };
  });
}

/** The value at a dotted path of an object (`devices.printer.state`). */
export function atPath(o: unknown, p: string): unknown {
  return p.split('.').reduce<unknown>((v, k) => (v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), o);
}

/** Compares each expected field with the answer; one judgement for the lot, naming every mismatch. */
export function judgeFields(what: string, answer: unknown, expect: FieldExpect): Judgement {
  const wrong = expect.filter((f) => JSON.stringify(atPath(answer, f.path)) !== JSON.stringify(f.value));
  const show = (f: FieldExpect[number]) => `${f.path}: ${JSON.stringify(atPath(answer, f.path))}`;
  if (wrong.length === 0) return { what, ok: true, detail: expect.map(show).join(', '), evidence: [] };
  return {
    what,
    ok: false,
    detail: wrong.map((f) => `${f.path} is ${JSON.stringify(atPath(answer, f.path))}, expected ${JSON.stringify(f.value)} (line ${f.line})`).join('; '),
    evidence: [clip(`answer: ${JSON.stringify(answer)}`, 1200)],
  };
}

export function judgeReceipts(want: NonNullable<Checks['receipts']>, seen: readonly ReceiptSeen[]): Judgement {
  const got = { printed: seen.length, duplicates: seen.filter((r) => r.duplicate).length, incomplete: seen.filter((r) => r.incomplete).length };
  const wrong = (Object.keys(want) as Array<keyof typeof got>).filter((k) => want[k] !== got[k]);
  const detail = `${got.printed} printed, ${got.duplicates} marked 重打印/DUPLICATE, ${got.incomplete} incomplete`;
  return {
    what: 'receipts',
    ok: wrong.length === 0,
    detail: wrong.length === 0 ? detail : `${detail}; expected ${wrong.map((k) => `${k} ${want[k]}`).join(', ')}`,
    evidence: wrong.length === 0 ? [] : seen.map((r) => `receipt ${r.svg}${r.duplicate ? ' (duplicate)' : ''}${r.incomplete ? ' (INCOMPLETE)' : ''}`),
  };
}

export function judgeJournal(v: JournalVerdict): Judgement {
  return { what: 'journal verify', ok: v.clean, detail: v.summary, evidence: [] };
}

/** Whether the acquirer holds the transaction's authorization live (not reversed, not voided). */
export function judgeLedger(label: string, want: boolean, ledger: readonly LedgerEntry[], records: readonly JournalRecord[], terminalId: string, batch: number, stan: number): Judgement {
  const auth = ledger.find((e) => e.kind === 'authorization' && (e as { terminalId?: string }).terminalId === terminalId && (e as { batch?: string }).batch === pad6(batch) && (e as { stan?: string }).stan === pad6(stan));
  const reversed = auth && ledger.some((e) => e.kind === 'reversal' && (e as { target?: number | null }).target === auth.seq);
  const voided = auth && ledger.some((e) => e.kind === 'authorization' && (e as { txn?: string }).txn === 'void' && (e as { target?: number }).target === auth.seq && !ledger.some((r) => r.kind === 'reversal' && (r as { target?: number | null }).target === e.seq));
  const live = Boolean(auth && !reversed && !voided);
  const state = !auth ? 'no authorization' : reversed ? 'reversed' : voided ? 'voided' : 'live';
  return {
    what: `ledger ${label}`,
    ok: live === want,
    detail: `STAN ${pad6(stan)} batch ${pad6(batch)} at the acquirer: ${state}${live === want ? '' : `; expected ${want ? 'live' : 'not live'}`}`,
    evidence: live === want ? [] : txnEvidence(records, ledger, terminalId, batch, stan),
  };
}
