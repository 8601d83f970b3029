// `posj status` as a field engineer reads it: counts first, the STANs after them; the acquirer's sign-on
// and whether its link is up; one line per device with its state, problem, since when and its counters.
import { formatMinor } from '../receipts/money.js';

type R = Record<string, unknown>;

const stan6 = (n: unknown) => String(n).padStart(6, '0');

/** `2 (STAN 687, 690)` or `0`. */
export function countWithStans(v: unknown): string {
  const list = Array.isArray(v) ? (v as number[]) : [];
  return list.length === 0 ? '0' : `${list.length} (STAN ${list.join(', ')})`;
}

/** "HH:MM:SS" local time of an epoch-ms instant. */
function clockTime(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

function acquirerLine(r: R): string {
  const link = r.acquirerLink as { state: string; since: number; detail?: string } | undefined;
  const signed = r.signedOn ? 'signed on' : 'NOT signed on (the next transaction signs on first)';
  if (!link) return `acquirer: ${signed}`;
  if (link.state === 'up') return `acquirer: ${signed}, link up since ${clockTime(link.since)}`;
  if (link.state === 'never') return `acquirer: ${signed}, not connected yet`;
  return `acquirer: ${r.signedOn ? 'signed on, but ' : 'NOT signed on, '}link DOWN since ${clockTime(link.since)}${link.detail ? ` (${link.detail})` : ''}: the next transaction redials`;
}

/** Numbers anywhere in a health object, as `name value` (nested names joined with a dot), zero or not. */
function counters(h: R, prefix = ''): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(h)) {
    if (/since|At$/.test(k)) continue;
    if (typeof v === 'number') out.push(`${prefix}${k} ${v}`);
    else if (v && typeof v === 'object' && !Array.isArray(v)) out.push(...counters(v as R, `${prefix}${k}.`));
  }
  return out;
}

/** One readable line for a device's health, whatever driver reports it. */
export function describeDevice(name: string, h: unknown): string {
  if (!h || typeof h !== 'object') return `${name}: no report`;
  const d = h as R;
  const link = (d.link ?? {}) as R;
  const where = typeof link.path === 'string' ? link.path : d.kind === 'simulated' ? 'simulated' : '';
  const state = String(d.state ?? link.state ?? 'unknown');
  const problem = d.problem ?? d.lastError ?? link.lastError;
  const sinceMs = typeof d.since === 'number' ? d.since : typeof link.since === 'number' ? link.since : typeof d.lastStatusAt === 'number' ? d.lastStatusAt : null;
  const parts = [`${name}${where ? ` ${where}` : ''}: ${state}`];
  if (d.state !== undefined && link.state !== undefined && link.state !== d.state) parts.push(`line ${String(link.state)}`);
  if (sinceMs !== null) parts.push(`since ${clockTime(sinceMs)}`);
  if (problem !== undefined) parts.push(`problem: ${String(problem)}`);
  if (d.paperNearEnd === true) parts.push('paper low');
  const c = counters(Object.fromEntries(Object.entries(d).filter(([k]) => k !== 'lastStatus')));
  if (c.length) parts.push(c.join(', '));
  return parts.join('; ');
}

const mib = (n: unknown) => (typeof n === 'number' ? `${(n / 1048576).toFixed(1)} MiB` : 'unknown');

/** Size against budget, the filesystem's free space and the reserve. */
function journalLine(j: R): string {
  const reserve = j.reserve as { bytes: number; state: string } | null;
  return `journal: ${mib(j.bytes)} in ${j.segments} segments, budget ${j.budgetBytes === null ? 'none' : mib(j.budgetBytes)}, disk free ${mib(j.freeBytes)}, reserve ${reserve ? `${mib(reserve.bytes)} ${reserve.state}` : 'none'}`;
}

export function describeStatus(r: R): string {
  const t = r.totals as { saleCount: number; saleAmount: number; voidCount: number; voidAmount: number; refundCount: number; refundAmount: number };
  const sup = r.supervisor as { set: boolean; lockedForMs: number };
  const busy = r.busy as { op: string; forMs: number; waiting: number } | null | undefined;
  const stuck = Array.isArray(r.stuckReversals) ? (r.stuckReversals as number[]) : [];
  const devices = (r.devices ?? {}) as R;
  const inFlight = Array.isArray(r.inFlight) ? (r.inFlight as number[]) : [];
  return [
    `terminal ${r.terminalId}  stan ${stan6(r.stan)}  batch ${stan6(r.batch)}`,
    acquirerLine(r),
    ...(busy ? [`busy: ${busy.op} for ${(busy.forMs / 1000).toFixed(1)} s${busy.waiting ? `, ${busy.waiting} more waiting` : ''}`] : []),
    ...(inFlight.length ? [`in flight: ${countWithStans(inFlight)}`] : []),
    `reversals pending: ${countWithStans(r.pendingReversals)}`,
    `reversals stuck: ${countWithStans(stuck)}${stuck.length ? ' — the cardholder may still be debited until the acquirer answers' : ''}`,
    `receipts pending: ${countWithStans(r.pendingReceipts)}`,
    `batch totals: ${t.saleCount} sales ${formatMinor(t.saleAmount)}, ${t.voidCount} voids ${formatMinor(t.voidAmount)}, ${t.refundCount} refunds ${formatMinor(t.refundAmount)}`,
    `supervisor password: ${sup.set ? 'set' : 'NOT SET (posj supervisor set)'}${sup.lockedForMs > 0 ? `, locked ${Math.ceil(sup.lockedForMs / 1000)} s` : ''}`,
    `settlement: ${r.settlement ? `batch ${(r.settlement as { batch: number }).batch} stopped at ${(r.settlement as { step: string }).step}` : 'none under way'}`,
    ...Object.entries(devices).map(([name, h]) => describeDevice(name, h)),
    ...(r.journal ? [journalLine(r.journal as R)] : []),
    ...(r.journalFailure ? [`JOURNAL FAILED: ${r.journalFailure}`] : []),
    ...(r.rollback ? [rollbackLine(r.rollback as R)] : []),
  ].join('\n');
}

/** The rollback alarm (JOURNAL_FORMAT §10.2): what was found, where the counters went, what to do. */
function rollbackLine(a: R): string {
  const after = a.after as { stan: number; batch: number };
  return `ALARM journal rolled back: ${a.detail}; STAN moved to ${stan6(after.stan)}, batch to ${stan6(after.batch)}; money operations refused — check the acquirer's ledger for what the journal lost, then posj supervisor ack-rollback --reason TEXT`;
}
