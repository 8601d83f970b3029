// The acquirer link: one request in flight, framed with a 2-byte length, answered by the response whose
// MTI, STAN (field 11) and terminal ID (field 41) match. Everything else that arrives is reported and
// ignored. Time comes only from the Clock and the socket only from the Connector (DESIGN rule 5).
import type { Clock, TimerHandle } from '../../protocol/io/clock.js';
import {
  decodeCup,
  defaultTerminalEnvelope,
  encodeCup,
  encodeCupWithMac,
  frame,
  FrameError,
  FrameReader,
  Iso8583DecodeError,
  responseMti,
  textField,
  verifyCupMac,
  DEFAULT_MAX_FRAME_LENGTH,
  type CupEnvelope,
  type IsoMessage,
  type SecretKey,
} from '../../protocol/iso8583/index.js';
import { AcquirerLinkError, type ExchangeResult, type LinkEvent } from './exchange-result.js';
import type { Connector, Transport } from './transport.js';

export interface AcquirerLinkOptions {
  connector: Connector;
  clock: Clock;
  connectTimeoutMs: number;
  responseTimeoutMs: number;
  maxFrameLength?: number;
  envelope?: CupEnvelope;
  onEvent?: (event: LinkEvent) => void;
}

interface Pending {
  key: string;
  macked: boolean;
  resolve: (r: ExchangeResult) => void;
  timer: TimerHandle;
}

/** How many answered / timed-out request keys are remembered to tell late and duplicate replies apart. */
const RECENT_KEYS = 32;

const keyOf = (mti: string, stan: string | undefined, tid: string | undefined) => `${mti}|${stan ?? ''}|${tid ?? ''}`;

export class AcquirerLink {
  private transport: Transport | undefined;
  private pending: Pending | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private mak: SecretKey | undefined;
  private closed = false;
  private readonly timedOut: string[] = [];
  private readonly answered: string[] = [];

  constructor(private readonly opts: AcquirerLinkOptions) {}

  /** The MAC working key from the last sign-on; requests other than 0800 are MAC'd with it. */
  setMacKey(mak: SecretKey | undefined): void {
    this.mak = mak;
  }

  /**
   * Sends `request` and waits for its response. Calls are queued, so at most one request is in flight.
   * Field 64 is added here (with the MAC key) to every request except the sign-on 0800. `responseTimeoutMs`
   * shortens the wait for this one request (a reversal sent within a sale's time budget).
   */
  exchange(request: IsoMessage, opts: { responseTimeoutMs?: number } = {}): Promise<ExchangeResult> {
    const run = this.queue.then(() => this.exchangeNow(request, opts.responseTimeoutMs ?? this.opts.responseTimeoutMs));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Closes the connection; an exchange in flight ends as reset. */
  close(): void {
    this.closed = true;
    // Dropped here with our own reason, so the transport's later close is not logged as "closed by peer".
    if (this.transport) this.drop(this.transport, 'closed by this terminal');
  }

  private async exchangeNow(request: IsoMessage, responseTimeoutMs: number): Promise<ExchangeResult> {
    if (this.closed) throw new AcquirerLinkError('closed', 'the acquirer link is closed');
    const macked = request.mti !== '0800';
    if (macked && !this.mak) throw new AcquirerLinkError('no-mac-key', `no MAC key for ${request.mti}: sign on first`);
    const envelope = this.opts.envelope ?? defaultTerminalEnvelope;
    // Encode before connecting: a message that cannot be encoded must fail before anything is sent.
    const body = macked ? encodeCupWithMac(envelope, request, this.mak!).body : encodeCup(envelope, request);
    const bytes = frame(body, this.opts.maxFrameLength ?? DEFAULT_MAX_FRAME_LENGTH);

    if (!this.transport) {
      const failed = await this.connect();
      if (failed) return { kind: 'connect-failed', detail: failed };
    }
    const transport = this.transport!;
    const key = keyOf(responseMti(request.mti), textField(request, 11), textField(request, 41));
    return new Promise<ExchangeResult>((resolve) => {
      const pending: Pending = {
        key,
        macked,
        resolve,
        timer: this.opts.clock.setTimer(responseTimeoutMs, () => {
          if (this.pending !== pending) return;
          this.pending = undefined;
          remember(this.timedOut, key);
          resolve({ kind: 'timeout' });
        }),
      };
      this.pending = pending;
      transport.write(bytes);
    });
  }

  /** Opens the transport; returns a reason on failure. */
  private async connect(): Promise<string | undefined> {
    const abort = new AbortController();
    let timer: TimerHandle | undefined;
    const timeout = new Promise<string>((resolve) => {
      timer = this.opts.clock.setTimer(this.opts.connectTimeoutMs, () => resolve(`connect timeout after ${this.opts.connectTimeoutMs} ms`));
    });
    const attempt = this.opts.connector.connect(abort.signal).then(
      (t) => t,
      (e: Error) => e.message,
    );
    const winner = await Promise.race([attempt, timeout]);
    timer!.cancel();
    if (typeof winner === 'string') {
      abort.abort();
      // A transport that opens after we gave up must not linger.
      void attempt.then((t) => typeof t !== 'string' && t.close());
      return winner;
    }
    if (this.closed) {
      winner.close();
      return 'the acquirer link was closed while connecting';
    }
    this.attach(winner);
    return undefined;
  }

  private attach(t: Transport): void {
    this.transport = t;
    const reader = new FrameReader(this.opts.maxFrameLength ?? DEFAULT_MAX_FRAME_LENGTH);
    t.onData((chunk) => {
      if (this.transport !== t) return;
      let frames: Buffer[];
      try {
        frames = reader.push(chunk);
      } catch (e) {
        if (!(e instanceof FrameError)) throw e;
        this.emit({ type: 'frame-error', detail: e.message });
        this.drop(t, e.message);
        return;
      }
      for (const f of frames) this.onFrame(f);
    });
    t.onClose((detail) => this.drop(t, detail));
    this.emit({ type: 'connected' });
  }

  /** Forgets the transport; the request in flight, if any, ends as reset. */
  private drop(t: Transport, detail: string): void {
    if (this.transport !== t) return;
    this.transport = undefined;
    t.close();
    this.emit({ type: 'disconnected', detail });
    const p = this.pending;
    if (p) {
      this.pending = undefined;
      p.timer.cancel();
      p.resolve({ kind: 'reset', detail });
    }
  }

  private onFrame(body: Buffer): void {
    let decoded;
    try {
      decoded = decodeCup(body);
    } catch (e) {
      if (!(e instanceof Iso8583DecodeError)) throw e;
      this.emit({ type: 'malformed-response', field: String(e.field), offset: e.offset, reason: e.reason });
      return;
    }
    const { message, envelope } = decoded;
    const stan = stringField(message, 11);
    const tid = stringField(message, 41);
    const key = keyOf(message.mti, stan, tid);
    const p = this.pending;
    if (!p || p.key !== key) {
      const reason = this.timedOut.includes(key) ? 'late' : this.answered.includes(key) ? 'duplicate' : 'unmatched';
      const responseCode = stringField(message, 39);
      this.emit({
        type: 'stray-response',
        reason,
        mti: message.mti,
        ...(stan !== undefined ? { stan } : {}),
        ...(tid !== undefined ? { terminalId: tid } : {}),
        ...(responseCode !== undefined ? { responseCode } : {}),
      });
      return;
    }
    this.pending = undefined;
    p.timer.cancel();
    remember(this.answered, key);
    p.resolve(this.authenticate(p, body, message) ? { kind: 'response', message, envelope } : { kind: 'mac-failed', message });
  }

  /** A MAC present must verify; an approval to a MAC'd request must carry one. */
  private authenticate(p: Pending, body: Buffer, message: IsoMessage): boolean {
    if (message.fields.has(64)) return this.mak !== undefined && verifyCupMac(body, message, this.mak);
    return !(p.macked && stringField(message, 39) === '00');
  }

  private emit(e: LinkEvent): void {
    this.opts.onEvent?.(e);
  }
}

function stringField(m: IsoMessage, n: number): string | undefined {
  const v = m.fields.get(n);
  return typeof v === 'string' ? v : undefined;
}

function remember(list: string[], key: string): void {
  list.push(key);
  if (list.length > RECENT_KEYS) list.shift();
}
