// The bench result lines as a table a person can read at the terminal (`--json` prints the lines as-is).
import type { BenchLine, BootLine, RatioLine, SaleLine } from './runner.js';

const pad = (cells: string[][]) => {
  const widths = cells[0]!.map((_, c) => Math.max(...cells.map((row) => row[c]!.length)));
  return cells.map((row) => row.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()).join('\n') + '\n';
};
const num = (x: unknown) => (typeof x === 'number' ? String(x) : '-');

export function formatBenchTable(lines: BenchLine[]): string {
  const sale = lines.filter((l): l is SaleLine => l.workload === 'sale' && 'subject' in l);
  const ratios = lines.filter((l): l is RatioLine => 'ratio' in l);
  const boot = lines.filter((l): l is BootLine => l.workload === 'boot' && !('ratio' in l));
  let out = pad([
    ['subject', 'fs', 'us/sale', 'cpu us/sale', 'syncs/sale', 'device B/sale', 'sales', 'rounds (us/sale)'],
    ...sale.map((l) => [l.subject, l.fs, num(l.us_per_sale), num(l.cpu_us_per_sale), num(l.syncs_per_sale), num(l.device_bytes_per_sale), String(l.sales), l.us_per_sale_rounds.join(' ')]),
  ]);
  const note = sale.find((l) => l.device_note)?.device_note;
  if (note) out += `device bytes: not measured (${note})\n`;
  if (boot.length) {
    out += '\n' + pad([['history records', 'open records', 'boot ms', 'heap MB'], ...boot.map((l) => [String(l.history_records), String(l.open_records), num(l.boot_ms), num(l.heap_mb)])]);
  }
  if (ratios.length) {
    out += '\n' + ratios.map((r) => `${r.ratio}: ${JSON.stringify(Object.fromEntries(Object.entries(r).filter(([k]) => !['bench', 'workload', 'ratio'].includes(k))))}`).join('\n') + '\n';
  }
  return out;
}
