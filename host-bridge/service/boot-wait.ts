// After the bench asks a terminal to reboot (the end of a flash, or `posj-bridge reboot`): wait, bounded, for
// its hello from the daemon started after the reboot, and, when a slot is under test, for the trial's end —
// the slot confirmed itself (`confirmedSlot` and `runningSlot` name it, nothing under test), or the launcher
// gave it up and went back (`rolledBack.from` names it). Exit 0 of a flash means the first; a bench must not
// read "flashed" while the new build may still crash or hang and roll back behind its back.
import type { Clock } from '../../protocol/io/clock.js';

/** What `hello` says of the slots (SERVICE_PORT.md). */
export interface HelloFirmware {
  version: string | null;
  buildId: string | null;
  activeSlot: string | null;
  runningSlot: string | null;
  confirmedSlot: string | null;
  trying: { slot: string; boots: number } | null;
  rolledBack: { from: string; boots: number; reason?: string } | null;
}

export interface Hello {
  bootId?: string;
  firmware: HelloFirmware;
}

export type BootOutcome =
  /** The slot under test runs and confirmed itself. */
  | { kind: 'confirmed'; slot: string; hello: Hello; waitedMs: number }
  /** The launcher rolled the slot under test back; the terminal runs `to` again. */
  | { kind: 'rolled-back'; from: string; to: string; boots: number; reason: string; hello: Hello; waitedMs: number }
  /** A plain reboot (nothing under test): a new daemon answers. */
  | { kind: 'back'; slot: string | null; hello: Hello; waitedMs: number }
  /** Not known within the bound: the terminal did not come back, or its slot is still under test. */
  | { kind: 'not-confirmed'; detail: string; hello: Hello | null; waitedMs: number };

export interface BootWaitOptions {
  /** One hello over a fresh session; rejects when nothing answers (the terminal is rebooting). */
  hello: () => Promise<Hello>;
  clock: Clock;
  waitForMs: number;
  /** The slot under test whose trial to wait out, or null for a plain reboot. */
  slot: string | null;
  /** The bootId of the daemon asked to reboot: its own answers mean the reboot has not happened yet. */
  rebootedFrom: string | null;
  /** Words for each new stage ("rebooting", "slot b booted, boot 1 of its trial", ...). */
  onProgress?: (words: string) => void;
  /** Pause between hellos. */
  pollMs?: number;
}

/** An outcome before the wait adds the hello it read and the time it took. */
type Verdict<T = BootOutcome> = T extends BootOutcome ? Omit<T, 'waitedMs' | 'hello'> : never;

/** Reads one hello against the wait: a final outcome, or the words for where the terminal is now. */
export function judgeHello(h: Hello, slot: string | null, rebootedFrom: string | null): { done: Verdict } | { stage: string } {
  const fw = h.firmware;
  if (rebootedFrom !== null && h.bootId === rebootedFrom) return { stage: 'the terminal has not rebooted yet' };
  if (slot === null) return { done: { kind: 'back', slot: fw.runningSlot } };
  if (fw.trying?.slot === slot) {
    if (fw.runningSlot === slot) return { stage: `slot ${slot} booted (boot ${fw.trying.boots} of its trial); waiting for it to confirm itself` };
    return { stage: `the terminal has not booted slot ${slot} yet` };
  }
  if (fw.rolledBack?.from === slot && fw.activeSlot !== slot) {
    return { done: { kind: 'rolled-back', from: slot, to: String(fw.activeSlot), boots: fw.rolledBack.boots, reason: fw.rolledBack.reason ?? 'unknown' } };
  }
  if (fw.activeSlot === slot && fw.confirmedSlot === slot && fw.runningSlot === slot) return { done: { kind: 'confirmed', slot } };
  return { stage: `the terminal runs slot ${fw.runningSlot ?? '?'} (active ${fw.activeSlot ?? '?'}, confirmed ${fw.confirmedSlot ?? '?'})` };
}

export async function waitForBoot(o: BootWaitOptions): Promise<BootOutcome> {
  const started = o.clock.now();
  const pollMs = o.pollMs ?? 500;
  let stage = '';
  let last: Hello | null = null;
  const say = (words: string) => {
    if (words === stage) return;
    stage = words;
    o.onProgress?.(words);
  };
  for (;;) {
    const waitedMs = o.clock.now() - started;
    if (waitedMs >= o.waitForMs) {
      const where = last ? stage : 'the terminal has not answered since the reboot';
      return { kind: 'not-confirmed', detail: `after ${Math.round(waitedMs / 1000)} s: ${where}`, hello: last, waitedMs };
    }
    let h: Hello | null = null;
    try {
      h = await o.hello();
    } catch {
      say(last ? 'no answer: the terminal is rebooting' : 'no answer yet: the terminal is rebooting');
    }
    if (h) {
      last = h;
      const j = judgeHello(h, o.slot, o.rebootedFrom);
      if ('done' in j) return { ...j.done, hello: h, waitedMs: o.clock.now() - started } as BootOutcome;
      say(j.stage);
    }
    await new Promise<void>((r) => o.clock.setTimer(pollMs, r));
  }
}
