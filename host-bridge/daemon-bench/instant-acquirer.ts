// The acquirer of the daemon bench: the acquirer simulator's host on loopback TCP, answering at once, its
// ledger on an in-memory disk (no fsync of its own to wait for). It keeps count of its whole service time —
// from a request's bytes reaching this process to its reply handed to the socket (framing, the host's
// decode, ledger, MAC and encode) — so the bench can take the acquirer's answer out of what the terminal is
// charged. What is left to the terminal is its own work plus the loopback trip each way.
//
// Its own small server rather than acquirer/tcp-server.ts: that one carries out reply plans on Clock timers
// (delays, resets, duplicates), which a bench that answers at once has no use for, and its handler cannot be
// timed from the outside past the host's handle().
import * as net from 'node:net';
import type { Clock } from '../../protocol/io/clock.js';
import { DEFAULT_MAX_FRAME_LENGTH, frame, FrameReader, SecretKey } from '../../protocol/iso8583/index.js';
import { AcquirerHost, defaultRules } from '../acquirer/index.js';
import { SimDisk } from '../terminal-sim/sim-disk.js';

export interface InstantAcquirer {
  readonly port: number;
  /** Nanoseconds spent serving requests so far (all requests, from their bytes in to the reply written). */
  serviceNs(): number;
  /** Why a connection was closed on the terminal, if one was (a reply plan that is not an answer at once). */
  readonly failures: string[];
  close(): Promise<void>;
}

export async function startInstantAcquirer(tmkHex: string, clock: Clock): Promise<InstantAcquirer> {
  // A card that never runs out: a long run's sales must all be approved.
  const rules = { ...defaultRules(), openingBalance: 10n ** 15n };
  const host = AcquirerHost.open({ storage: new SimDisk(), ledgerPath: '/acquirer/ledger.jsonl', tmk: SecretKey.fromHex(tmkHex), clock, rules });
  let busyNs = 0;
  const failures: string[] = [];
  const sockets = new Set<net.Socket>();
  const serve = (socket: net.Socket, chunk: Buffer, reader: FrameReader) => {
    for (const body of reader.push(chunk)) {
      const reply = host.handle(body);
      if (reply.kind !== 'send' || reply.frames.some((f) => f.delayMs > 0)) throw new Error(`the bench acquirer answers at once, but its host planned ${reply.kind === 'send' ? 'a delayed reply' : 'a reset'}`);
      for (const f of reply.frames) socket.write(frame(f.body, DEFAULT_MAX_FRAME_LENGTH));
    }
  };
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    const reader = new FrameReader(DEFAULT_MAX_FRAME_LENGTH);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    socket.on('data', (chunk) => {
      const t0 = process.hrtime.bigint();
      try {
        serve(socket, chunk, reader);
      } catch (e) {
        failures.push((e as Error).message);
        socket.destroy();
      } finally {
        busyNs += Number(process.hrtime.bigint() - t0);
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    serviceNs: () => busyNs,
    failures,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      host.close();
    },
  };
}
