// A bench scenario: a story of steps run against a terminal (sales, faults, power cuts) and the assertions
// that judge it. Written in YAML by a lab (host-bridge/bench/scenarios/*.yaml, README "bench run"); read here
// strictly: each step is one mapping with exactly one action key, every value is checked before anything
// runs, and a mistake is a BenchFileError naming file:line and the key.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseRules } from '../acquirer/rules.js';
import { parseControlLine } from '../sim/reader-faults.js';
import { parseSimCommand } from '../sim/printer-commands.js';
import { parseYuan } from '../../firmware-ts/cli/amount-arg.js';
import { didYouMean } from '../../protocol/json/known-keys.js';
import { DEFAULT_TEST_CARDS } from '../sim/reader-cards.js';
import { readYamlFile, type YNode } from './yaml-reader.js';

export const INVARIANTS = ['no-phantom-debit', 'no-lost-sale', 'stan-unique', 'batch-forward', 'reversal-once', 'settlement-totals', 'journal-reopens', 'no-card-data', 'no-failed-debit', 'request-once', 'no-over-credit'] as const;
export type BenchInvariant = (typeof INVARIANTS)[number];

/** Where a sale is cut by the power relay: once its intent is durable, or once the acquirer has debited the card. */
export type CutPoint = 'after-intent' | 'after-debit';
export type NetworkAction = { kind: 'up' | 'down' | 'drop' | 'reset' } | { kind: 'delay'; ms: number };
/** Reader and printer actions: the line itself (unplug, replug) or a simulator control line. */
export type DeviceAction = { kind: 'unplug' } | { kind: 'replug' } | { kind: 'control'; lines: string[] };

/** Ways a terminal refuses a flash (the FLASH_* codes of `posj-bridge flash`, in scenario words). */
export const FLASH_REFUSALS = {
  'bad-signature': 'FLASH_BAD_SIGNATURE',
  'wrong-product': 'FLASH_WRONG_PRODUCT',
  downgrade: 'FLASH_DOWNGRADE',
  'no-space': 'FLASH_NO_SPACE',
  'journal-incompatible': 'FLASH_JOURNAL_INCOMPATIBLE',
  'bad-image': 'FLASH_BAD_IMAGE',
  'bench-not-paired': 'FLASH_AUTH_REFUSED',
} as const;
export type FlashRefusal = keyof typeof FLASH_REFUSALS;

/**
 * What a flash step sends: this checkout's firmware (`build`, bundled once per run and signed with the
 * bench's firmware key) or a bundle directory (firmware.img + manifest.json); `build` may be re-signed by
 * the bench as a variant a lab must see refused — a key the terminal does not trust, or another version.
 */
export interface FlashBundleSpec {
  source: 'build' | { dir: string };
  signedBy?: 'untrusted-key';
  version?: string;
}

/** A field of an answer or of `status`, compared as written (dotted path → value). */
export type FieldExpect = Array<{ path: string; value: unknown; line: number }>;

export interface Checks {
  invariants?: readonly BenchInvariant[];
  journalClean?: boolean;
  receipts?: { printed?: number; duplicates?: number; incomplete?: number };
  status?: FieldExpect;
  lookup?: { of: string; fields: FieldExpect };
  ledger?: { of: string; live: boolean };
}

export type StepAction =
  | { do: 'sale'; amount: number; cut?: CutPoint }
  | { do: 'void'; of: string; password: string }
  | { do: 'refund'; of: string; amount?: number; password: string }
  | { do: 'settle' }
  | { do: 'reprint'; of: string | 'last' | 'settlement' }
  | { do: 'supervisor-password'; password: string }
  | { do: 'power-cut' }
  | { do: 'power-restore' }
  | { do: 'network'; action: NetworkAction }
  | { do: 'acquirer'; rules: unknown }
  | { do: 'reader'; action: DeviceAction }
  | { do: 'printer'; action: DeviceAction }
  | { do: 'card'; name: string }
  | { do: 'wait'; ms?: number; until?: 'receipts-printed' | 'reversals-cleared'; timeoutMs: number }
  | { do: 'tamper-ledger'; deleteReversalOf: string }
  | { do: 'acquirer-debit'; amount: number }
  | { do: 'flash'; bundle: FlashBundleSpec; allowDowngrade: boolean; cut?: 'mid-upload'; refused?: FlashRefusal }
  | { do: 'check'; checks: Checks };

export type Step = StepAction & { line: number; as?: string; title?: string; expect?: FieldExpect };

export interface Scenario {
  name: string;
  file: string;
  story: string;
  steps: Step[];
}

const ACTIONS = ['sale', 'void', 'refund', 'settle', 'reprint', 'supervisor-password', 'power-cut', 'power-restore', 'network', 'acquirer', 'acquirer-debit', 'reader', 'printer', 'card', 'wait', 'flash', 'tamper-ledger', 'check'] as const;
const COMMON = ['as', 'title', 'expect'] as const;
const LABEL = /^[a-z][a-z0-9-]{0,39}$/;

/** The terminal's reader driver tries a command this many times (CardReader commandTries) before it calls the reader unresponsive. */
const DRIVER_TRIES = 3;
const times = (n: number, line: string) => Array.from({ length: n }, () => line);

/** Named reader faults, as simulator control lines (host-bridge/sim/reader-faults.ts). A silent card stays silent through every try. */
export const READER_WORDS: Record<string, string[]> = {
  'declines-after-approval': ['on GEN_AC2 decline-ac2'],
  'card-silent': times(DRIVER_TRIES, 'on READ no-reply'),
  'chip-silent-after-approval': times(DRIVER_TRIES, 'on GEN_AC2 no-reply'),
};

/** Named printer faults (host-bridge/sim/printer-commands.ts words pass through as they are). */
const PRINTER_WORDS = ['paper-out', 'paper-in', 'paper-near-end', 'cover-open', 'cover-close', 'offline', 'online', 'cutter-error', 'cutter-ok', 'no-reply', 'reply', 'garbage-replies', 'clean-replies', 'reset'];

function amountOf(n: YNode): number {
  // Read as written, not as the number YAML makes of it: 12.50 stays two decimals, and 1e2 or 0x64 are
  // no "digits with at most two decimals" (the words of the error) even though YAML reads them as 100.
  try {
    return parseYuan(n.written());
  } catch (e) {
    return n.fail((e as Error).message);
  }
}

/** The cards the bench's reader simulator holds (it runs with its default cards, host-bridge/sim/reader-cards.ts). */
const CARD_NAMES = DEFAULT_TEST_CARDS.map((c) => c.name);

function cardOf(n: YNode): string {
  const name = n.str();
  if (CARD_NAMES.includes(name)) return name;
  const near = didYouMean(name, CARD_NAMES);
  return n.fail(`unknown card "${name}"${near ? ` (did you mean "${near}"?)` : ''}; the reader simulator's cards: ${CARD_NAMES.join(', ')}`);
}

function fieldExpect(n: YNode): FieldExpect {
  const m = n.map(anyKeys(n));
  return m.keys().map((k) => {
    const v = m.need(k);
    if (!/^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z0-9]+)*$/.test(k)) v.fail('a field name or a dotted path (devices.printer.state)');
    return { path: k, value: v.toJS(), line: v.line };
  });
}

/** Every key of a mapping node (for maps whose keys are field names, checked by fieldExpect). */
function anyKeys(n: YNode): string[] {
  const js = n.toJS();
  if (typeof js !== 'object' || js === null || Array.isArray(js)) n.fail('expected a mapping of field: value');
  return Object.keys(js);
}

function deviceAction(n: YNode, device: 'reader' | 'printer'): DeviceAction {
  if (n.isMap) {
    const m = n.map(['control']);
    const c = m.need('control');
    const line = c.str();
    try {
      if (device === 'reader') parseControlLine(line);
      else parseSimCommand(line);
    } catch (e) {
      c.fail((e as Error).message);
    }
    return { kind: 'control', lines: [line] };
  }
  const word = n.str();
  if (word === 'unplug' || word === 'replug') return { kind: word };
  if (device === 'reader') {
    const lines = READER_WORDS[word];
    if (!lines) n.fail(`unknown reader action "${word}" (known: unplug, replug, ${Object.keys(READER_WORDS).join(', ')}, or {control: LINE})`);
    return { kind: 'control', lines };
  }
  if (!PRINTER_WORDS.includes(word)) n.fail(`unknown printer action "${word}" (known: unplug, replug, ${PRINTER_WORDS.join(', ')}, or {control: LINE})`);
  return { kind: 'control', lines: [word] };
}

function checks(n: YNode): Checks {
  const m = n.map(['invariants', 'journal', 'receipts', 'status', 'lookup', 'ledger']);
  const out: Checks = {};
  const inv = m.get('invariants');
  if (inv) {
    if (inv.isScalar) {
      if (inv.str() !== 'all') inv.fail(`"all" or a list of: ${INVARIANTS.join(', ')}`);
      out.invariants = INVARIANTS;
    } else {
      out.invariants = inv.items().map((i) => {
        const name = i.str();
        if (!(INVARIANTS as readonly string[]).includes(name)) i.fail(`unknown invariant "${name}" (known: ${INVARIANTS.join(', ')})`);
        return name as BenchInvariant;
      });
    }
  }
  const j = m.get('journal');
  if (j) {
    if (j.str() !== 'clean') j.fail('the only journal check is "clean" (posj journal verify finds no corruption or tampering)');
    out.journalClean = true;
  }
  const r = m.get('receipts');
  if (r) {
    const rm = r.map(['printed', 'duplicates', 'incomplete']);
    out.receipts = {};
    for (const k of ['printed', 'duplicates', 'incomplete'] as const) {
      const v = rm.get(k);
      if (v) out.receipts[k] = v.int(0, 10_000);
    }
  }
  const s = m.get('status');
  if (s) out.status = fieldExpect(s);
  const l = m.get('lookup');
  if (l) {
    const of = labelRef(l.map([...anyKeys(l)]).need('of'));
    const fields = fieldExpect(l).filter((f) => f.path !== 'of');
    out.lookup = { of, fields };
  }
  const lg = m.get('ledger');
  if (lg) {
    const lm = lg.map(['of', 'live']);
    out.ledger = { of: labelRef(lm.need('of')), live: lm.need('live').bool() };
  }
  if (Object.keys(out).length === 0) n.fail('a check needs at least one of invariants, journal, receipts, status, lookup, ledger');
  return out;
}

function labelRef(n: YNode): string {
  return n.str(LABEL, 'the "as:" label of an earlier step (lower case, digits, dashes)');
}

function action(kind: (typeof ACTIONS)[number], v: YNode): StepAction {
  switch (kind) {
    case 'sale': {
      if (v.isMap) {
        const m = v.map(['amount', 'power-cut']);
        const cut = m.get('power-cut');
        const point = cut?.str(/^(after-intent|after-debit)$/, 'after-intent (the intent is durable) or after-debit (the acquirer has debited the card)');
        return { do: 'sale', amount: amountOf(m.need('amount')), ...(point ? { cut: point as CutPoint } : {}) };
      }
      return { do: 'sale', amount: amountOf(v) };
    }
    case 'void': {
      const m = v.map(['of', 'password']);
      return { do: 'void', of: labelRef(m.need('of')), password: m.need('password').str() };
    }
    case 'refund': {
      const m = v.map(['of', 'amount', 'password']);
      const a = m.get('amount');
      return { do: 'refund', of: labelRef(m.need('of')), password: m.need('password').str(), ...(a ? { amount: amountOf(a) } : {}) };
    }
    case 'settle':
      if (v.toJS() !== null && !(v.isMap && anyKeys(v).length === 0)) v.fail('settle takes no value (write "- settle:" or "- settle: {}")');
      return { do: 'settle' };
    case 'reprint': {
      const s = v.str();
      if (s === 'last' || s === 'settlement') return { do: 'reprint', of: s };
      return { do: 'reprint', of: labelRef(v) };
    }
    case 'supervisor-password':
      return { do: 'supervisor-password', password: v.str() };
    case 'power-cut':
    case 'power-restore':
      if (v.toJS() !== null && !(v.isMap && anyKeys(v).length === 0)) v.fail(`${kind} takes no value`);
      return { do: kind };
    case 'network': {
      if (v.isMap) return { do: 'network', action: { kind: 'delay', ms: v.map(['delay']).need('delay').int(0, 600_000) } };
      const w = v.str(/^(up|down|drop|reset)$/, 'up, down, drop, reset, or {delay: MS}');
      return { do: 'network', action: { kind: w as 'up' | 'down' | 'drop' | 'reset' } };
    }
    case 'acquirer': {
      const rules = v.toJS();
      try {
        parseRules(rules);
      } catch (e) {
        v.fail(`acquirer rules: ${(e as Error).message} (host-bridge/acquirer/README.md "Rules")`);
      }
      return { do: 'acquirer', rules };
    }
    case 'acquirer-debit':
      return { do: 'acquirer-debit', amount: amountOf(v) };
    case 'reader':
    case 'printer':
      return { do: kind, action: deviceAction(v, kind) };
    case 'card':
      return { do: 'card', name: cardOf(v) };
    case 'wait': {
      if (v.isScalar) {
        const m = /^(\d{1,6})\s*(ms|s)$/.exec(v.str());
        if (!m) v.fail('a time ("500 ms", "2 s") or {until: receipts-printed | reversals-cleared, timeout: "10 s"}');
        return { do: 'wait', ms: Number(m[1]) * (m[2] === 's' ? 1000 : 1), timeoutMs: 0 };
      }
      const m = v.map(['until', 'timeout']);
      const until = m.need('until').str(/^(receipts-printed|reversals-cleared)$/, 'receipts-printed (no receipt pending) or reversals-cleared (none owed)');
      const t = m.get('timeout');
      const tm = t ? /^(\d{1,6})\s*(ms|s)$/.exec(t.str()) : null;
      if (t && !tm) t.fail('a time, e.g. "10 s"');
      return { do: 'wait', until: until as 'receipts-printed' | 'reversals-cleared', timeoutMs: tm ? Number(tm[1]) * (tm[2] === 's' ? 1000 : 1) : 15_000 };
    }
    case 'flash':
      return flashStep(v);
    case 'tamper-ledger':
      return { do: 'tamper-ledger', deleteReversalOf: labelRef(v.map(['delete-reversal-of']).need('delete-reversal-of')) };
    case 'check':
      return { do: 'check', checks: checks(v) };
  }
}

function bundleSource(n: YNode): FlashBundleSpec['source'] {
  const s = n.str();
  if (s === 'build') return 'build';
  const dir = path.resolve(path.dirname(path.resolve(n.file)), s);
  for (const f of ['firmware.img', 'manifest.json']) if (!fs.existsSync(path.join(dir, f))) n.fail(`"build" (this checkout's firmware) or a bundle directory holding firmware.img and manifest.json; ${path.join(dir, f)} does not exist`);
  return { dir };
}

function flashStep(v: YNode): StepAction {
  if (!v.isMap) return { do: 'flash', bundle: { source: bundleSource(v) }, allowDowngrade: false };
  const m = v.map(['bundle', 'signed-by', 'version', 'allow-downgrade', 'power-cut', 'refused']);
  const bundle: FlashBundleSpec = { source: bundleSource(m.need('bundle')) };
  const signedBy = m.get('signed-by');
  const version = m.get('version');
  for (const variant of [signedBy, version]) if (variant && bundle.source !== 'build') variant.fail('only "bundle: build" can be re-signed by the bench; a bundle directory is sent as it is');
  if (signedBy) bundle.signedBy = signedBy.str(/^untrusted-key$/, 'untrusted-key (a key the terminal does not trust: the flash must be refused)') as 'untrusted-key';
  if (version) bundle.version = version.str(/^\d{1,4}\.\d{1,4}\.\d{1,4}$/, 'a version MAJOR.MINOR.PATCH the bench writes into the manifest it re-signs');
  const cut = m.get('power-cut');
  const refused = m.get('refused');
  if (cut && refused) cut.fail('a flash is either refused or cut by the power relay, not both');
  const out: Extract<StepAction, { do: 'flash' }> = { do: 'flash', bundle, allowDowngrade: m.get('allow-downgrade')?.bool() ?? false };
  if (cut) out.cut = cut.str(/^mid-upload$/, 'mid-upload (the power goes off once the terminal has made part of the upload durable)') as 'mid-upload';
  if (refused) {
    const word = refused.str();
    if (!(word in FLASH_REFUSALS)) refused.fail(`one of ${Object.keys(FLASH_REFUSALS).join(', ')}`);
    out.refused = word as FlashRefusal;
  }
  return out;
}

/** Money operations whose answer is what the cashier is told (and `expect:` may judge), and the flash's report. */
const ANSWERED = new Set(['sale', 'void', 'refund', 'settle', 'reprint', 'flash']);

function step(n: YNode, labels: Set<string>): Step {
  const m = n.map([...ACTIONS, ...COMMON]);
  const kinds = m.keys().filter((k) => (ACTIONS as readonly string[]).includes(k)) as Array<(typeof ACTIONS)[number]>;
  if (kinds.length !== 1) n.fail(kinds.length === 0 ? `a step needs one action: ${ACTIONS.join(', ')}` : `one action per step, found ${kinds.join(' and ')}`);
  const kind = kinds[0]!;
  const a = action(kind, m.need(kind));
  const s: Step = { ...a, line: m.need(kind).line };
  for (const ref of [(a as { of?: string }).of, (a as { deleteReversalOf?: string }).deleteReversalOf, a.do === 'check' ? (a.checks.lookup?.of ?? a.checks.ledger?.of) : undefined]) {
    if (ref !== undefined && ref !== 'last' && ref !== 'settlement' && !labels.has(ref)) m.need(kind).fail(`"${ref}" is not the label of an earlier step (as: ${ref})`);
  }
  const as = m.get('as');
  if (as) {
    if (kind !== 'sale' && kind !== 'void' && kind !== 'refund') as.fail('only a sale, void or refund can be labelled');
    const label = as.str(LABEL, 'lower case, digits and dashes, starting with a letter');
    if (labels.has(label)) as.fail(`label "${label}" is used twice`);
    labels.add(label);
    s.as = label;
  }
  const title = m.get('title');
  if (title) s.title = title.str();
  const ex = m.get('expect');
  if (ex) {
    if (!ANSWERED.has(kind)) ex.fail(`expect: judges an answer; ${kind} has none (use a check step)`);
    if (a.do === 'sale' && a.cut) ex.fail('a sale cut by the power relay has no answer to judge');
    if (a.do === 'flash' && (a.cut || a.refused)) ex.fail(`a flash ${a.cut ? 'cut by the power relay' : 'that must be refused'} has no report to judge`);
    s.expect = fieldExpect(ex);
  }
  return s;
}

export function parseScenario(root: YNode): Scenario {
  const m = root.map(['name', 'story', 'steps']);
  const labels = new Set<string>();
  const steps = m.need('steps').items().map((n) => step(n, labels));
  if (steps.length === 0) m.need('steps').fail('a scenario needs at least one step');
  const name = m.get('name')?.str(/^[a-z0-9][a-z0-9-]{0,63}$/, 'lower case, digits and dashes') ?? path.basename(root.file).replace(/\.ya?ml$/, '');
  return { name, file: root.file, story: m.get('story')?.str() ?? '', steps };
}

export function loadScenario(file: string): Scenario {
  return parseScenario(readYamlFile(file));
}
