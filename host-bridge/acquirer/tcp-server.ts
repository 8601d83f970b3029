// The simulated host on a real TCP port (optionally TLS): frames in, the host's reply plan carried out with Clock timers.
// An oversized or empty frame closes that connection (the stream is out of step) and nothing else.
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { Clock, TimerHandle } from '../../protocol/io/clock.js';
import { DEFAULT_MAX_FRAME_LENGTH, frame, FrameError, FrameReader } from '../../protocol/iso8583/index.js';
import type { AcquirerHost } from './host.js';
import { LedgerWriteError } from './ledger.js';

export interface AcquirerServerOptions {
  host: AcquirerHost;
  clock: Clock;
  port: number;
  address?: string;
  maxFrameLength?: number;
  /** Serve TLS with this certificate and key instead of plain TCP. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Connection-level happenings (frame errors) for the log. */
  onConnectionEvent?: (detail: string) => void;
  /** The host could not make a ledger entry durable (LedgerWriteError): the server has stopped; the process should exit. */
  onFatal?: (err: Error) => void;
}

export interface AcquirerServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startAcquirerServer(opts: AcquirerServerOptions): Promise<AcquirerServer> {
  const max = opts.maxFrameLength ?? DEFAULT_MAX_FRAME_LENGTH;
  const sockets = new Set<net.Socket>();
  const onConnection = (socket: net.Socket) => {
    sockets.add(socket);
    const timers = new Set<TimerHandle>();
    const reader = new FrameReader(max);
    const later = (ms: number, fn: () => void) => {
      if (ms <= 0) return fn();
      const t = opts.clock.setTimer(ms, () => {
        timers.delete(t);
        fn();
      });
      timers.add(t);
    };
    socket.on('error', () => undefined);
    socket.on('close', () => {
      sockets.delete(socket);
      for (const t of timers) t.cancel();
    });
    socket.on('data', (chunk) => {
      let bodies: Buffer[];
      try {
        bodies = reader.push(chunk);
      } catch (e) {
        if (!(e instanceof FrameError)) throw e;
        opts.onConnectionEvent?.(e.message);
        socket.destroy();
        return;
      }
      for (const body of bodies) {
        let reply;
        try {
          reply = opts.host.handle(body);
        } catch (e) {
          socket.destroy();
          if (!(e instanceof LedgerWriteError)) {
            // A bug in a handler costs this connection, never the server: every other terminal keeps its host.
            opts.onConnectionEvent?.(`connection closed: the host failed on a frame: ${(e as Error).message}`);
            return;
          }
          void stop();
          opts.onFatal?.(e);
          return;
        }
        if (reply.kind === 'send') {
          for (const f of reply.frames) later(f.delayMs, () => !socket.destroyed && socket.write(frame(f.body, max)));
        } else if (reply.kind === 'reset') {
          later(reply.delayMs, () => socket.resetAndDestroy());
        }
      }
    });
  };
  const server = opts.tls ? tls.createServer(opts.tls, onConnection) : net.createServer(onConnection);
  const stop = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.address ?? '127.0.0.1', () => resolve());
  });
  return { port: (server.address() as net.AddressInfo).port, close: stop };
}
