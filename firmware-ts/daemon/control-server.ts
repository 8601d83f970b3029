// The control API's Unix socket server. Each parsed request goes to `run` (control-ops.ts runControlRequest:
// read-only operations at once, money operations through the OperationQueue one at a time). Connections are bounded in number
// and in idle time, and every refusal is a typed reply the client can print, never a silent close.
import * as net from 'node:net';
import { ControlRequestError, LineSplitter, parseRequest, type ControlRequest, type ControlResponse } from './control-protocol.js';
import type { DaemonLog } from './daemon-log.js';
import { QueueRefusedError } from './operation-queue.js';

export interface ControlLimits {
  /** Open connections at once; one more is answered TOO_MANY_CONNECTIONS and closed. */
  maxConnections: number;
  /** A connection with no request being answered and nothing received for this long is closed (IDLE). */
  idleMs: number;
  /** Requests one connection may have unanswered at once. */
  maxPendingPerConnection: number;
}

export const DEFAULT_CONTROL_LIMITS: ControlLimits = { maxConnections: 16, idleMs: 30_000, maxPendingPerConnection: 8 };

export interface ControlServerOptions {
  /** Runs one parsed request (runControlRequest); its result or error becomes the reply. */
  run: (req: ControlRequest) => Promise<unknown>;
  log: DaemonLog;
  limits?: Partial<ControlLimits>;
}

export class ControlServer {
  private readonly server: net.Server;
  private readonly live = new Set<net.Socket>();
  private readonly limits: ControlLimits;
  private stopping = false;
  private closing = false;

  constructor(private readonly opts: ControlServerOptions) {
    this.limits = { ...DEFAULT_CONTROL_LIMITS, ...opts.limits };
    this.server = net.createServer((socket) => this.accept(socket));
  }

  listen(socketPath: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(socketPath, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  /** Stops accepting connections; open ones still get read-only answers and the in-flight reply. */
  stopAccepting(): void {
    this.stopping = true;
    this.server.close();
  }

  /** Ends every connection (each has had its answers written); one that does not close is cut after a second. */
  async close(): Promise<void> {
    this.stopping = true;
    this.closing = true;
    if (this.server.listening) this.server.close();
    await Promise.all(
      [...this.live].map(
        (s) =>
          new Promise<void>((resolve) => {
            s.once('close', () => resolve());
            s.setTimeout(1000);
            s.end();
          }),
      ),
    );
  }

  private accept(socket: net.Socket): void {
    socket.on('error', () => undefined);
    const send = (res: ControlResponse) => {
      if (!socket.destroyed && socket.writable) socket.write(JSON.stringify(res) + '\n');
    };
    if (this.live.size >= this.limits.maxConnections) {
      this.opts.log.event('control-refused', { reason: 'too-many-connections', open: this.live.size });
      send({ ok: false, error: { code: 'TOO_MANY_CONNECTIONS', message: `${this.live.size} control connections are open (the limit): try again` } });
      socket.end();
      return;
    }
    this.live.add(socket);
    socket.on('close', () => this.live.delete(socket));
    let pending = 0;
    const idle = () => socket.setTimeout(this.closing ? 1000 : pending === 0 ? this.limits.idleMs : 0);
    socket.on('timeout', () => {
      if (this.closing) return void socket.destroy();
      send({ ok: false, error: { code: 'IDLE', message: `no request for ${this.limits.idleMs} ms: connection closed` } });
      socket.end();
    });
    idle();

    const handle = (line: string) => {
      if (line.trim() === '') return;
      let req: ControlRequest;
      try {
        req = parseRequest(line);
      } catch (e) {
        const err = e as ControlRequestError;
        this.opts.log.event('control-bad-request', { code: err.code, detail: err.message });
        return send({ ok: false, error: { code: err.code, message: err.message } });
      }
      const id = req.id !== undefined ? { id: req.id } : {};
      if (pending >= this.limits.maxPendingPerConnection) {
        return send({ ...id, ok: false, error: { code: 'BUSY', message: `${pending} requests on this connection are still unanswered: wait for them` } });
      }
      pending++;
      idle();
      this.opts.run(req).then(
        (result) => send({ ...id, ok: true, result }),
        (e: Error & { code?: unknown }) => {
          const code = typeof e.code === 'string' ? e.code : 'FAILED';
          if (!(e instanceof QueueRefusedError)) this.opts.log.event('control-error', { op: req.op, code, detail: e.message });
          send({ ...id, ok: false, error: { code, message: e.message } });
        },
      ).finally(() => {
        pending--;
        idle();
        if (this.stopping && pending === 0) socket.end();
      });
    };
    const splitter = new LineSplitter(handle, () => send({ ok: false, error: { code: 'LINE_TOO_LONG', message: 'request line over the limit; skipped to its end' } }));
    socket.on('data', (chunk) => splitter.push(chunk));
  }
}
