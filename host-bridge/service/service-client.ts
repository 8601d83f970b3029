// The bench's end of a service port: requests pipelined over a ServiceLink (initiator, a fresh random
// session per connection), answers matched by id, and the challenge–response that proves a paired key.
import { randomBytes, sign, createPublicKey, type KeyObject } from 'node:crypto';
import type { ByteLink } from '../../protocol/io/byte-link.js';
import type { Clock, TimerHandle } from '../../protocol/io/clock.js';
import { keyId } from '../../protocol/firmware/manifest.js';
import { ServiceLink } from '../../protocol/service/service-link.js';
import { authChallengeBytes, decodeMessage, encodeMessage } from '../../protocol/service/service-messages.js';

export class ServiceError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ServiceError';
  }
}

export interface ServiceAnswer {
  head: Record<string, unknown>;
  body: Buffer;
}

interface Waiting {
  resolve: (a: ServiceAnswer) => void;
  reject: (e: Error) => void;
  timer: TimerHandle;
}

export class ServiceClient {
  private nextId = 1;
  private readonly waiting = new Map<number, Waiting>();
  private readonly link: ServiceLink;

  constructor(
    byteLink: ByteLink,
    private readonly clock: Clock,
    opts: { window: number; rtoMs: number; maxRetries?: number },
  ) {
    this.link = new ServiceLink({
      link: byteLink,
      clock,
      role: 'initiator',
      session: randomBytes(4).readUInt32BE(0) || 1,
      window: opts.window,
      rtoMs: opts.rtoMs,
      maxRetries: opts.maxRetries ?? 6,
      onMessage: (payload) => {
        let m;
        try {
          m = decodeMessage(payload);
        } catch {
          return;
        }
        const w = this.waiting.get(m.id);
        if (!w) return;
        this.waiting.delete(m.id);
        w.timer.cancel();
        w.resolve({ head: m.head, body: m.body });
      },
    });
  }

  get stats() {
    return this.link.stats;
  }

  /** Sends one request; an `ok: false` answer rejects with its code. */
  async request(head: Record<string, unknown>, body: Buffer = Buffer.alloc(0), timeoutMs = 60_000): Promise<ServiceAnswer> {
    const id = this.nextId++;
    const answer = new Promise<ServiceAnswer>((resolve, reject) => {
      const timer = this.clock.setTimer(timeoutMs, () => {
        this.waiting.delete(id);
        reject(new ServiceError('SERVICE_TIMEOUT', `no answer to ${String(head.op)} within ${timeoutMs} ms`));
      });
      this.waiting.set(id, { resolve, reject, timer });
    });
    this.link.send(encodeMessage({ id, head, body })).catch((e: Error & { code?: string }) => {
      const w = this.waiting.get(id);
      if (!w) return;
      this.waiting.delete(id);
      w.timer.cancel();
      w.reject(new ServiceError(e.code ?? 'SERVICE_LINK_FAILED', e.message));
    });
    const a = await answer;
    if (a.head.ok !== true) {
      const err = (a.head.error ?? {}) as { code?: string; message?: string };
      throw new ServiceError(err.code ?? 'FAILED', err.message ?? 'the terminal refused');
    }
    return a;
  }

  /** Proves the bench holds `key`, which the terminal must list among its paired keys. */
  async authenticate(key: KeyObject): Promise<void> {
    const ch = await this.request({ op: 'auth-begin' });
    const msg = authChallengeBytes(String(ch.head.terminalId), Number(ch.head.session), Buffer.from(String(ch.head.nonce), 'base64'));
    await this.request({ op: 'auth-prove', keyId: keyId(createPublicKey(key)), signature: sign(null, msg, key).toString('base64') });
  }

  close(): void {
    this.link.close();
    for (const w of this.waiting.values()) {
      w.timer.cancel();
      w.reject(new ServiceError('SERVICE_LINK_CLOSED', 'service link closed'));
    }
    this.waiting.clear();
  }
}
