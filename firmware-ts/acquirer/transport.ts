// The acquirer connection behind two small interfaces (DESIGN rule 5): the link never touches node:net, so
// the deterministic simulator can hand it an in-memory transport that drops, delays and duplicates.

/** One open byte stream to the acquirer. */
export interface Transport {
  /** Queues bytes for sending; a failure surfaces as onClose. */
  write(bytes: Buffer): void;
  /** Set once, right after connect; bytes arrive in order, chunked arbitrarily. */
  onData(listener: (chunk: Buffer) => void): void;
  /** Called once when the stream ends for any reason (peer close, reset, error, or close()). */
  onClose(listener: (detail: string) => void): void;
  close(): void;
}

export interface Connector {
  /**
   * Resolves with an open transport or rejects. The link bounds it with its own (Clock) connect timeout and
   * then aborts `signal`, so a real socket stuck in SYN is destroyed rather than left to the OS timeout.
   */
  connect(signal: AbortSignal): Promise<Transport>;
}
