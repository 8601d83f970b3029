// Power cut by process kill: the real daemon (`posj run --config`) SIGKILLed at every step of a sale, over
// the real control socket, against the acquirer simulator as its own process on loopback TCP (through a
// gate process that can hold bytes "in the network", stall a connect, or kill the terminal the instant a
// reply is delivered). After every kill the daemon reboots on the same journal and must send the owed
// reversal before anything else; at the end the journal and the acquirer's ledger (read back from disk)
// are checked against the money invariants of DESIGN.md, STAN reuse, double reversals and journal verify.
//
// Steps and how each is hit (the step is then confirmed from the evidence, not assumed):
//   before-send        the gate is stopped with its accept queue full, so the terminal's connect hangs; kill
//                      once the journal holds the intent. Evidence: intent durable, the acquirer never saw it.
//   after-send         the gate holds the request bytes; kill as soon as they arrive; then drop them (lost in
//                      the network) or deliver them to the acquirer after the terminal died (it debits).
//                      Evidence: bytes left the terminal, no debit in the ledger at the kill.
//   after-debit        the acquirer approves amount 300.01 but answers 4 s later; kill when its ledger shows
//                      the debit. Evidence: debit in the ledger, no outcome in the journal.
//   after-reply / after-outcome
//                      the gate delivers the reply, busy-waits N µs and SIGKILLs the terminal; N is searched
//                      so both sides of the outcome's durability are hit. Evidence: the journal after the
//                      kill has no outcome (after-reply, before the outcome is durable), or the outcome and
//                      no receipt.printed (after the outcome, before printing), or both (after printing).
// And the reboot itself: now and then the boot that sends an owed reversal is killed the instant the 0410 is
// delivered; the next boot repeats it as a 0401, and the acquirer must not apply it twice.
// Every sale carries a client request id. The cashier whose sale was killed heard nothing: after the reboot
// the same request id is sent again and must return the first outcome (the approval, when the kill came
// between the durable approval and the reply) without a second authorization; and everything the cashier
// was told is checked against the ledger at the end (invariant 8).
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { controlCall } from '../../firmware-ts/daemon/control-client.js';
import { checkMoneyInvariants, type ToldCashier } from '../../firmware-ts/txn/money-invariants.js';
import { TerminalRecord, type AuthIntent, type AuthOutcome, type ReceiptPrinted } from '../../firmware-ts/txn/records.js';
import { txnKey, txnViews } from '../../firmware-ts/txn/txn-history.js';
import type { LedgerEntry } from '../../host-bridge/acquirer/ledger.js';
import { Gate, journalRecords, killAll, ledgerEntries, posj, requireDist, spawnDaemon, startAcquirer, startDaemon, writeDaemonConfig, type Child } from '../helpers/kill-rig.js';
import { tmpDir } from '../helpers/tmp.js';
import { until } from '../helpers/wait.js';

type Step = 'before-send' | 'after-send' | 'after-debit-before-reply' | 'after-reply-before-outcome' | 'after-outcome-before-printing' | 'after-printing';
const NAMED: Step[] = ['before-send', 'after-send', 'after-debit-before-reply', 'after-reply-before-outcome', 'after-outcome-before-printing'];
type Plan = 'stall' | 'hold-drop' | 'hold-deliver' | 'slow-reply' | 'reply-kill';

interface Kill {
  round: number;
  plan: Plan;
  stan: number;
  batch: number;
  amount: number;
  step: Step;
  /** reply-kill: µs between delivering the reply and the SIGKILL. */
  us?: number;
  /** What the acquirer must hold for it in the end. */
  expect: 'nothing' | 'reversed' | 'sale';
  requestId: string;
}

/** What the cashier heard from one control reply. */
function heard(res: unknown, requestId: string): ToldCashier {
  const r = (res as { ok: boolean; result?: { kind: string; batch?: number; stan?: number } }).result;
  if (!r) return { said: 'failed', requestId };
  const said = r.kind === 'approved' ? 'approved' : r.kind === 'unknown' ? 'unknown' : 'failed';
  return { said, requestId, ...(r.batch !== undefined && r.stan !== undefined ? { batch: r.batch, stan: r.stan } : {}) };
}

const TERMINAL_ID = '87654321';
const SLOW_AMOUNT = 30_001;
const KILLS = 24;
const PLAN_CYCLE: Plan[] = ['stall', 'hold-drop', 'slow-reply', 'reply-kill', 'hold-deliver', 'reply-kill', 'slow-reply', 'reply-kill'];

const AIM: Record<Step, Plan> = {
  'before-send': 'stall',
  'after-send': 'hold-drop',
  'after-debit-before-reply': 'slow-reply',
  'after-reply-before-outcome': 'reply-kill',
  'after-outcome-before-printing': 'reply-kill',
  'after-printing': 'reply-kill',
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pad6 = (n: number) => String(n).padStart(6, '0');

afterAll(killAll);

function bootFields(daemon: Child): Record<string, string> {
  const line = daemon.lines.find((l) => / boot /.test(l)) ?? '';
  return Object.fromEntries([...line.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]));
}

describe('posj run SIGKILLed at every step of a sale', () => {
  it(`${KILLS}+ kills, each reboot reverses what is owed, and the journal and the acquirer agree`, async () => {
    requireDist();
    const t0 = Date.now();
    const dir = tmpDir('daemon-kill');
    const ledger = path.join(dir, 'acquirer-ledger.jsonl');
    const rulesFile = path.join(dir, 'rules.json');
    fs.writeFileSync(rulesFile, JSON.stringify({ rules: [{ when: { amount: SLOW_AMOUNT, mti: '0200' }, then: { action: 'approve', delayMs: 4000 } }] }));
    const acquirer = await startAcquirer({ ledger, rules: rulesFile });
    const gate = await Gate.start(acquirer.port);
    const cfg = writeDaemonConfig({ dir, acquirerPort: gate.port });
    const requestsFor = (stan: number, mti: string) => acquirer.child.events.filter((e) => e.event === 'request' && e.mti === mti && e.stan === pad6(stan));
    const debitOf = (entries: LedgerEntry[], batch: number, stan: number) =>
      entries.filter((e) => e.kind === 'authorization' && e.terminalId === TERMINAL_ID && e.batch === pad6(batch) && e.stan === pad6(stan));

    const kills: Kill[] = [];
    const told: ToldCashier[] = [];
    const replays: Array<{ round: number; step: Step; kind: string }> = [];
    const boots: Array<Record<string, string>> = [];
    const bootKills: Array<{ round: number; stan: number; cleared: boolean }> = [];
    // Bounds of the reply-kill search: largest delay that landed before the outcome, smallest after printing.
    let lo = -1;
    let hi = 20_000;
    const hit = (s: Step) => kills.some((k) => k.step === s);

    for (let round = 0; kills.length < KILLS || !NAMED.every(hit); round++) {
      if (round >= KILLS + 16) break;
      const prev = kills.at(-1);
      if (prev && prev.expect !== 'sale' && round % 3 === 0) {
        // Kill the boot that reverses the last kill's sale: its 0810 is the 1st reply, the 0410 the 2nd.
        const booting = spawnDaemon(cfg.file);
        const from = gate.child.events.length;
        await gate.send(`kill-after-reply ${booting.pid} 0 2`);
        await gate.child.waitEvent((e) => e.event === 'killed', `round ${round}: the kill after the 0410`, 10_000, from);
        expect((await booting.exited).signal).toBe('SIGKILL');
        const cleared = journalRecords(cfg.journalDir).some((r) => r.type === TerminalRecord.reversalCleared.name && (r.payload as { stan: number }).stan === prev.stan);
        bootKills.push({ round, stan: prev.stan, cleared });
      }
      const daemon = await startDaemon(cfg.file);
      boots.push(bootFields(daemon));
      // Boot sent every reversal the last kill left owed, before serving anything.
      const st = (await controlCall(cfg.socketPath, { op: 'status' })) as { ok: true; result: { stan: number; batch: number; pendingReversals: number[]; stuckReversals: number[] } };
      expect(st.result.pendingReversals, `round ${round}: reversals still owed after boot`).toEqual([]);
      if (prev) {
        // The cashier of the killed sale heard nothing and asks again with the same request id.
        const again = await controlCall(cfg.socketPath, { op: 'sale', amount: prev.amount, requestId: prev.requestId });
        const outcome = prev.expect === 'sale' ? { kind: 'approved' } : { kind: 'reversed', reversal: 'cleared' };
        expect(again, `round ${round}: request id ${prev.requestId} again (${prev.step})`).toMatchObject({ ok: true, result: { ...outcome, replayed: true, stan: prev.stan, requestId: prev.requestId } });
        told.push(heard(again, prev.requestId));
        replays.push({ round, step: prev.step, kind: (again as { result: { kind: string } }).result.kind });
      }
      // The terminal sells normally after every reboot.
      const normalId = `normal-${round}`;
      const normal = await controlCall(cfg.socketPath, { op: 'sale', amount: 100 + round, requestId: normalId });
      expect(normal, `round ${round}: a normal sale after reboot`).toMatchObject({ ok: true, result: { kind: 'approved', receipt: 'printed' } });
      told.push(heard(normal, normalId));

      // The cycle first; then, if a step was still missed, the plan that aims at it.
      const missed = NAMED.find((s) => !hit(s));
      const plan: Plan = kills.length < KILLS || !missed ? PLAN_CYCLE[round % PLAN_CYCLE.length]! : AIM[missed];
      const stan = (normal as { result: { stan: number } }).result.stan + 1;
      const batch = st.result.batch;
      const amount = plan === 'slow-reply' ? SLOW_AMOUNT : 1000 + round;
      const requestId = `killed-${round}`;
      const kill = () => process.kill(daemon.pid, 'SIGKILL');
      const intentDurable = () => journalRecords(cfg.journalDir).some((r) => r.type === TerminalRecord.authIntent.name && (r.payload as AuthIntent).stan === stan);
      let step: Step;
      let expectAtHost: Kill['expect'];
      let us: number | undefined;

      if (plan === 'stall') {
        await gate.send('drop');
        const stalled = await gate.stall();
        const sale = controlCall(cfg.socketPath, { op: 'sale', amount, requestId }).catch((e: Error) => e);
        await until(intentDurable, `round ${round}: the intent of STAN ${stan}`, 3000, 2);
        await sleep(Math.floor(Math.random() * 20));
        kill();
        await daemon.exited;
        await sale;
        stalled.resume();
        await sleep(50);
        expect(requestsFor(stan, '0200'), `round ${round}: the acquirer must not have seen STAN ${stan}`).toEqual([]);
        step = 'before-send';
        expectAtHost = 'nothing';
      } else if (plan === 'hold-drop' || plan === 'hold-deliver') {
        await gate.send('hold');
        const from = gate.child.events.length;
        const sale = controlCall(cfg.socketPath, { op: 'sale', amount, requestId }).catch((e: Error) => e);
        await gate.child.waitEvent((e) => e.event === 'held', `round ${round}: the request bytes at the gate`, 5000, from);
        kill();
        await daemon.exited;
        await sale;
        await gate.send('pass');
        expect(debitOf(ledgerEntries(ledger), batch, stan), `round ${round}: no debit while the request is in the network`).toEqual([]);
        if (plan === 'hold-deliver') {
          // The request reaches the acquirer after the terminal died: it debits, and the reboot must reverse it.
          await gate.send('release');
          await until(() => debitOf(ledgerEntries(ledger), batch, stan).length === 1, `round ${round}: the late request's debit`, 3000, 5);
          expectAtHost = 'reversed';
        } else {
          await gate.send('discard');
          expectAtHost = 'nothing';
        }
        step = 'after-send';
      } else if (plan === 'slow-reply') {
        const sale = controlCall(cfg.socketPath, { op: 'sale', amount, requestId }).catch((e: Error) => e);
        await until(() => debitOf(ledgerEntries(ledger), batch, stan).length === 1, `round ${round}: the acquirer's debit of STAN ${stan}`, 3000, 2);
        kill();
        await daemon.exited;
        await sale;
        step = 'after-debit-before-reply';
        expectAtHost = 'reversed';
      } else {
        // Search the delay so the kill lands on each side of the outcome's fdatasync and of the printing.
        us = !hit('after-reply-before-outcome') && lo < 0 ? 0 : !hit('after-outcome-before-printing') ? Math.round((Math.max(lo, 0) + hi) / 2) : [0, lo, hi, Math.round((lo + hi) / 2)][round % 4]!;
        us = Math.max(0, us);
        const from = gate.child.events.length;
        await gate.send(`kill-after-reply ${daemon.pid} ${us}`);
        const sale = controlCall(cfg.socketPath, { op: 'sale', amount, requestId }).catch((e: Error) => e);
        await gate.child.waitEvent((e) => e.event === 'killed', `round ${round}: the kill after the reply`, 10_000, from);
        await daemon.exited;
        await sale;
        const recs = journalRecords(cfg.journalDir);
        const outcome = recs.find((r) => r.type === TerminalRecord.authOutcome.name && (r.payload as AuthOutcome).stan === stan);
        const printed = recs.some((r) => r.type === TerminalRecord.receiptPrinted.name && (r.payload as ReceiptPrinted).stan === stan);
        step = !outcome ? 'after-reply-before-outcome' : printed ? 'after-printing' : 'after-outcome-before-printing';
        if (step === 'after-reply-before-outcome') lo = Math.max(lo, us);
        if (step === 'after-printing') hi = Math.min(hi, us);
        expect((outcome?.payload as AuthOutcome | undefined)?.result ?? 'approved').toBe('approved');
        expectAtHost = outcome ? 'sale' : 'reversed';
      }
      // Write-ahead: whatever reached the wire, its intent (with the reversal image) was already durable.
      expect(intentDurable(), `round ${round}: intent of STAN ${stan}`).toBe(true);
      if (step !== 'after-outcome-before-printing' && step !== 'after-printing') {
        expect(journalRecords(cfg.journalDir).some((r) => r.type === TerminalRecord.authOutcome.name && (r.payload as AuthOutcome).stan === stan), `round ${round}: ${step} has no outcome`).toBe(false);
      }
      kills.push({ round, plan, stan, batch, amount, step, ...(us !== undefined ? { us } : {}), expect: expectAtHost, requestId });
    }

    // Reboot once more: every owed reversal goes out; then a sale, a clean stop, and the checks.
    const daemon = await startDaemon(cfg.file);
    boots.push(bootFields(daemon));
    const sock = ['--socket', cfg.socketPath];
    let status: { pendingReversals: number[]; stuckReversals: number[]; pendingReceipts: number[]; stan: number } | undefined;
    for (let i = 0; i < 50 && !(status && status.pendingReversals.length === 0); i++) {
      const r = await posj(['status', '--json', ...sock]);
      expect(r.status, r.stderr).toBe(0);
      status = JSON.parse(r.stdout) as typeof status;
      if (status!.pendingReversals.length) await sleep(100);
    }
    expect(status).toMatchObject({ pendingReversals: [], stuckReversals: [], pendingReceipts: [] });
    // The last killed sale's cashier asks through the CLI: by request id, and "the last one".
    const lastKill = kills.at(-1)!;
    const byId = await posj(['status', '--request-id', lastKill.requestId, ...sock]);
    expect(byId.status, byId.stderr).toBe(0);
    expect(byId.stdout).toContain(`stan=${pad6(lastKill.stan)}`);
    expect(byId.stdout).toMatch(lastKill.expect === 'sale' ? /: APPROVED rrn=/ : /: FAILED, reversed at the acquirer \(0410 answered 00/);
    const last = await posj(['sale', '1.00', '--request-id', 'final-1', '--json', ...sock]);
    expect(last.status, last.stdout + last.stderr).toBe(0);
    told.push(heard({ ok: true, result: JSON.parse(last.stdout) }, 'final-1'));
    const lastAgain = await posj(['sale', '1.00', '--request-id', 'final-1', '--json', ...sock]);
    expect(JSON.parse(lastAgain.stdout)).toMatchObject({ kind: 'approved', replayed: true, stan: JSON.parse(last.stdout).stan });
    const lastOne = await posj(['status', '--last', ...sock]);
    expect(lastOne.stdout).toContain(`stan=${pad6(JSON.parse(last.stdout).stan)}`);
    expect(lastOne.stdout).toContain('request-id=final-1');
    daemon.proc.kill('SIGTERM');
    expect(await daemon.exited).toEqual({ code: 0, signal: null });
    gate.child.proc.kill('SIGTERM');
    acquirer.child.proc.kill('SIGTERM');
    expect((await acquirer.child.exited).code).toBe(0);

    // The journal verifies clean (MAC chain under the device key included).
    const verify = await posj(['journal', 'verify', cfg.journalDir, '--key-file', cfg.keyFile, '--json']);
    expect(verify.status, verify.stdout + verify.stderr).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ corrupt: null, tampered: null, chainChecked: true });

    const records = journalRecords(cfg.journalDir);
    const entries = ledgerEntries(ledger);
    expect(checkMoneyInvariants({ records, ledger: entries, terminalId: TERMINAL_ID, told })).toEqual([]);
    // Between the durable approval and the reply the kill left a sale whose cashier heard nothing: the same id returned it.
    const approvedReplays = replays.filter((r) => r.step === 'after-outcome-before-printing' || r.step === 'after-printing');
    expect(approvedReplays.length, 'replays of sales killed after their approval was durable').toBeGreaterThanOrEqual(1);
    for (const r of approvedReplays) expect(r.kind).toBe('approved');

    // No STAN reused across the kills: every authorization and sign-on the acquirer ever received had its own.
    const sent = acquirer.child.events.filter((e) => e.event === 'request' && (e.mti === '0200' || e.mti === '0800')).map((e) => String(e.stan));
    expect(new Set(sent).size, 'STANs the acquirer received').toBe(sent.length);
    const auths = entries.filter((e) => e.kind === 'authorization').map((e) => (e.kind === 'authorization' ? `${e.batch}|${e.stan}` : ''));
    expect(new Set(auths).size).toBe(auths.length);
    // No reversal took effect twice, and the terminal cleared each reversal once.
    const targets = entries.flatMap((e) => (e.kind === 'reversal' && e.target !== null ? [e.target] : []));
    expect(new Set(targets).size).toBe(targets.length);
    const cleared = records.filter((r) => r.type === TerminalRecord.reversalCleared.name).map((r) => (r.payload as { stan: number }).stan);
    expect(new Set(cleared).size).toBe(cleared.length);

    // Each killed sale ended the way its step demands.
    const views = txnViews(records);
    const reversedSeqs = new Set(targets);
    for (const k of kills) {
      const v = views.get(txnKey(k.batch, k.stan))!;
      const debit = debitOf(entries, k.batch, k.stan);
      const what = `round ${k.round} (${k.step}, STAN ${k.stan})`;
      expect(v, what).toBeDefined();
      if (k.expect === 'sale') {
        expect(v.outcome?.result, what).toBe('approved');
        expect(v.reversal, what).toBeUndefined();
        expect(v.printed, `${what}: receipt printed (at the latest on reboot)`).toBe(true);
        expect(debit.length, what).toBe(1);
        expect(reversedSeqs.has(debit[0]!.seq), what).toBe(false);
      } else {
        expect(v.reversal?.state, what).toBe('cleared');
        expect(debit.length, what).toBe(k.expect === 'reversed' ? 1 : 0);
        if (debit[0]) expect(reversedSeqs.has(debit[0].seq), what).toBe(true);
      }
    }
    // The very next boot did the work: raised and cleared the reversal of an intent left without an outcome
    // (before taking any sale), or printed the receipt the cut left owed.
    for (const k of kills) {
      const next = boots[k.round + 1]!;
      // A killed boot in between had already raised the reversal (and maybe cleared it).
      const killedBoot = bootKills.find((b) => b.round === k.round + 1);
      const what = `boot after round ${k.round} (${k.step})`;
      expect(next.signedOn, what).toBe('true');
      expect(Number(next.reversalsRaised), what).toBe(k.expect === 'sale' || killedBoot ? 0 : 1);
      expect(Number(next.reversalsCleared), what).toBe(k.expect === 'sale' || killedBoot?.cleared ? 0 : 1);
      expect(Number(next.receiptsPrinted), what).toBe(k.step === 'after-outcome-before-printing' ? 1 : 0);
      // What the acquirer received for it: the request exactly once unless it never left (or was lost), and a
      // reversal when owed — a 0401 repeat only when a boot died between the 0410 and its durable clearing.
      expect(requestsFor(k.stan, '0200').length, what).toBe(k.expect === 'nothing' ? 0 : 1);
      expect(requestsFor(k.stan, '0400').length, what).toBe(k.expect === 'sale' ? 0 : 1);
      expect(requestsFor(k.stan, '0401').length, what).toBe(killedBoot && !killedBoot.cleared ? 1 : 0);
    }
    for (const b of boots) expect(b.reversalsStuck ?? '0').toBe('0');

    const byStep = Object.fromEntries([...NAMED, 'after-printing'].map((s) => [s, kills.filter((k) => k.step === s).length]));
    process.stdout.write(
      `daemon SIGKILL: ${kills.length} kills mid-sale + ${bootKills.length} mid-reversal at boot (${bootKills.filter((b) => !b.cleared).length} before the clearing was journaled) ` +
        `in ${((Date.now() - t0) / 1000).toFixed(1)} s; by step ${JSON.stringify(byStep)}; ` +
        `reply-kill delays (µs→step) ${kills.filter((k) => k.us !== undefined).map((k) => `${k.us}→${k.step}`).join(', ')}\n`,
    );
    expect(kills.length).toBeGreaterThanOrEqual(KILLS);
    for (const s of NAMED) expect(byStep[s], `kills that landed ${s}`).toBeGreaterThanOrEqual(1);
  }, 240_000); // ~30 s on an idle machine, 80 s with the shared cores loaded
});
