// A card reader on the far end of a serial line, for benches and tests: it answers the reader commands of
// protocol/SERIAL_FRAMES.md with test cards, remembers each answer by command id (a repeated command gets
// the same answer, never a second card action), and injects faults on command.
import { ReconnectingPort } from '../../firmware-ts/devices/reconnecting-port.js';
import { systemClock, type Clock, type TimerHandle } from '../../protocol/io/clock.js';
import { silentLog, type DeviceLog } from '../../protocol/io/device-log.js';
import type { ByteLink } from '../../protocol/io/byte-link.js';
import { maskPan } from '../../firmware-ts/pci/card-data.js';
import { encryptPinBlock, KeyExchangeError, SecretKey, unwrapPinKey } from '../../protocol/iso8583/index.js';
import { FrameLink, type FrameLinkCounters } from '../../protocol/serial/frame-link.js';
import {
  ReaderMessageError,
  decodeReaderCommand,
  encodeReaderMessage,
  type ReaderCommand,
  type ReaderResponse,
} from '../../protocol/reader/reader-messages.js';
import { DEFAULT_TEST_CARDS, type TestCard } from './reader-cards.js';
import { FaultyByteLink, parseControlLine, type ControlAction, type ReaderFault } from './reader-faults.js';
import { firstAcData, secondAcData, track2Of, type RandomBytes } from './reader-emv.js';
import { notePinBlock } from './pin-block-registry.js';

export interface ReaderSimulatorOptions {
  /** Serial path to attach to (one end of a socat pty pair, or a USB-serial adapter). */
  path: string;
  baudRate?: number;
  cards?: readonly TestCard[];
  /** Card presented at start (name); default the first card. Pass null to start with no card. */
  present?: string | null;
  clock?: Clock;
  log?: DeviceLog;
  /** Opens the line; the default is a ReconnectingPort. Tests may pass an in-memory link. */
  openLink?: () => ByteLink & { start?(): void };
  /** The PIN pad's terminal master key, which unwraps the PIN key a PIN command carries; the test TMK by default. */
  tmk?: SecretKey;
  /** Called with each encrypted PIN block formed (the suite's on-disk scan looks for them; pin-block-scan.ts). */
  onPinBlock?: (block: Buffer) => void;
  /** The chip's cryptograms and unpredictable numbers: the OS's randomness by default; the deterministic simulator passes a seeded stream. */
  random?: RandomBytes;
}

/** The test terminal master key the simulators share (host-bridge/acquirer/README.md). */
const TEST_TMK = '0123456789ABCDEFFEDCBA9876543210';

/** A PIN that is not the card's: the last digit changed. */
const wrongPin = (pin: string) => pin.slice(0, -1) + String((Number(pin.at(-1)) + 1) % 10);

interface Armed {
  fault: ReaderFault;
  on?: ReaderCommand['type'];
}

/** How many answers are kept for repeated commands. */
const ANSWER_CACHE = 32;
const RECEIVED_KEPT = 256;

/** The command an answer sent later (outside the command's handling, e.g. NO_CARD at a timer) belongs to. */
const EXPECTED_BY: Record<ReaderResponse['type'], ReaderCommand['type']> = {
  CARD: 'WAIT_CARD',
  NO_CARD: 'WAIT_CARD',
  CANCELLED: 'CANCEL',
  CARD_DATA: 'READ',
  PIN_BLOCK: 'PIN',
  PIN_BYPASS: 'PIN',
  PIN_CANCELLED: 'PIN',
  AC2: 'GEN_AC2',
  STATUS_OK: 'STATUS',
  ERROR: 'STATUS',
};

export class ReaderSimulator {
  private readonly clock: Clock;
  private readonly log: DeviceLog;
  private readonly cards: Map<string, TestCard>;
  private readonly opts: ReaderSimulatorOptions;
  private readonly tmk: SecretKey;
  /** A PIN entry left to time out (fault pin-timeout). */
  private pinWait: TimerHandle | undefined;
  private link: FaultyByteLink | undefined;
  private frames: FrameLink | undefined;
  private presented: TestCard | null;
  private waiting: { id: number; timer: TimerHandle } | undefined;
  private armed: Armed[] = [];
  /** Answers by command id, with the type of the command they answered. */
  private readonly answers = new Map<number, { command: ReaderCommand['type']; r: ReaderResponse }>();
  /** The command being acted on (its answer is cached under its type). */
  private acting: ReaderCommand['type'] | undefined;
  /** Card whose first GENERATE AC was done and is waiting for the second. */
  private chipTxn: { card: TestCard } | undefined;
  private atc = 1;
  private reattach: TimerHandle | undefined;
  private stopped = false;
  /** Commands handled, by type (repeats answered from the cache included). */
  readonly handled: Record<string, number> = {};
  /** The last RECEIVED_KEPT commands received (type and id), oldest first: what the terminal sent. */
  readonly received: Array<{ type: ReaderCommand['type']; id: number }> = [];
  /** Frame counters of links closed by unplug, so counters() covers the whole run. */
  private pastCounters: FrameLinkCounters | undefined;

  constructor(opts: ReaderSimulatorOptions) {
    this.opts = opts;
    this.clock = opts.clock ?? systemClock;
    this.tmk = opts.tmk ?? SecretKey.fromHex(TEST_TMK);
    this.log = opts.log ?? silentLog;
    const cards = opts.cards ?? DEFAULT_TEST_CARDS;
    this.cards = new Map(cards.map((c) => [c.name, c]));
    this.presented = opts.present === null ? null : opts.present === undefined ? (cards[0] ?? null) : this.card(opts.present);
  }

  start(): void {
    this.attach();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.reattach?.cancel();
    this.waiting?.timer.cancel();
    this.pinWait?.cancel();
    await this.detach();
  }

  /** The card now on / in the reader, by name. */
  get presentedCard(): string | null {
    return this.presented?.name ?? null;
  }

  present(name: string): void {
    this.presented = this.card(name);
    this.log.info(`reader sim: card ${name} presented`);
    const w = this.waiting;
    if (w) {
      this.waiting = undefined;
      w.timer.cancel();
      this.answer({ type: 'CARD', id: w.id, entryMode: this.presented.entryMode });
    }
  }

  remove(): void {
    this.presented = null;
    this.chipTxn = undefined;
    this.log.info('reader sim: card removed');
  }

  /** Arms a fault for the next command (or the next `on` command); unplug without `on` happens now. */
  inject(fault: ReaderFault, on?: ReaderCommand['type']): void {
    if (fault.kind === 'unplug' && !on) return this.unplug(fault.ms);
    if (fault.kind === 'drop-ack') {
      this.link?.armDropAck();
      return;
    }
    this.armed.push(on ? { fault, on } : { fault });
  }

  /** Applies one control line (see CONTROL_HELP). */
  control(line: string): ControlAction | null {
    const action = parseControlLine(line);
    if (!action) return null;
    if (action.kind === 'card') this.present(action.name);
    else if (action.kind === 'remove') this.remove();
    else this.inject(action.fault, action.on);
    return action;
  }

  counters(): FrameLinkCounters | undefined {
    const now = this.frames?.counters();
    const past = this.pastCounters;
    if (!past) return now;
    if (!now) return past;
    const sum = { ...past };
    for (const k of Object.keys(sum) as (keyof FrameLinkCounters)[]) sum[k] += now[k];
    return sum;
  }

  private card(name: string): TestCard {
    const c = this.cards.get(name);
    if (!c) throw new RangeError(`no test card named ${name} (have ${[...this.cards.keys()].join(', ')})`);
    return c;
  }

  private attach(): void {
    if (this.stopped) return;
    const raw = this.opts.openLink?.() ?? new ReconnectingPort({ path: this.opts.path, baudRate: this.opts.baudRate ?? 115200, clock: this.clock, log: this.log, backoffMs: 50, maxBackoffMs: 500 });
    this.link = new FaultyByteLink(raw);
    this.frames = new FrameLink(this.link, { clock: this.clock, name: `reader sim ${this.opts.path}`, log: this.log });
    this.frames.onMessage((m) => this.onCommand(m.type, m.payload));
    (raw as { start?(): void }).start?.();
  }

  private async detach(): Promise<void> {
    const frames = this.frames;
    const link = this.link;
    this.frames = undefined;
    this.link = undefined;
    if (frames) {
      const c = frames.counters();
      if (this.pastCounters) for (const k of Object.keys(c) as (keyof FrameLinkCounters)[]) this.pastCounters[k] += c[k];
      else this.pastCounters = c;
      frames.close();
    }
    await link?.close();
  }

  private unplug(ms: number): void {
    this.log.warn(`reader sim: unplugged for ${ms} ms`);
    void this.detach().then(() => {
      this.reattach = this.clock.setTimer(ms, () => {
        this.reattach = undefined;
        this.log.info('reader sim: plugged back in');
        this.attach();
      });
    });
  }

  /** The faults armed for this command: the oldest of each kind, so `no-reply` armed 3 times spans 3 commands. */
  private takeFaults(type: ReaderCommand['type']): ReaderFault[] {
    const kinds = new Set<string>();
    const hit = this.armed.filter((a) => {
      if ((a.on !== undefined && a.on !== type) || kinds.has(a.fault.kind)) return false;
      kinds.add(a.fault.kind);
      return true;
    });
    this.armed = this.armed.filter((a) => !hit.includes(a));
    return hit.map((a) => a.fault);
  }

  private onCommand(type: string, payload: Buffer): void {
    let cmd: ReaderCommand;
    try {
      cmd = decodeReaderCommand(type, payload);
    } catch (err) {
      if (!(err instanceof ReaderMessageError)) throw err;
      this.log.warn(`reader sim: ${err.message}`);
      return;
    }
    this.handled[cmd.type] = (this.handled[cmd.type] ?? 0) + 1;
    this.received.push({ type: cmd.type, id: cmd.id });
    if (this.received.length > RECEIVED_KEPT) this.received.shift();
    this.log.info(`reader sim: <- ${cmd.type} #${cmd.id}`);
    const faults = this.takeFaults(cmd.type);
    for (const f of faults) {
      if (f.kind === 'garbage' || f.kind === 'bad-crc' || f.kind === 'partial' || f.kind === 'oversize' || f.kind === 'duplicate') this.link?.arm(f);
    }
    const unplug = faults.find((f) => f.kind === 'unplug');
    if (unplug) return this.unplug(unplug.ms);
    if (faults.some((f) => f.kind === 'no-reply')) {
      this.log.warn(`reader sim: not answering ${cmd.type} #${cmd.id} (fault)`);
      return;
    }
    const cached = this.answers.get(cmd.id);
    // A repeat is the same command with the same id; another command reusing an id (a terminal that
    // restarted its numbering) is a new command, not a repeat.
    if (cached?.command === cmd.type) return this.send(cached.r);
    if (cached) this.log.warn(`reader sim: ${cmd.type} #${cmd.id} reuses the id of an earlier ${cached.command}; acting on it as new`);
    if (cmd.type === 'WAIT_CARD' && this.waiting?.id === cmd.id) return;
    const lose = faults.some((f) => f.kind === 'lose-reply');
    if (lose) this.log.warn(`reader sim: carrying out ${cmd.type} #${cmd.id} but losing its answer (fault)`);
    this.handle(cmd, new Set(faults.map((f) => f.kind)), lose);
  }

  private handle(cmd: ReaderCommand, faults: ReadonlySet<ReaderFault['kind']>, loseReply = false): void {
    this.replyLost = loseReply;
    this.acting = cmd.type;
    try {
      this.act(cmd, faults);
    } finally {
      this.replyLost = false;
      this.acting = undefined;
    }
  }

  /** Set while acting on a command whose answer is to be cached but not sent (lose-reply). */
  private replyLost = false;

  private act(cmd: ReaderCommand, faults: ReadonlySet<ReaderFault['kind']>): void {
    const card = this.presented;
    switch (cmd.type) {
      case 'STATUS':
        return this.answer({ type: 'STATUS_OK', id: cmd.id, model: 'POSJ-SIM-R1', firmware: '1.0.0', cardPresent: card !== null });
      case 'WAIT_CARD': {
        if (card && cmd.modes.includes(card.entryMode)) return this.answer({ type: 'CARD', id: cmd.id, entryMode: card.entryMode });
        this.waiting?.timer.cancel();
        const id = cmd.id;
        this.waiting = {
          id,
          timer: this.clock.setTimer(cmd.timeoutMs, () => {
            this.waiting = undefined;
            this.answer({ type: 'NO_CARD', id });
          }),
        };
        return;
      }
      case 'CANCEL':
        if (this.waiting?.id === cmd.target) {
          this.waiting.timer.cancel();
          this.waiting = undefined;
        }
        return this.answer({ type: 'CANCELLED', id: cmd.id, target: cmd.target });
      case 'READ': {
        if (!card) return this.answer({ type: 'ERROR', id: cmd.id, code: 'NO_CARD', message: 'no card presented' });
        const r: ReaderResponse = { type: 'CARD_DATA', id: cmd.id, entryMode: card.entryMode, pan: card.pan, expiry: card.expiry };
        if (card.panSeq) r.panSeq = card.panSeq;
        if (card.entryMode === 'magstripe') r.track2 = track2Of(card);
        else {
          r.emv = firstAcData(card, cmd.amount, cmd.currency, this.atc++, new Date(this.clock.now()), this.opts.random);
          this.chipTxn = { card };
        }
        this.log.info(`reader sim: read ${maskPan(card.pan)} (${card.entryMode})`);
        return this.answer(r);
      }
      case 'PIN':
        return this.pinEntry(cmd, card, faults);
      case 'GEN_AC2': {
        const txn = this.chipTxn;
        if (!txn || !card) return this.answer({ type: 'ERROR', id: cmd.id, code: 'NO_TRANSACTION', message: 'no chip transaction waiting for GEN AC2' });
        this.chipTxn = undefined;
        const hostApproved = ['00', '10', '11'].includes(cmd.arc);
        const approve = hostApproved && !faults.has('decline-ac2') && !txn.card.declinesAc2;
        return this.answer({ type: 'AC2', id: cmd.id, emv: secondAcData(approve, this.atc - 1, this.opts.random) });
      }
    }
  }

  /**
   * The PIN pad: unwraps the PIN key under its TMK (checking the check value), takes the cardholder's PIN
   * (the card's own, or a wrong one under the wrong-pin fault), forms the ISO 9564 format 0 block with the
   * card's PAN and answers it encrypted. The clear PIN and clear block never leave this method.
   */
  private pinEntry(cmd: Extract<ReaderCommand, { type: 'PIN' }>, card: TestCard | null, faults: ReadonlySet<ReaderFault['kind']>): void {
    if (!card) return this.answer({ type: 'ERROR', id: cmd.id, code: 'NO_CARD', message: 'no card presented' });
    if (faults.has('pin-cancel')) return this.answer({ type: 'PIN_CANCELLED', id: cmd.id, reason: 'cancelled' });
    if (faults.has('pin-timeout')) {
      const id = cmd.id;
      this.pinWait?.cancel();
      this.pinWait = this.clock.setTimer(cmd.timeoutMs, () => {
        this.pinWait = undefined;
        this.answer({ type: 'PIN_CANCELLED', id, reason: 'timeout' });
      });
      return;
    }
    if (card.pin !== 'online' || card.pinDigits === undefined) return this.answer({ type: 'PIN_BYPASS', id: cmd.id });
    let pik: SecretKey;
    try {
      pik = unwrapPinKey(this.tmk, Buffer.from(cmd.pinKey, 'hex'));
    } catch (e) {
      if (!(e instanceof KeyExchangeError)) throw e;
      return this.answer({ type: 'ERROR', id: cmd.id, code: 'PIN_KEY_CHECK', message: 'the PIN key does not match its check value under this pad\'s TMK' });
    }
    const block = encryptPinBlock(pik, faults.has('wrong-pin') ? wrongPin(card.pinDigits) : card.pinDigits, card.pan);
    this.opts.onPinBlock?.(block);
    notePinBlock(block);
    this.log.info(`reader sim: PIN entered for ${maskPan(card.pan)}${faults.has('wrong-pin') ? ' (a wrong one: fault)' : ''}`);
    this.answer({ type: 'PIN_BLOCK', id: cmd.id, pinBlock: block.toString('hex').toUpperCase() });
  }

  private answer(r: ReaderResponse): void {
    this.answers.set(r.id, { command: this.acting ?? EXPECTED_BY[r.type], r });
    if (this.answers.size > ANSWER_CACHE) this.answers.delete(this.answers.keys().next().value!);
    if (this.replyLost) return;
    this.send(r);
  }

  private send(r: ReaderResponse): void {
    const frames = this.frames;
    if (!frames) return;
    const { type, payload } = encodeReaderMessage(r);
    this.log.info(`reader sim: -> ${r.type} #${r.id}`);
    frames.send(type, payload).catch((err: Error) => this.log.warn(`reader sim: ${r.type} #${r.id} not delivered: ${err.message}`));
  }
}
