// The real connector: TCP, or TLS when configured, via node:net / node:tls.
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { Connector, Transport } from './transport.js';

export interface TcpConnectorOptions {
  host: string;
  port: number;
  /** TLS options (CA, servername, client certificate); plain TCP when absent. */
  tls?: tls.ConnectionOptions;
}

class SocketTransport implements Transport {
  private closeListener: ((detail: string) => void) | undefined;
  private closed = false;
  private lastError = '';

  constructor(private readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('error', (e: NodeJS.ErrnoException) => (this.lastError = e.code ?? e.message));
    socket.on('close', () => {
      if (this.closed) return;
      this.closed = true;
      this.closeListener?.(this.lastError || 'closed by peer');
    });
  }
  write(bytes: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }
  onData(listener: (chunk: Buffer) => void): void {
    this.socket.on('data', listener);
  }
  onClose(listener: (detail: string) => void): void {
    this.closeListener = listener;
  }
  close(): void {
    this.socket.destroy();
  }
}

export function tcpConnector(opts: TcpConnectorOptions): Connector {
  return {
    connect(signal) {
      return new Promise<Transport>((resolve, reject) => {
        const socket = opts.tls
          ? tls.connect({ host: opts.host, port: opts.port, ...opts.tls })
          : net.connect({ host: opts.host, port: opts.port });
        const onError = (e: NodeJS.ErrnoException) => {
          socket.destroy();
          reject(new Error(`connect to ${opts.host}:${opts.port} failed: ${e.code ?? e.message}`));
        };
        socket.once('error', onError);
        signal.addEventListener('abort', () => onError(Object.assign(new Error('aborted'), { code: 'ABORTED' })), { once: true });
        socket.once(opts.tls ? 'secureConnect' : 'connect', () => {
          socket.off('error', onError);
          if (signal.aborted) return;
          resolve(new SocketTransport(socket));
        });
      });
    },
  };
}
