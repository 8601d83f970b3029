// Fault rules for the acquirer simulator: what to answer and how to deliver it, chosen per message by a
// script (the n-th request gets the n-th step) or else by the first rule whose conditions all match.
import { readFileSync } from 'node:fs';

export type ActionName = 'approve' | 'decline' | 'drop-reply' | 'reset' | 'duplicate' | 'bad-mac';

/**
 * approve: process normally. decline: answer `code` without any effect. drop-reply: process (debit) and
 * send nothing. reset: process, then reset the TCP connection instead of answering. duplicate: send the
 * reply twice. bad-mac: send the reply with a corrupted field 64. `delayMs` delays the reply (or the reset):
 * "answer slowly" below the terminal's response timeout, "answer late" beyond it.
 */
export interface RuleAction {
  action: ActionName;
  code?: string;
  delayMs?: number;
}

export interface RuleCondition {
  /** Field 4, 12 digits, or a number of fen. */
  amount?: string | number;
  /** Field 11. */
  stan?: string;
  mti?: string;
  terminalId?: string;
}

export interface Rule {
  when: RuleCondition;
  then: RuleAction;
}

export interface RuleSet {
  rules: Rule[];
  /** Per-message script: step n applies to the n-th request received; null means "use the rules". */
  script: (RuleAction | null)[];
  /** Opening balance of every test card, fen; balance inquiries answer this minus the card's net debit. */
  openingBalance: bigint;
}

export class RulesError extends Error {
  constructor(
    readonly where: string,
    reason: string,
  ) {
    super(`rules ${where}: ${reason}`);
    this.name = 'RulesError';
  }
}

const ACTIONS: readonly ActionName[] = ['approve', 'decline', 'drop-reply', 'reset', 'duplicate', 'bad-mac'];

function checkAction(a: unknown, where: string): RuleAction {
  if (typeof a !== 'object' || a === null) throw new RulesError(where, 'an action is an object');
  const { action, code, delayMs } = a as Record<string, unknown>;
  if (!ACTIONS.includes(action as ActionName)) throw new RulesError(where, `action must be one of ${ACTIONS.join(', ')}`);
  if (code !== undefined && (typeof code !== 'string' || !/^[0-9A-Z]{2}$/.test(code))) {
    throw new RulesError(where, 'code is a 2-character response code');
  }
  if (delayMs !== undefined && (typeof delayMs !== 'number' || !(delayMs >= 0) || delayMs > 600_000)) {
    throw new RulesError(where, 'delayMs is 0..600000');
  }
  return { action: action as ActionName, ...(code !== undefined ? { code } : {}), ...(delayMs !== undefined ? { delayMs } : {}) };
}

export function parseRules(json: unknown): RuleSet {
  if (typeof json !== 'object' || json === null) throw new RulesError('$', 'must be an object');
  const o = json as Record<string, unknown>;
  const rules = (o.rules ?? []) as unknown[];
  const script = (o.script ?? []) as unknown[];
  if (!Array.isArray(rules)) throw new RulesError('$.rules', 'must be an array');
  if (!Array.isArray(script)) throw new RulesError('$.script', 'must be an array');
  const opening = o.openingBalance ?? 10_000_000;
  if (typeof opening !== 'number' && typeof opening !== 'string') throw new RulesError('$.openingBalance', 'a number of fen');
  return {
    rules: rules.map((r, i) => {
      const { when, then } = (r ?? {}) as Record<string, unknown>;
      if (typeof when !== 'object' || when === null) throw new RulesError(`$.rules[${i}].when`, 'must be an object');
      return { when: when as RuleCondition, then: checkAction(then, `$.rules[${i}].then`) };
    }),
    script: script.map((s, i) => (s === null ? null : checkAction(s, `$.script[${i}]`))),
    openingBalance: BigInt(opening),
  };
}

export function loadRules(file: string): RuleSet {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new RulesError(file, (e as Error).message);
  }
  try {
    return parseRules(JSON.parse(text));
  } catch (e) {
    if (e instanceof RulesError) throw e;
    throw new RulesError(file, `not JSON: ${(e as Error).message}`);
  }
}

export const defaultRules = (): RuleSet => ({ rules: [], script: [], openingBalance: 10_000_000n });

export interface RequestFacts {
  mti: string;
  stan?: string;
  amount?: string;
  terminalId?: string;
}

function matches(c: RuleCondition, f: RequestFacts): boolean {
  if (c.amount !== undefined) {
    const want = typeof c.amount === 'number' ? String(c.amount).padStart(12, '0') : c.amount;
    if (f.amount !== want) return false;
  }
  if (c.stan !== undefined && c.stan !== f.stan) return false;
  if (c.mti !== undefined && c.mti !== f.mti) return false;
  if (c.terminalId !== undefined && c.terminalId !== f.terminalId) return false;
  return true;
}

/** Chooses the action for the `index`-th request (0-based). */
export function chooseAction(rules: RuleSet, index: number, facts: RequestFacts): RuleAction {
  const step = rules.script[index];
  if (step) return step;
  return rules.rules.find((r) => matches(r.when, facts))?.then ?? { action: 'approve' };
}
