// The service port: a ServiceServer behind a windowed ServiceLink on a serial line (a USB CDC-ACM gadget
// on a terminal, a pty in tests). Requests are answered one at a time in arrival order; a bench pipelines
// several (flash chunks) and the window keeps the line busy. A request that fails answers its typed error.
import type { ByteLink } from '../../protocol/io/byte-link.js';
import type { Clock } from '../../protocol/io/clock.js';
import { ServiceLink } from '../../protocol/service/service-link.js';
import { decodeMessage, encodeMessage, ServiceMessageError } from '../../protocol/service/service-messages.js';
import { MAX_PAYLOAD } from '../../protocol/service/service-frame.js';
import type { DaemonLog } from '../daemon/daemon-log.js';
import type { ServiceServer } from './service-server.js';

/** Frames in flight each way. */
export const SERVICE_WINDOW = 8;

/** Retransmission timeout for a line of `baud`: a full window's time on the wire, plus margin for the round trip. */
export function serviceRtoMs(baud: number, window = SERVICE_WINDOW): number {
  const windowMs = (window * (MAX_PAYLOAD + 64) * 10 * 1000) / baud;
  return Math.ceil(400 + 1.5 * windowMs);
}

export function serveServicePort(o: { link: ByteLink; baud: number; clock: Clock; server: ServiceServer; log: DaemonLog }): { close(): void } {
  let turn: Promise<unknown> = Promise.resolve();
  const svc: ServiceLink = new ServiceLink({
    link: o.link,
    clock: o.clock,
    role: 'responder',
    window: SERVICE_WINDOW,
    rtoMs: serviceRtoMs(o.baud),
    onSessionChange: (s) => {
      o.log.event('service-session', { session: s });
      o.server.newSession(s);
    },
    onMessage: (payload) => {
      let m;
      try {
        m = decodeMessage(payload);
      } catch (e) {
        o.log.event('service-bad-message', { detail: (e as ServiceMessageError).message });
        return;
      }
      const msg = m;
      turn = turn.then(async () => {
        let after: (() => void) | undefined;
        let reply;
        try {
          const r = await o.server.handle(msg);
          after = r.after;
          reply = encodeMessage({ id: msg.id, head: { ok: true, ...r.head }, body: r.body ?? Buffer.alloc(0) });
        } catch (e) {
          const err = e as Error & { code?: unknown };
          reply = encodeMessage({ id: msg.id, head: { ok: false, error: { code: typeof err.code === 'string' ? err.code : 'FAILED', message: err.message } }, body: Buffer.alloc(0) });
        }
        await svc.send(reply).catch(() => undefined);
        after?.();
      });
    },
  });
  return { close: () => svc.close() };
}
