// Fault rules for the acquirer simulator: what to answer and how to deliver it, chosen per message by a
// script (the n-th request gets the n-th step) or else by the first rule whose conditions all match.
import { readFileSync } from 'node:fs';
import { unknownKeyReason, unknownKeys } from '../../protocol/json/known-keys.js';

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

/** A key nobody reads is a typo that would silently approve everything (`rule` for `rules`): refuse it. */
function onlyKnown(o: object, known: readonly string[], where: string): void {
  const bad = unknownKeys(o, known)[0];
  if (bad) throw new RulesError(`${where}.${bad.key}`, unknownKeyReason(bad.suggestion, known));
}

function checkCondition(w: unknown, where: string): RuleCondition {
  if (typeof w !== 'object' || w === null || Array.isArray(w)) throw new RulesError(where, 'must be an object');
  onlyKnown(w, ['amount', 'stan', 'mti', 'terminalId'], where);
  const { amount, stan, mti, terminalId } = w as Record<string, unknown>;
  if (amount !== undefined && !(typeof amount === 'number' && Number.isInteger(amount) && amount >= 0) && !(typeof amount === 'string' && /^\d{12}$/.test(amount))) {
    throw new RulesError(`${where}.amount`, 'a whole number of fen, or field 4 as 12 digits');
  }
  if (stan !== undefined && (typeof stan !== 'string' || !/^\d{6}$/.test(stan))) throw new RulesError(`${where}.stan`, 'field 11: 6 digits as a string');
  if (mti !== undefined && (typeof mti !== 'string' || !/^\d{4}$/.test(mti))) throw new RulesError(`${where}.mti`, '4 digits as a string');
  if (terminalId !== undefined && (typeof terminalId !== 'string' || !/^[0-9A-Za-z]{8}$/.test(terminalId))) throw new RulesError(`${where}.terminalId`, 'field 41: 8 letters or digits');
  return w as RuleCondition;
}

function checkAction(a: unknown, where: string): RuleAction {
  if (typeof a !== 'object' || a === null || Array.isArray(a)) throw new RulesError(where, 'an action is an object');
  onlyKnown(a, ['action', 'code', 'delayMs'], where);
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
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new RulesError('$', 'must be an object');
  onlyKnown(json, ['rules', 'script', 'openingBalance'], '$');
  const o = json as Record<string, unknown>;
  const rules = (o.rules ?? []) as unknown[];
  const script = (o.script ?? []) as unknown[];
  if (!Array.isArray(rules)) throw new RulesError('$.rules', 'must be an array');
  if (!Array.isArray(script)) throw new RulesError('$.script', 'must be an array');
  const opening = o.openingBalance ?? 10_000_000;
  if (!(typeof opening === 'number' && Number.isInteger(opening) && opening >= 0) && !(typeof opening === 'string' && /^\d{1,18}$/.test(opening))) throw new RulesError('$.openingBalance', 'a whole number of fen');
  return {
    rules: rules.map((r, i) => {
      if (typeof r !== 'object' || r === null || Array.isArray(r)) throw new RulesError(`$.rules[${i}]`, 'a rule is an object {when, then}');
      onlyKnown(r, ['when', 'then'], `$.rules[${i}]`);
      const { when, then } = r as Record<string, unknown>;
      return { when: checkCondition(when, `$.rules[${i}].when`), then: checkAction(then, `$.rules[${i}].then`) };
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
