// The `flash:` step: a bundle sent over the terminal's service port as a lab does (posj-bridge flash's
// client: deflated, windowed, resumable, then the reboot into the new slot), and what the bench judges of
// it. A flash that goes through: the terminal reboots into the new slot and confirms it (hello), its journal
// is untouched (every record from before the flash unchanged), STAN and batch carry on, and every reversal
// owed before is still owed or was sent by the boot. A flash that must be refused: refused with that code,
// and the terminal still serves on the firmware it ran. A flash cut by the power relay once the terminal has
// made part of the upload durable: judged at the next power restore — the terminal runs what it ran before.
import { PROGRESS_STEP } from '../../firmware-ts/firmware/flash-receiver.js';
import { TerminalRecord } from '../../firmware-ts/txn/records.js';
import type { JournalRecord } from '../../firmware-ts/journal/state-machine.js';
import { FlashFailed, type FlashProgress, type FlashReport } from '../service/flash-client.js';
import { judgeFields, type Judgement } from './bench-checks.js';
import type { RunContext, StepResult } from './bench-steps.js';
import { FLASH_REFUSALS, type Step } from './scenario.js';
import type { FirmwareHello } from './service-line.js';
import type { LoadedBundle } from './bench-bundles.js';

type FlashStep = Step & { do: 'flash' };

interface TerminalCounters {
  stan: number;
  batch: number;
  pendingReversals: number[];
}

const slotWords = (f: FirmwareHello) => `slot ${f.runningSlot} running (active ${f.activeSlot}, confirmed ${f.confirmedSlot}), ${f.version} (${f.buildId})`;

async function counters(ctx: RunContext): Promise<TerminalCounters> {
  const r = await ctx.bench.terminal.call({ op: 'status' });
  if (!r.ok) throw new Error(`status: ${r.error.code}: ${r.error.message}`);
  const s = r.result as TerminalCounters;
  return { stan: s.stan, batch: s.batch, pendingReversals: s.pendingReversals };
}

/** The terminal still runs the firmware it ran before (after a refusal, or a cut flash and the power back). */
function sameFirmware(what: string, before: FirmwareHello, now: FirmwareHello): Judgement {
  const same = (['runningSlot', 'activeSlot', 'confirmedSlot', 'buildId', 'version'] as const).every((k) => now[k] === before[k]);
  return { what, ok: same, detail: same ? slotWords(now) : `it ran ${slotWords(before)}; now ${slotWords(now)}`, evidence: [`hello before: ${JSON.stringify(before)}`, `hello now: ${JSON.stringify(now)}`] };
}

/** Every record from before the flash is still there, byte for byte as the reader decodes it. */
function journalUntouched(before: readonly JournalRecord[], after: readonly JournalRecord[]): Judgement {
  const changed = before.findIndex((r, i) => JSON.stringify(after[i]) !== JSON.stringify(r));
  const what = 'the journal is untouched by the flash';
  if (changed < 0) return { what, ok: true, detail: `the ${before.length} records from before the flash unchanged; the boot after it added ${after.length - before.length}`, evidence: [] };
  return { what, ok: false, detail: `record ${changed} differs after the flash`, evidence: [`before: ${JSON.stringify(before[changed])}`, `after:  ${JSON.stringify(after[changed] ?? null)}`] };
}

function countersCarried(before: TerminalCounters, after: TerminalCounters, added: readonly JournalRecord[]): Judgement[] {
  const carried = after.batch === before.batch && after.stan >= before.stan;
  const cleared = new Set(added.filter((r) => r.type === TerminalRecord.reversalCleared.name).map((r) => (r.payload as { stan: number }).stan));
  const lost = before.pendingReversals.filter((s) => !after.pendingReversals.includes(s) && !cleared.has(s));
  const stillOwed = before.pendingReversals.filter((s) => after.pendingReversals.includes(s));
  return [
    { what: 'STAN and batch carry on', ok: carried, detail: `before the flash STAN ${before.stan} batch ${before.batch}; after the reboot STAN ${after.stan} batch ${after.batch}`, evidence: [] },
    {
      what: 'reversals owed before the flash are still owed or were sent',
      ok: lost.length === 0,
      detail: lost.length ? `owed before, neither owed nor cleared after the reboot: STAN ${lost.join(', ')}` : `owed before: [${before.pendingReversals.join(', ')}]; still owed: [${stillOwed.join(', ')}]; cleared by the boot: [${before.pendingReversals.filter((s) => cleared.has(s)).join(', ')}]`,
      evidence: added.filter((r) => r.type.startsWith('reversal.')).map((r) => `journal seq ${r.seq} ${r.type} ${JSON.stringify(r.payload)}`),
    },
  ];
}

function failedWords(e: FlashFailed): string {
  return `${e.code}: ${e.message}`;
}

export async function runFlashStep(ctx: RunContext, step: FlashStep, out: StepResult): Promise<void> {
  const t = ctx.bench.terminal;
  const line = t.service;
  if (!line) throw new Error('this terminal has no service port the bench reaches: a flash needs one');
  const bundle: LoadedBundle = await ctx.bench.bundles.load(step.bundle);
  const before = await line.firmware();
  const countersBefore = await counters(ctx);
  const recordsBefore = step.cut || step.refused ? [] : await t.records();
  const mark = t.rebootMark();
  let cutAt: FlashProgress | null = null;
  let cutting: Promise<void> | null = null;
  let report: FlashReport | null = null;
  let failed: FlashFailed | null = null;
  const t0 = Date.now();
  try {
    report = await line.flash({
      manifestBytes: bundle.manifestBytes,
      image: bundle.image,
      allowDowngrade: step.allowDowngrade,
      // An offset the terminal answers past PROGRESS_STEP is durable on its side: the resume starts there.
      onProgress: (p) => {
        if (!step.cut || p.have < PROGRESS_STEP || p.have >= p.total) return false;
        cutAt = p;
        cutting = t.powerCut();
        return true;
      },
    });
  } catch (e) {
    if (!(e instanceof FlashFailed)) throw e;
    failed = e;
  }
  const flashMs = Date.now() - t0;
  if (step.cut) return cutFlash(ctx, bundle, before, cutAt, cutting, report, failed, out);
  if (step.refused) {
    const want = FLASH_REFUSALS[step.refused];
    out.said = failed ? `refused: ${failedWords(failed)}` : `not refused: flashed into slot ${report!.slot}`;
    out.judgements.push({ what: `the terminal refuses the flash (${step.refused})`, ok: failed?.code === want, detail: failed ? `${failed.code} (want ${want})` : `the flash went through into slot ${report!.slot} (want ${want})`, evidence: [`bundle: ${bundle.what}`] });
    if (report) await t.rebooted(mark, report.slot);
    out.judgements.push(sameFirmware('the terminal still runs the firmware it ran', before, await line.firmware()));
    const st = await counters(ctx);
    out.judgements.push({ what: 'the terminal still serves', ok: st.batch === countersBefore.batch, detail: `status answers: STAN ${st.stan} batch ${st.batch}`, evidence: [] });
    return;
  }
  if (!report) {
    out.said = `the flash failed: ${failedWords(failed!)}`;
    out.judgements.push({ what: `flash of ${bundle.what}`, ok: false, detail: failedWords(failed!), evidence: [`hello before: ${JSON.stringify(before)}`] });
    return;
  }
  const r0 = Date.now();
  await t.rebooted(mark, report.slot);
  const rebootMs = Date.now() - r0;
  const after = await line.firmware();
  const countersAfter = await counters(ctx);
  const recordsAfter = await t.records();
  const m = bundle.manifest;
  const runsIt = after.runningSlot === report.slot && after.activeSlot === report.slot && after.confirmedSlot === report.slot && after.buildId === m.buildId && after.version === m.version;
  out.judgements.push({ what: 'the terminal runs the new firmware from the new slot, confirmed', ok: runsIt, detail: runsIt ? slotWords(after) : `want slot ${report.slot} running, active and confirmed, ${m.version} (${m.buildId}); hello says ${slotWords(after)}`, evidence: runsIt ? [] : [`hello before: ${JSON.stringify(before)}`, `hello after: ${JSON.stringify(after)}`] });
  out.judgements.push(journalUntouched(recordsBefore, recordsAfter));
  out.judgements.push(...countersCarried(countersBefore, countersAfter, recordsAfter.slice(recordsBefore.length)));
  const resumedAt = report.beganAt[0] ?? 0;
  const answer = { slot: report.slot, version: report.version, buildId: m.buildId, resumed: resumedAt > 0, resumedAt, imageBytes: report.imageBytes, compressedBytes: report.compressedBytes, flashMs, rebootMs };
  out.said = `flashed ${m.version} (${m.buildId}) into slot ${report.slot}: ${report.compressedBytes} bytes on the line for a ${report.imageBytes}-byte image${resumedAt > 0 ? `, resumed at ${resumedAt}` : ''}, ${(flashMs / 1000).toFixed(1)} s; rebooted and serving again in ${(rebootMs / 1000).toFixed(1)} s`;
  if (step.expect) out.judgements.push(judgeFields('the flash report', answer, step.expect));
}

async function cutFlash(ctx: RunContext, bundle: LoadedBundle, before: FirmwareHello, cutAt: FlashProgress | null, cutting: Promise<void> | null, report: FlashReport | null, failed: FlashFailed | null, out: StepResult): Promise<void> {
  const t = ctx.bench.terminal;
  await cutting;
  const at = cutAt as FlashProgress | null;
  out.said = at ? `the power went off with ${at.have} of ${at.total} bytes of ${bundle.what} on the terminal` : report ? `the flash finished before the cut (slot ${report.slot})` : `the flash failed before the cut: ${failedWords(failed!)}`;
  out.judgements.push({
    what: 'power cut mid-upload',
    ok: at !== null && failed?.code === 'FLASH_INTERRUPTED',
    detail: at ? `cut at ${at.have} of ${at.total} bytes (the terminal makes its progress durable every ${PROGRESS_STEP} bytes); the bench's flash ended ${failed ? failedWords(failed) : 'without an error'}` : 'the cut never came mid-upload (a bundle whose deflated image is at most one progress step cannot be cut there)',
    evidence: [],
  });
  ctx.afterRestore.push(async () => sameFirmware('after the cut flash, the terminal boots the firmware it ran before', before, await t.service!.firmware()));
}
