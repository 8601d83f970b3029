// The simulator's test cards. Only published test PANs are accepted, so a cards file can never put a
// real cardholder's number on a bench log or a screenshot.
import * as fs from 'node:fs';
import { luhnValid } from '../../firmware-ts/pci/card-data.js';
import { ENTRY_MODES, type EntryMode } from '../../protocol/reader/reader-messages.js';

export interface TestCard {
  name: string;
  pan: string;
  /** YYMM */
  expiry: string;
  entryMode: EntryMode;
  /** Application identifier (84) for chip and contactless cards. */
  aid?: string;
  panSeq?: string;
  /** Card verification: online PIN, PIN bypassed by the cardholder, or none asked. */
  pin: 'online' | 'bypass' | 'none';
  /**
   * The PIN the cardholder knows (4-12 digits) and the acquirer simulator checks; required for `online`
   * and `bypass` cards. Test cards only: these are published test PANs with made-up PINs.
   */
  pinDigits?: string;
  /** The chip declines every second GENERATE AC (answers AAC even when the host approved). */
  declinesAc2?: boolean;
}

/** Published scheme/acquirer test numbers (Visa, Mastercard, UnionPay test ranges). */
export const TEST_PANS: ReadonlySet<string> = new Set([
  '4242424242424242',
  '4000056655665556',
  '4761739001010010',
  '5555555555554444',
  '6200000000000005',
  '6212345678901232',
]);

export const DEFAULT_TEST_CARDS: readonly TestCard[] = [
  { name: 'unionpay-chip', pan: '6200000000000005', expiry: '3012', entryMode: 'chip', aid: 'A000000333010101', panSeq: '01', pin: 'online', pinDigits: '123456' },
  { name: 'visa-contactless', pan: '4761739001010010', expiry: '2912', entryMode: 'contactless', aid: 'A0000000031010', panSeq: '01', pin: 'none' },
  { name: 'visa-magstripe', pan: '4242424242424242', expiry: '2808', entryMode: 'magstripe', pin: 'none' },
  { name: 'mastercard-chip-bypass', pan: '5555555555554444', expiry: '3106', entryMode: 'chip', aid: 'A0000000041010', panSeq: '00', pin: 'bypass', pinDigits: '2580' },
  { name: 'unionpay-chip-declines', pan: '6212345678901232', expiry: '3012', entryMode: 'chip', aid: 'A000000333010101', panSeq: '01', pin: 'none', declinesAc2: true },
];

export class CardsFileError extends Error {
  readonly code = 'CARDS_FILE_INVALID';
  constructor(readonly file: string, readonly where: string, detail: string) {
    super(`${file}: ${where}: ${detail}`);
    this.name = 'CardsFileError';
  }
}

const FIELDS = new Set(['name', 'pan', 'expiry', 'entryMode', 'aid', 'panSeq', 'pin', 'pinDigits', 'declinesAc2']);

export function validateCards(value: unknown, file = 'cards'): TestCard[] {
  if (!Array.isArray(value) || value.length === 0) throw new CardsFileError(file, '$', 'expected a non-empty JSON array of cards');
  const names = new Set<string>();
  return value.map((c: unknown, i) => {
    const at = (f: string) => `[${i}].${f}`;
    if (!c || typeof c !== 'object' || Array.isArray(c)) throw new CardsFileError(file, `[${i}]`, 'expected an object');
    const card = c as Record<string, unknown>;
    for (const k of Object.keys(card)) if (!FIELDS.has(k)) throw new CardsFileError(file, at(k), 'unknown field');
    const str = (f: string, re: RegExp) => {
      const v = card[f];
      if (typeof v !== 'string' || !re.test(v)) throw new CardsFileError(file, at(f), `expected a string matching ${re}`);
      return v;
    };
    const name = str('name', /^[a-z0-9-]{1,40}$/);
    if (names.has(name)) throw new CardsFileError(file, at('name'), `duplicate card name ${name}`);
    names.add(name);
    const pan = str('pan', /^\d{12,19}$/);
    if (!luhnValid(pan) || !TEST_PANS.has(pan)) {
      throw new CardsFileError(file, at('pan'), `not one of the known test PANs (${[...TEST_PANS].join(', ')})`);
    }
    const entryMode = str('entryMode', new RegExp(`^(${ENTRY_MODES.join('|')})$`)) as EntryMode;
    const out: TestCard = { name, pan, expiry: str('expiry', /^\d{2}(0[1-9]|1[0-2])$/), entryMode, pin: str('pin', /^(online|bypass|none)$/) as TestCard['pin'] };
    if (card.aid !== undefined) out.aid = str('aid', /^([0-9A-F]{2}){5,16}$/);
    else if (entryMode !== 'magstripe') throw new CardsFileError(file, at('aid'), `a ${entryMode} card needs an AID`);
    if (card.panSeq !== undefined) out.panSeq = str('panSeq', /^\d{2}$/);
    if (card.pinDigits !== undefined) out.pinDigits = str('pinDigits', /^\d{4,12}$/);
    else if (out.pin !== 'none') throw new CardsFileError(file, at('pinDigits'), `a card with pin "${out.pin}" needs its PIN (4-12 digits)`);
    if (card.declinesAc2 !== undefined) {
      if (typeof card.declinesAc2 !== 'boolean') throw new CardsFileError(file, at('declinesAc2'), 'expected true or false');
      out.declinesAc2 = card.declinesAc2;
    }
    return out;
  });
}

export function loadCardsFile(file: string): TestCard[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CardsFileError(file, '$', `cannot read JSON: ${(err as Error).message}`);
  }
  return validateCards(parsed, file);
}
