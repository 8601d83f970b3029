// The card reader driver: wait for a card, read it, take an online PIN, and finish a chip transaction with
// the second GENERATE AC. Commands go over the frame link; each carries an id, and the same command is sent
// again with the same id after a response timeout or when the serial line comes back, so the reader can
// answer a repeat from its cache instead of acting twice. The full PAN, expiry, track 2 and PIN block only
// ever leave this module inside a Secret, and nothing here logs a payload.
//
// Failing fast where nothing is at stake yet: a command before the card is read (STATUS, WAIT_CARD, READ,
// PIN) that the reader does not even acknowledge fails at once with READER_UNAVAILABLE (about
// ackTimeoutMs × maxTries), and a wait for a card fails when the line drops. GEN_AC2, after the host
// answered, keeps resending (same id) through a reconnect for all its tries: a completed card beats a
// reversal. A reader that acknowledges but never answers is READER_NO_RESPONSE ("unresponsive"), never
// "no card".
import type { ByteLink, LinkHealth } from '../../../protocol/io/byte-link.js';
import type { Clock, TimerHandle } from '../../../protocol/io/clock.js';
import { silentLog, type DeviceLog } from '../../../protocol/io/device-log.js';
import { luhnValid, maskPan } from '../../pci/card-data.js';
import { FrameLink, FrameLinkClosedError, FrameNotAckedError, type FrameLinkCounters } from '../../../protocol/serial/frame-link.js';
import {
  decodeReaderResponse,
  encodeReaderMessage,
  type EntryMode,
  type ReaderCommand,
  type ReaderResponse,
} from '../../../protocol/reader/reader-messages.js';
import { TlvError, encodeTlv, findTag, parseTlv, type TlvNode } from '../../../protocol/emv/tlv.js';
import { Secret } from './secret.js';
import { ReaderError } from './reader-errors.js';
import { cardDecision, cardholderVerification, splitSensitive, type CardDecision, type CardholderVerification } from './emv-data.js';

export interface CardReaderOptions {
  link: ByteLink;
  clock: Clock;
  log?: DeviceLog;
  /** Frame-level ACK timeout and tries (see SERIAL_FRAMES.md, link layer). */
  ackTimeoutMs?: number;
  maxTries?: number;
  /** How long READ, GEN_AC2, STATUS and CANCEL may take before the command is sent again. */
  responseTimeoutMs?: number;
  /** How long the cardholder has to enter the PIN. */
  pinTimeoutMs?: number;
  /** Sends of one command (same id) before the driver gives up. */
  commandTries?: number;
}

export type WaitForCardResult = { kind: 'card'; entryMode: EntryMode } | { kind: 'timeout' } | { kind: 'cancelled' };

/** ISO 8583 POS entry mode (DE22 positions 1-2) for each way a card is read. */
export const POS_ENTRY_MODE: Record<EntryMode, string> = { magstripe: '90', chip: '05', contactless: '07' };

export interface CardRead {
  entryMode: EntryMode;
  posEntryMode: string;
  /** First 6 / last 4: what receipts, logs and the journal may hold. */
  maskedPan: string;
  /** Memory only, for the online request. */
  pan: Secret<string>;
  /** YYMM; memory only, for the online request. */
  expiry: Secret<string>;
  /** Track 2 equivalent ('D' separator); memory only, for DE35. */
  track2?: Secret<string>;
  panSeq?: string;
  /** EMV data without the PAN/track tags (SENSITIVE_EMV_TAGS), safe for DE55 and the journal. */
  emv: TlvNode[];
  emvData: Buffer;
  /** What the card asks for: online PIN (CVM results 9F34, or the magstripe service code), or not. */
  cvm: CardholderVerification;
}

/** The PIN pad's answer: the encrypted block (memory only), bypass, or no PIN at all (cancelled, timed out). */
export type OnlinePinResult = { kind: 'pin'; pinBlock: Secret<Buffer> } | { kind: 'bypassed' } | { kind: 'cancelled' } | { kind: 'timeout' };

export interface ChipCompletion {
  decision: CardDecision;
  /**
   * Set when the host approved but the card did not produce a TC: the sale failed at the card, the
   * cardholder was debited, and the engine must reverse with reason 06.
   */
  reversalReason?: '06';
  emv: TlvNode[];
  emvData: Buffer;
}

export interface CardReaderHealth {
  link: LinkHealth;
  frames: FrameLinkCounters;
  /** Responses that were not valid reader messages. */
  badMessages: number;
  /** Responses to commands no longer waited for (late, or repeated after a resend). */
  staleResponses: number;
  /** Commands sent again after a response timeout or a reconnect. */
  commandResends: number;
  lastError?: string;
}

interface ExchangeOptions {
  timeoutMs: number;
  tries: number;
  signal?: AbortSignal;
  /** Receives the command id before the first send. */
  sent?: { id?: number };
  failFast?: boolean;
  failOnLinkLoss?: boolean;
}

type CommandBody = ReaderCommand extends infer C ? (C extends { id: number } ? Omit<C, 'id'> : never) : never;

const EXPECTED: Record<ReaderCommand['type'], ReaderResponse['type'][]> = {
  WAIT_CARD: ['CARD', 'NO_CARD'],
  CANCEL: ['CANCELLED'],
  READ: ['CARD_DATA'],
  PIN: ['PIN_BLOCK', 'PIN_BYPASS', 'PIN_CANCELLED'],
  GEN_AC2: ['AC2'],
  STATUS: ['STATUS_OK'],
};

const HOST_APPROVED_ARC = new Set(['00', '10', '11']);

const MAX_COMMAND_ID = 2 ** 31 - 1;
/** Ids a driver may use per millisecond since the epoch before it could reach a later start's ids. */
const IDS_PER_MS = 64;

/**
 * Where a driver's command ids start. The reader answers a known id from its cache, so ids must not repeat
 * across terminal restarts: starting from the clock (64 ids per ms, wrapping every ~9 h) keeps a new boot's
 * ids clear of the last boot's answers without any stored counter.
 */
export function firstCommandId(nowMs: number): number {
  return 1 + ((Math.floor(nowMs) * IDS_PER_MS) % (MAX_COMMAND_ID - 1_000_000));
}

export class CardReader {
  private readonly link: ByteLink;
  private readonly clock: Clock;
  private readonly log: DeviceLog;
  private readonly frames: FrameLink;
  private readonly responseTimeoutMs: number;
  private readonly pinTimeoutMs: number;
  private readonly commandTries: number;
  private readonly pending = new Map<number, (r: ReaderResponse) => void>();
  private readonly closers = new Set<() => void>();
  private nextId: number;
  private badMessages = 0;
  private staleResponses = 0;
  private commandResends = 0;
  private lastError: string | undefined;
  private closed = false;

  constructor(opts: CardReaderOptions) {
    this.link = opts.link;
    this.clock = opts.clock;
    this.log = opts.log ?? silentLog;
    this.responseTimeoutMs = opts.responseTimeoutMs ?? 3000;
    this.pinTimeoutMs = opts.pinTimeoutMs ?? 60_000;
    this.commandTries = opts.commandTries ?? 3;
    this.nextId = firstCommandId(this.clock.now());
    const frameOpts: ConstructorParameters<typeof FrameLink>[1] = { clock: this.clock, name: `card reader ${this.link.path}`, log: this.log };
    if (opts.ackTimeoutMs !== undefined) frameOpts.ackTimeoutMs = opts.ackTimeoutMs;
    if (opts.maxTries !== undefined) frameOpts.maxTries = opts.maxTries;
    this.frames = new FrameLink(this.link, frameOpts);
    this.frames.onMessage((m) => this.onMessage(m.type, m.payload));
  }

  /**
   * Asks the reader to wait for a card. Resolves `timeout` after timeoutMs and `cancelled` when the signal
   * aborts (the reader is told CANCEL in both cases).
   */
  async waitForCard(opts: { timeoutMs: number; modes?: EntryMode[]; signal?: AbortSignal }): Promise<WaitForCardResult> {
    const modes = opts.modes ?? ['magstripe', 'chip', 'contactless'];
    // A reader that ACKs but does not answer would otherwise look like "no card" for the whole card timeout.
    const probe = await this.exchange({ type: 'STATUS' }, { timeoutMs: this.responseTimeoutMs, tries: 1, failFast: true, signal: opts.signal });
    if (probe === 'aborted') return { kind: 'cancelled' };
    if (probe === 'timeout') throw this.unresponsive('STATUS', `did not answer STATUS within ${this.responseTimeoutMs} ms before the card wait`);
    const sent: { id?: number } = {};
    const r = await this.exchange(
      { type: 'WAIT_CARD', timeoutMs: opts.timeoutMs, modes },
      { timeoutMs: opts.timeoutMs, tries: 1, failFast: true, failOnLinkLoss: true, sent, ...(opts.signal ? { signal: opts.signal } : {}) },
    );
    if (r === 'timeout' || r === 'aborted') {
      const confirmed = await this.cancel(sent.id!);
      // Neither NO_CARD at the end of its own wait nor CANCELLED: the reader is not answering at all.
      if (r === 'timeout' && !confirmed) throw this.unresponsive('WAIT_CARD', `answered neither WAIT_CARD (no NO_CARD after ${opts.timeoutMs} ms) nor CANCEL`);
      return { kind: r === 'timeout' ? 'timeout' : 'cancelled' };
    }
    if (r.type === 'NO_CARD') return { kind: 'timeout' };
    if (r.type !== 'CARD') throw this.unexpected('WAIT_CARD', r);
    this.log.info(`card reader ${this.link.path}: ${r.entryMode} card presented`);
    return { kind: 'card', entryMode: r.entryMode };
  }

  /** Reads the presented card. */
  async readCard(opts: { amount: number; currency: string }): Promise<CardRead> {
    const r = await this.call({ type: 'READ', amount: opts.amount, currency: opts.currency }, this.responseTimeoutMs, { failFast: true });
    if (r.type !== 'CARD_DATA') throw this.unexpected('READ', r);
    if (!luhnValid(r.pan)) throw this.bad('READ', 'card data PAN fails the Luhn check');
    let nodes: TlvNode[] = [];
    if (r.emv !== undefined) nodes = this.parseEmv('READ', r.emv);
    else if (r.entryMode !== 'magstripe') throw this.bad('READ', `${r.entryMode} read without EMV data`);
    const { safe, sensitive } = splitSensitive(nodes);
    const panTag = sensitive.get('5A');
    if (panTag && panTag.toString('hex').toUpperCase().replace(/F+$/, '') !== r.pan) {
      throw this.bad('READ', 'PAN in EMV tag 5A differs from the PAN the reader reported');
    }
    const track2Tag = sensitive.get('57');
    const track2 = r.track2 ?? (track2Tag ? track2Tag.toString('hex').toUpperCase().replace(/F$/, '') : undefined);
    // The PAN/track copies parsed out of the EMV data are not needed past this point.
    for (const v of sensitive.values()) v.fill(0);
    sensitive.clear();
    const read: CardRead = {
      entryMode: r.entryMode,
      posEntryMode: POS_ENTRY_MODE[r.entryMode],
      maskedPan: maskPan(r.pan),
      pan: new Secret(r.pan),
      expiry: new Secret(r.expiry),
      emv: safe,
      emvData: encodeTlv(safe),
      cvm: cardholderVerification(safe, track2),
    };
    if (track2 !== undefined) read.track2 = new Secret(track2);
    if (r.panSeq !== undefined) read.panSeq = r.panSeq;
    this.log.info(`card reader ${this.link.path}: read ${read.maskedPan} by ${r.entryMode}`);
    return read;
  }

  /**
   * Online PIN entry on the reader's PIN pad. `pinKey` is the PIN key under the TMK with its check value
   * (field 62 of the 0810, first 20 bytes): the pad unwraps it, so the terminal never holds it in clear.
   * The encrypted PIN block stays in memory. Sent once: a PIN command sent again would start a second
   * entry on the pad, so a pad that stays silent past the entry time is READER_NO_RESPONSE.
   */
  async requestOnlinePin(opts: { amount: number; currency: string; pinKey: Buffer; timeoutMs?: number }): Promise<OnlinePinResult> {
    const timeoutMs = opts.timeoutMs ?? this.pinTimeoutMs;
    const cmd: CommandBody = { type: 'PIN', amount: opts.amount, currency: opts.currency, timeoutMs, pinKey: opts.pinKey.toString('hex').toUpperCase() };
    const r = await this.exchange(cmd, { timeoutMs: timeoutMs + this.responseTimeoutMs, tries: 1, failFast: true });
    if (r === 'timeout' || r === 'aborted') throw this.unresponsive('PIN', `no answer to PIN within ${timeoutMs + this.responseTimeoutMs} ms`);
    if (r.type === 'PIN_BYPASS') return { kind: 'bypassed' };
    if (r.type === 'PIN_CANCELLED') return { kind: r.reason };
    if (r.type !== 'PIN_BLOCK') throw this.unexpected('PIN', r);
    return { kind: 'pin', pinBlock: new Secret(Buffer.from(r.pinBlock, 'hex')) };
  }

  /**
   * Second GENERATE AC with the host's answer. If this throws (reader gone, no answer, card removed) the
   * card's decision is unknown: an approved authorization must then be reversed like a card decline.
   */
  async completeChip(opts: { arc: string; issuerAuth?: Buffer }): Promise<ChipCompletion> {
    const cmd: CommandBody = { type: 'GEN_AC2', arc: opts.arc };
    if (opts.issuerAuth) cmd.issuerAuth = opts.issuerAuth.toString('hex').toUpperCase();
    const r = await this.call(cmd, this.responseTimeoutMs);
    if (r.type !== 'AC2') throw this.unexpected('GEN_AC2', r);
    const nodes = this.parseEmv('GEN_AC2', r.emv);
    const cid = findTag(nodes, '9F27');
    if (!cid || cid.value.length !== 1) throw this.bad('GEN_AC2', 'second GENERATE AC answer has no 1-byte 9F27 (CID)');
    const decision = cardDecision(cid.value[0]!);
    const { safe } = splitSensitive(nodes);
    const out: ChipCompletion = { decision, emv: safe, emvData: encodeTlv(safe) };
    if (HOST_APPROVED_ARC.has(opts.arc) && decision !== 'TC') {
      out.reversalReason = '06';
      this.log.warn(`card reader ${this.link.path}: host approved (ARC ${opts.arc}) but the card answered ${decision}; reversal reason 06`);
    }
    return out;
  }

  async status(): Promise<Extract<ReaderResponse, { type: 'STATUS_OK' }>> {
    const r = await this.call({ type: 'STATUS' }, this.responseTimeoutMs, { failFast: true });
    if (r.type !== 'STATUS_OK') throw this.unexpected('STATUS', r);
    return r;
  }

  health(): CardReaderHealth {
    const h: CardReaderHealth = {
      link: this.link.health(),
      frames: this.frames.counters(),
      badMessages: this.badMessages,
      staleResponses: this.staleResponses,
      commandResends: this.commandResends,
    };
    if (this.lastError !== undefined) h.lastError = this.lastError;
    return h;
  }

  /** Stops the driver (not the ByteLink); commands in progress fail with READER_CLOSED. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const c of [...this.closers]) c();
    this.frames.close();
  }

  /** Tells the reader to stop waiting; true when it confirmed (CANCELLED). */
  private async cancel(target: number): Promise<boolean> {
    const r = await this.exchange({ type: 'CANCEL', target }, { timeoutMs: this.responseTimeoutMs, tries: 1 }).catch((err: Error) => err);
    if (r instanceof Error || typeof r === 'string') {
      this.log.warn(`card reader ${this.link.path}: CANCEL of command ${target} not confirmed (${r instanceof Error ? r.message : r})`);
      return false;
    }
    return true;
  }

  /** A command that must get its response: timeouts and ERROR answers become ReaderErrors. */
  private async call(cmd: CommandBody, timeoutMs: number, o: { failFast?: boolean } = {}): Promise<ReaderResponse> {
    const r = await this.exchange(cmd, { timeoutMs, tries: this.commandTries, failFast: o.failFast ?? false });
    if (r === 'timeout' || r === 'aborted') throw this.unresponsive(cmd.type, `no answer to ${cmd.type} after ${this.commandTries} tries`);
    return r;
  }

  /** The reader takes commands (ACKs them) but does not answer: distinct from "no card" and "line down". */
  private unresponsive(command: string, what: string): ReaderError {
    return this.fail(new ReaderError('READER_NO_RESPONSE', `card reader ${this.link.path} is unresponsive: ${what}`, command));
  }

  /**
   * Sends `cmd` and waits for the response with its id. Sends again (same id) after each timeout up to
   * `tries`, and at once whenever the serial line reopens while waiting. `failFast`: a command the reader
   * never acknowledged fails at once with READER_UNAVAILABLE instead of waiting out the response timeout.
   * `failOnLinkLoss`: the line dropping fails the command at once.
   */
  private exchange(cmd: CommandBody, o: ExchangeOptions): Promise<ReaderResponse | 'timeout' | 'aborted'> {
    if (this.closed) return Promise.reject(new ReaderError('READER_CLOSED', 'card reader driver is closed', cmd.type));
    const { timeoutMs, tries, signal, sent } = o;
    const id = this.nextId;
    this.nextId = this.nextId >= MAX_COMMAND_ID ? 1 : this.nextId + 1;
    if (sent) sent.id = id;
    const { type, payload } = encodeReaderMessage({ ...cmd, id } as ReaderCommand);
    const path = this.link.path;
    return new Promise((resolve, reject) => {
      let attempts = 0;
      let undelivered: Error | undefined;
      /** Sends of this command still in the frame link (a reconnect may queue a second). */
      let sending = 0;
      let timer: TimerHandle | undefined;
      let done = false;
      const unavailable = (why: string, cause?: Error) =>
        this.fail(new ReaderError('READER_UNAVAILABLE', `card reader ${path}: ${type} ${why}`, type, undefined, cause ? { cause } : undefined));
      const finish = (settle: () => void) => {
        if (done) return;
        done = true;
        timer?.cancel();
        offState();
        this.pending.delete(id);
        this.closers.delete(onClose);
        signal?.removeEventListener('abort', onAbort);
        settle();
      };
      const transmit = () => {
        undelivered = undefined;
        sending++;
        this.frames.send(type, payload).then(
          () => sending--,
          (err: Error) => {
            sending--;
            if (err instanceof FrameLinkClosedError) return;
            undelivered = err;
            const why = err instanceof FrameNotAckedError ? `not acknowledged after ${err.tries} tries` : err.message;
            if (o.failFast && sending === 0) finish(() => reject(unavailable(`could not be delivered (${why})`, err)));
          },
        );
      };
      const attempt = () => {
        attempts++;
        timer = this.clock.setTimer(timeoutMs, onTimeout);
        transmit();
      };
      const onTimeout = () => {
        if (attempts < tries) {
          this.commandResends++;
          this.log.warn(`card reader ${path}: no answer to ${type} #${id} in ${timeoutMs} ms; sending it again`);
          attempt();
          return;
        }
        const lost = undelivered;
        if (lost) finish(() => reject(unavailable(`could not be delivered (${lost.message})`, lost)));
        else finish(() => resolve('timeout'));
      };
      const onAbort = () => finish(() => resolve('aborted'));
      const onClose = () => finish(() => reject(new ReaderError('READER_CLOSED', 'card reader driver is closed', type)));
      const offState = this.link.onState((h) => {
        if (done) return;
        if (h.state !== 'open') {
          if (o.failOnLinkLoss) finish(() => reject(unavailable(`abandoned: the serial line went ${h.state}${h.lastError ? ` (${h.lastError})` : ''}`)));
          return;
        }
        this.commandResends++;
        this.log.info(`card reader ${path}: line is back; sending ${type} #${id} again`);
        transmit();
      });
      this.pending.set(id, (r) => {
        if (!EXPECTED[cmd.type].includes(r.type) && r.type !== 'ERROR') {
          finish(() => reject(this.unexpected(cmd.type, r)));
          return;
        }
        if (r.type === 'ERROR') {
          finish(() => reject(this.fail(new ReaderError('READER_REPORTED_ERROR', `card reader ${path}: ${type} failed: ${r.code} ${r.message}`, type, r.code))));
          return;
        }
        finish(() => resolve(r));
      });
      this.closers.add(onClose);
      if (signal?.aborted) {
        finish(() => resolve('aborted'));
        return;
      }
      signal?.addEventListener('abort', onAbort);
      attempt();
    });
  }

  private onMessage(type: string, payload: Buffer): void {
    let r: ReaderResponse;
    try {
      r = decodeReaderResponse(type, payload);
    } catch (err) {
      this.badMessages++;
      // The error names the type and field only; the payload may hold card data and is never logged.
      this.log.warn(`card reader ${this.link.path}: ignored a bad ${type} message (${(err as Error).message})`);
      return;
    }
    const waiter = this.pending.get(r.id);
    if (!waiter) {
      this.staleResponses++;
      this.log.info(`card reader ${this.link.path}: ignored ${r.type} for command #${r.id}, which is no longer waiting`);
      return;
    }
    waiter(r);
  }

  private parseEmv(command: string, hex: string): TlvNode[] {
    try {
      return parseTlv(Buffer.from(hex, 'hex'));
    } catch (err) {
      if (err instanceof TlvError) throw this.bad(command, `EMV data: ${err.message}`, err);
      throw err;
    }
  }

  private unexpected(command: string, r: ReaderResponse): ReaderError {
    return this.bad(command, `unexpected answer ${r.type}`);
  }

  private bad(command: string, what: string, cause?: unknown): ReaderError {
    return this.fail(new ReaderError('READER_BAD_DATA', `card reader ${this.link.path}: ${command}: ${what}`, command, undefined, { cause }));
  }

  private fail(err: ReaderError): ReaderError {
    this.lastError = err.message;
    this.log.warn(err.message);
    return err;
  }
}
