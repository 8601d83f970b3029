// The card reader's messages, carried as JSON (UTF-8) in the payload of serial line frames. Spec:
// protocol/SERIAL_FRAMES.md, "Card reader commands". Both the driver and the simulator decode with the
// strict checks here: a message that does not match its shape is a ReaderMessageError, never a guess.

export type EntryMode = 'magstripe' | 'chip' | 'contactless';
export const ENTRY_MODES: readonly EntryMode[] = ['magstripe', 'chip', 'contactless'];
export type PinCancelReason = 'cancelled' | 'timeout';
const PIN_CANCEL_REASONS: readonly PinCancelReason[] = ['cancelled', 'timeout'];

/** Terminal → reader. `id` is chosen by the terminal; a repeated id is the same command sent again. */
export type ReaderCommand =
  | { type: 'WAIT_CARD'; id: number; timeoutMs: number; modes: EntryMode[] }
  | { type: 'CANCEL'; id: number; target: number }
  | { type: 'READ'; id: number; amount: number; currency: string }
  /** `pinKey`: the PIN key (PIK) as sign-on delivered it, under the TMK, with its check value (20 bytes hex). */
  | { type: 'PIN'; id: number; amount: number; currency: string; timeoutMs: number; pinKey: string }
  | { type: 'GEN_AC2'; id: number; arc: string; issuerAuth?: string }
  | { type: 'STATUS'; id: number };

/** Reader → terminal; `id` is the id of the command answered. */
export type ReaderResponse =
  | { type: 'CARD'; id: number; entryMode: EntryMode }
  | { type: 'NO_CARD'; id: number }
  | { type: 'CANCELLED'; id: number; target: number }
  | { type: 'CARD_DATA'; id: number; entryMode: EntryMode; pan: string; expiry: string; track2?: string; panSeq?: string; emv?: string }
  | { type: 'PIN_BLOCK'; id: number; pinBlock: string; ksn?: string }
  | { type: 'PIN_BYPASS'; id: number }
  /** No PIN: the cardholder pressed cancel, or let the pad's entry time run out. Nothing was formed. */
  | { type: 'PIN_CANCELLED'; id: number; reason: PinCancelReason }
  | { type: 'AC2'; id: number; emv: string }
  | { type: 'STATUS_OK'; id: number; model: string; firmware: string; cardPresent: boolean }
  | { type: 'ERROR'; id: number; code: string; message: string };

export const COMMAND_TYPES = ['WAIT_CARD', 'CANCEL', 'READ', 'PIN', 'GEN_AC2', 'STATUS'] as const;
export const RESPONSE_TYPES = ['CARD', 'NO_CARD', 'CANCELLED', 'CARD_DATA', 'PIN_BLOCK', 'PIN_BYPASS', 'PIN_CANCELLED', 'AC2', 'STATUS_OK', 'ERROR'] as const;

export class ReaderMessageError extends Error {
  readonly code = 'READER_BAD_MESSAGE';
  constructor(readonly messageType: string, readonly field: string, detail: string) {
    super(`${messageType}: field ${field}: ${detail}`);
    this.name = 'ReaderMessageError';
  }
}

type Check = (v: unknown) => string | null;
const int = (min: number, max: number): Check => (v) =>
  Number.isInteger(v) && (v as number) >= min && (v as number) <= max ? null : `expected an integer ${min}..${max}`;
const text = (re: RegExp): Check => (v) => (typeof v === 'string' && re.test(v) ? null : `expected a string matching ${re}`);
const bool: Check = (v) => (typeof v === 'boolean' ? null : 'expected true or false');
const modes: Check = (v) =>
  Array.isArray(v) && v.length > 0 && v.length <= 3 && v.every((m) => ENTRY_MODES.includes(m as EntryMode)) ? null : `expected a non-empty list of ${ENTRY_MODES.join(', ')}`;
const entryMode: Check = (v) => (ENTRY_MODES.includes(v as EntryMode) ? null : `expected one of ${ENTRY_MODES.join(', ')}`);

const ID = int(1, 2 ** 31 - 1);
const HEX = (maxBytes: number) => text(new RegExp(`^([0-9A-F]{2}){0,${maxBytes}}$`));
const HEX_EXACTLY = (bytes: number) => text(new RegExp(`^([0-9A-F]{2}){${bytes}}$`));
const AMOUNT = int(0, 999_999_999_999);
const CURRENCY = text(/^\d{3}$/);

interface FieldSpec {
  [field: string]: [Check, 'required' | 'optional'];
}

const SHAPES: Record<string, FieldSpec> = {
  WAIT_CARD: { id: [ID, 'required'], timeoutMs: [int(1, 600_000), 'required'], modes: [modes, 'required'] },
  CANCEL: { id: [ID, 'required'], target: [ID, 'required'] },
  READ: { id: [ID, 'required'], amount: [AMOUNT, 'required'], currency: [CURRENCY, 'required'] },
  PIN: { id: [ID, 'required'], amount: [AMOUNT, 'required'], currency: [CURRENCY, 'required'], timeoutMs: [int(1_000, 300_000), 'required'], pinKey: [HEX_EXACTLY(20), 'required'] },
  GEN_AC2: { id: [ID, 'required'], arc: [text(/^[0-9A-Z]{2}$/), 'required'], issuerAuth: [HEX(16), 'optional'] },
  STATUS: { id: [ID, 'required'] },
  CARD: { id: [ID, 'required'], entryMode: [entryMode, 'required'] },
  NO_CARD: { id: [ID, 'required'] },
  CANCELLED: { id: [ID, 'required'], target: [ID, 'required'] },
  CARD_DATA: {
    id: [ID, 'required'],
    entryMode: [entryMode, 'required'],
    pan: [text(/^\d{12,19}$/), 'required'],
    expiry: [text(/^\d{2}(0[1-9]|1[0-2])$/), 'required'],
    track2: [text(/^\d{12,19}[=D]\d{4}[0-9A-F]{0,18}$/), 'optional'],
    panSeq: [text(/^\d{2}$/), 'optional'],
    emv: [HEX(512), 'optional'],
  },
  PIN_BLOCK: { id: [ID, 'required'], pinBlock: [HEX_EXACTLY(8), 'required'], ksn: [HEX_EXACTLY(10), 'optional'] },
  PIN_BYPASS: { id: [ID, 'required'] },
  PIN_CANCELLED: { id: [ID, 'required'], reason: [(v) => (PIN_CANCEL_REASONS.includes(v as PinCancelReason) ? null : `expected one of ${PIN_CANCEL_REASONS.join(', ')}`), 'required'] },
  AC2: { id: [ID, 'required'], emv: [HEX(512), 'required'] },
  STATUS_OK: { id: [ID, 'required'], model: [text(/^.{1,40}$/), 'required'], firmware: [text(/^.{1,40}$/), 'required'], cardPresent: [bool, 'required'] },
  ERROR: { id: [ID, 'required'], code: [text(/^[A-Z0-9_]{1,32}$/), 'required'], message: [text(/^.{0,200}$/), 'required'] },
};

/** The frame payload for a message (its `type` travels as the frame type, not in the JSON). */
export function encodeReaderMessage(msg: ReaderCommand | ReaderResponse): { type: string; payload: Buffer } {
  const { type, ...body } = msg;
  checkShape(type, body);
  return { type, payload: Buffer.from(JSON.stringify(body), 'utf8') };
}

function decode<T>(allowed: readonly string[], type: string, payload: Buffer): T {
  if (!allowed.includes(type)) throw new ReaderMessageError(type, '(type)', `not one of ${allowed.join(', ')}`);
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch {
    // JSON.parse messages quote the input, which may hold card data: say only what kind of failure it was.
    throw new ReaderMessageError(type, '(payload)', 'not UTF-8 JSON');
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new ReaderMessageError(type, '(payload)', 'not a JSON object');
  checkShape(type, body as Record<string, unknown>);
  return { type, ...(body as object) } as T;
}

export const decodeReaderCommand = (type: string, payload: Buffer) => decode<ReaderCommand>(COMMAND_TYPES, type, payload);
export const decodeReaderResponse = (type: string, payload: Buffer) => decode<ReaderResponse>(RESPONSE_TYPES, type, payload);

// Own properties only: `key in shape` would take toString, constructor, __proto__ and the other names
// Object.prototype lends every object as fields of every message.
function checkShape(type: string, body: Record<string, unknown>): void {
  const shape = Object.hasOwn(SHAPES, type) ? SHAPES[type] : undefined;
  if (!shape) throw new ReaderMessageError(type, '(type)', 'unknown message type');
  for (const key of Object.keys(body)) {
    if (!Object.hasOwn(shape, key)) throw new ReaderMessageError(type, key, 'unknown field');
  }
  for (const [field, [check, need]] of Object.entries(shape)) {
    const v = Object.hasOwn(body, field) ? body[field] : undefined;
    if (v === undefined) {
      if (need === 'required') throw new ReaderMessageError(type, field, 'missing');
      continue;
    }
    const problem = check(v);
    if (problem) throw new ReaderMessageError(type, field, problem);
  }
}
