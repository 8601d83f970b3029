// The one interface device drivers see for a serial line, so a driver runs the same over a real
// `serialport`, a pty made by socat, or an in-memory fake in the deterministic simulator (DESIGN rule 5).

/**
 * `stalled`: the device stopped taking bytes (writes made no progress within the watchdog time); the line
 * is being closed and reopened. A device fault, not a cable fault.
 */
export type LinkState = 'connecting' | 'open' | 'stalled' | 'disconnected' | 'closed';

export interface LinkHealth {
  state: LinkState;
  path: string;
  /** Times the line was lost and reopened since start. */
  reconnects: number;
  /** Clock ms when the line entered its current state. */
  since?: number;
  /** Times the device stopped reading and the line was reopened for it. */
  stalls?: number;
  /** Bytes handed to write() that the device has not taken yet (bounded by the link's queue limit). */
  queuedBytes?: number;
  /** What last went wrong; cleared once the line has carried bytes again after it. */
  lastError?: string;
  /** Clock ms of lastError. */
  lastErrorAt?: number;
}

export interface ByteLink {
  readonly path: string;
  /**
   * Resolves once the bytes are handed to the OS (drained); rejects when the line is not open, when the
   * write queue is full, or when the device stalls before taking them.
   */
  write(bytes: Buffer): Promise<void>;
  /** Raw bytes as they arrive, in order; binary-safe. Returns an unsubscribe function. */
  onData(listener: (bytes: Buffer) => void): () => void;
  /** State changes (open, stalled, disconnected → reconnecting, closed). Returns an unsubscribe function. */
  onState(listener: (health: LinkHealth) => void): () => void;
  health(): LinkHealth;
  /** Closes for good: no reconnect after this. */
  close(): Promise<void>;
}
