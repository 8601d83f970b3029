// The acquirer ledger's money position, as JSON and as a table: per masked card and per terminal,
// debited, reversed, voided, refunded and net, in fen. This is what the money invariants are checked against.
import { LedgerState, positions, type Position } from './ledger-state.js';
import type { LedgerEntry } from './ledger.js';

export interface PositionJson {
  debited: number;
  reversed: number;
  voided: number;
  refunded: number;
  net: number;
}

export interface LedgerReport {
  entries: number;
  cards: ({ card: string } & PositionJson)[];
  terminals: ({ terminalId: string } & PositionJson)[];
  /** Reversals that found no authorization (recorded so a late original is refused). */
  orphanReversals: number;
  settlements: { terminalId: string; batch: string; balanced: boolean }[];
}

const json = (p: Position): PositionJson => ({
  debited: Number(p.debited),
  reversed: Number(p.reversed),
  voided: Number(p.voided),
  refunded: Number(p.refunded),
  net: Number(p.net),
});

export function ledgerReport(entries: readonly LedgerEntry[]): LedgerReport {
  const state = new LedgerState(entries);
  const { cards, terminals } = positions(state);
  const byName = <T>(m: Map<string, T>) => [...m.entries()].sort(([a], [b]) => a.localeCompare(b));
  return {
    entries: entries.length,
    cards: byName(cards).map(([card, p]) => ({ card, ...json(p) })),
    terminals: byName(terminals).map(([terminalId, p]) => ({ terminalId, ...json(p) })),
    orphanReversals: state.orphanReversals.size,
    settlements: entries.flatMap((e) => (e.kind === 'settlement' ? [{ terminalId: e.terminalId, batch: e.batch, balanced: e.balanced }] : [])),
  };
}

const yuan = (fen: number) => (fen < 0 ? '-' : '') + (Math.abs(fen) / 100).toFixed(2);

export function formatLedgerReport(r: LedgerReport): string {
  const head = ['', 'debited', 'reversed', 'voided', 'refunded', 'net'];
  const rows = (label: string, items: { name: string; p: PositionJson }[]) => [
    [label, ...head.slice(1)],
    ...items.map(({ name, p }) => [name, yuan(p.debited), yuan(p.reversed), yuan(p.voided), yuan(p.refunded), yuan(p.net)]),
  ];
  const table = (cells: string[][]) => {
    const widths = cells[0]!.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
    return cells.map((row) => row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')).join('\n');
  };
  const parts = [
    `${r.entries} ledger entries (amounts in CNY)`,
    '',
    table(rows('card', r.cards.map(({ card, ...p }) => ({ name: card, p })))),
    '',
    table(rows('terminal', r.terminals.map(({ terminalId, ...p }) => ({ name: terminalId, p })))),
  ];
  if (r.orphanReversals > 0) parts.push('', `${r.orphanReversals} reversal(s) without an original`);
  for (const s of r.settlements) parts.push(`settlement ${s.terminalId} batch ${s.batch}: ${s.balanced ? 'balanced' : 'UNBALANCED'}`);
  return parts.join('\n') + '\n';
}
