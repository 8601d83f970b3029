// The simulated acquirer host, independent of any socket: a request frame body goes in, a reply plan
// comes out (frames with delays, a reset, or nothing). The TCP server and an in-memory network both run it.
import { randomBytes } from 'node:crypto';
import type { Clock } from '../../protocol/io/clock.js';
import type { Storage } from '../../firmware-ts/io/storage.js';
import {
  CupContentError,
  decodeCup,
  encodeCup,
  encodeCupWithMac,
  Iso8583DecodeError,
  Iso8583EncodeError,
  isRequestMti,
  replyEnvelope,
  ResponseCode,
  responseMti,
  textField,
  verifyCupMac,
  type CupEnvelope,
  type FieldValue,
  type IsoMessage,
  type SecretKey,
  type WorkingKeys,
} from '../../protocol/iso8583/index.js';
import { authorize, kindOf } from './authorizations.js';
import { DEFAULT_TEST_CARDS, type TestCard } from '../sim/reader-cards.js';
import type { Answer, HostContext } from './host-context.js';
import { Ledger } from './ledger.js';
import { LedgerState } from './ledger-state.js';
import { reverse } from './reversals.js';
import { chooseAction, defaultRules, type RuleAction, type RuleSet } from './rules.js';
import { batchUpload, settle } from './settlement.js';
import { sessionsFromLedger, signOn } from './sign-on.js';

export type HostReply =
  | { kind: 'send'; frames: { body: Buffer; delayMs: number }[] }
  | { kind: 'reset'; delayMs: number }
  | { kind: 'none'; reason: string };

/** One line of the host's log. Never carries card data or keys. */
export interface HostEvent {
  mti: string;
  stan?: string;
  terminalId?: string;
  action: RuleAction['action'] | 'malformed' | 'ignored';
  responseCode?: string;
  detail?: string;
}

export interface AcquirerHostOptions {
  storage: Storage;
  ledgerPath: string;
  /** Terminal master key shared with the terminals (one for all: this is a test host). */
  tmk: SecretKey;
  clock: Clock;
  rules?: RuleSet;
  /** Test cards with PINs (the reader simulator's cards file); the default test cards when absent. */
  cards?: readonly TestCard[];
  random?: (n: number) => Buffer;
  onEvent?: (e: HostEvent) => void;
  /** The 0810 carries the terminal's batch (60.2) and last STAN (61) as this host saw them; default true. */
  signOnCounters?: boolean;
}

/** Echoed from request to response when present. */
const ECHO = [3, 4, 11, 12, 13, 25, 41, 42, 49, 60, 61] as const;

export class AcquirerHost {
  /** Mutable: tests and the CLI may replace rules or the script at any time. */
  rules: RuleSet;
  readonly state: LedgerState;
  private received = 0;
  private readonly sessions: Map<string, WorkingKeys>;
  private readonly ctx: HostContext;

  private constructor(
    private readonly ledger: Ledger,
    private readonly opts: AcquirerHostOptions,
  ) {
    this.rules = opts.rules ?? defaultRules();
    this.state = new LedgerState(ledger.entries);
    this.sessions = sessionsFromLedger(ledger.entries, opts.tmk);
    const pins = new Map((opts.cards ?? DEFAULT_TEST_CARDS).flatMap((c) => (c.pinDigits !== undefined && c.pin !== 'none' ? [[c.pan, { pin: c.pinDigits, required: c.pin === 'online' }] as const] : [])));
    this.ctx = {
      state: this.state,
      record: (body) => {
        const e = this.ledger.append(body, new Date(this.opts.clock.now()));
        this.state.apply(e);
        return e;
      },
      openingBalance: () => this.rules.openingBalance,
      nextSeq: () => this.ledger.entries.length + 1,
      pinKey: (terminalId) => this.sessions.get(terminalId)?.pin,
      cardPin: (pan) => pins.get(pan),
    };
  }

  static open(opts: AcquirerHostOptions): AcquirerHost {
    return new AcquirerHost(Ledger.open(opts.storage, opts.ledgerPath), opts);
  }

  close(): void {
    this.ledger.close();
  }

  /**
   * Handles one frame body: answers it or drops it, for any bytes. Only a LedgerWriteError (the ledger
   * could not make an entry durable) propagates: the host must stop, not answer.
   */
  handle(body: Buffer): HostReply {
    let envelope: CupEnvelope;
    let req: IsoMessage;
    try {
      ({ envelope, message: req } = decodeCup(body));
    } catch (e) {
      if (!(e instanceof Iso8583DecodeError)) throw e;
      this.emit({ mti: '', action: 'malformed', detail: e.message });
      return { kind: 'none', reason: e.message };
    }
    // A response, a notification or MTI 9990 has no response MTI: there is nothing to answer it with.
    if (!isRequestMti(req.mti)) {
      this.emit({ ...this.eventBase(req), action: 'malformed', detail: `MTI ${req.mti} is not a request` });
      return { kind: 'none', reason: `MTI ${req.mti} is not a request` };
    }
    const facts = { mti: req.mti, stan: textField(req, 11), amount: textField(req, 4), terminalId: textField(req, 41) };
    const index = this.received++;
    const action = chooseAction(this.rules, index, facts);
    const terminalId = facts.terminalId ?? '';

    let answer: Answer | undefined;
    let mak: SecretKey | undefined = this.sessions.get(terminalId)?.mac;
    if (req.mti !== '0800' && !(mak && verifyCupMac(body, req, mak))) {
      answer = { code: ResponseCode.macError };
      mak = undefined;
    } else if (action.action === 'decline') {
      answer = { code: action.code ?? ResponseCode.doNotHonour };
    } else {
      answer = this.process(req);
      if (req.mti === '0800' && answer) mak = this.sessions.get(terminalId)?.mac;
    }
    if (!answer) {
      this.emit({ ...this.eventBase(req), action: 'ignored', detail: 'not a request this host answers' });
      return { kind: 'none', reason: `no handler for MTI ${req.mti}` };
    }
    this.emit({ ...this.eventBase(req), action: action.action, responseCode: answer.code });

    let reply: Buffer;
    try {
      reply = this.buildReply(envelope, req, answer, req.mti === '0800' ? undefined : mak, action.action === 'bad-mac');
    } catch (e) {
      // An echoed field the answer cannot carry: drop rather than stop serving.
      if (!(e instanceof Iso8583EncodeError)) throw e;
      this.emit({ ...this.eventBase(req), action: 'malformed', detail: e.message });
      return { kind: 'none', reason: e.message };
    }
    const delayMs = action.delayMs ?? 0;
    switch (action.action) {
      case 'drop-reply':
        return { kind: 'none', reason: 'rule: drop-reply' };
      case 'reset':
        return { kind: 'reset', delayMs };
      case 'duplicate':
        return { kind: 'send', frames: [{ body: reply, delayMs }, { body: reply, delayMs }] };
      default:
        return { kind: 'send', frames: [{ body: reply, delayMs }] };
    }
  }

  private process(req: IsoMessage): Answer | undefined {
    try {
      switch (req.mti) {
        case '0800': {
          const { answer, keys } = signOn(this.ctx, req, this.opts.tmk, this.opts.random ?? randomBytes, this.opts.signOnCounters ?? true);
          this.sessions.set(textField(req, 41) ?? '', keys);
          return answer;
        }
        case '0400':
        case '0401':
          return reverse(this.ctx, req);
        case '0500':
          return settle(this.ctx, req);
        case '0320':
          return batchUpload(this.ctx, req);
        case '0100':
        case '0200':
        case '0220': {
          const kind = kindOf(req);
          return kind ? authorize(this.ctx, req, kind) : { code: ResponseCode.invalidTransaction };
        }
        default:
          return undefined;
      }
    } catch (e) {
      if (e instanceof CupContentError) return { code: ResponseCode.formatError };
      throw e;
    }
  }

  private buildReply(envelope: CupEnvelope, req: IsoMessage, answer: Answer, mak: SecretKey | undefined, badMac: boolean): Buffer {
    const fields = new Map<number, FieldValue>();
    for (const n of ECHO) {
      const v = req.fields.get(n);
      if (v !== undefined) fields.set(n, v);
    }
    for (const [n, v] of Object.entries(answer.fields ?? {})) fields.set(Number(n), v);
    fields.set(39, answer.code);
    const res: IsoMessage = { mti: responseMti(req.mti), fields };
    const env = replyEnvelope(envelope);
    if (!mak && !badMac) return encodeCup(env, res);
    if (!mak) {
      fields.set(64, Buffer.from('BADMAC!!'));
      return encodeCup(env, res);
    }
    const body = encodeCupWithMac(env, res, mak).body;
    if (badMac) body[body.length - 1]! ^= 0x01;
    return body;
  }

  private eventBase(req: IsoMessage): Pick<HostEvent, 'mti' | 'stan' | 'terminalId'> {
    const stan = textField(req, 11);
    const terminalId = textField(req, 41);
    return { mti: req.mti, ...(stan !== undefined ? { stan } : {}), ...(terminalId !== undefined ? { terminalId } : {}) };
  }

  private emit(e: HostEvent): void {
    this.opts.onEvent?.(e);
  }
}
