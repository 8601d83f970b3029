// The one interface device drivers see for a serial line, so a driver runs the same over a real
// `serialport`, a pty made by socat, or an in-memory fake in the deterministic simulator (DESIGN rule 5).

export type LinkState = 'connecting' | 'open' | 'disconnected' | 'closed';

export interface LinkHealth {
  state: LinkState;
  path: string;
  /** Times the line was lost and reopened since start. */
  reconnects: number;
  lastError?: string;
}

export interface ByteLink {
  readonly path: string;
  /** Resolves once the bytes are handed to the OS (drained); rejects when the line is not open. */
  write(bytes: Buffer): Promise<void>;
  /** Raw bytes as they arrive, in order; binary-safe. Returns an unsubscribe function. */
  onData(listener: (bytes: Buffer) => void): () => void;
  /** State changes (open, disconnected → reconnecting, closed). Returns an unsubscribe function. */
  onState(listener: (health: LinkHealth) => void): () => void;
  health(): LinkHealth;
  /** Closes for good: no reconnect after this. */
  close(): Promise<void>;
}
