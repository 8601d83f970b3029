// The CLI side of the control API: one request line to the daemon's socket, one response line back.
import * as net from 'node:net';
import { MAX_LINE_BYTES, type ControlRequest, type ControlResponse } from './control-protocol.js';

export class DaemonUnreachableError extends Error {
  readonly code: string = 'DAEMON_UNREACHABLE';
  constructor(socketPath: string, detail: string) {
    super(`no posj daemon answering at ${socketPath} (${detail}): start it with posj run`);
    this.name = 'DaemonUnreachableError';
  }
}

/**
 * The daemon took the request and the connection closed before its answer (the daemon stopped or was
 * killed): whatever the request was may have happened, so a money operation's outcome is unknown.
 */
export class AnswerLostError extends DaemonUnreachableError {
  override readonly code = 'ANSWER_LOST';
  constructor(socketPath: string) {
    super(socketPath, 'closed after taking the request, before answering');
    this.message = `the posj daemon at ${socketPath} stopped after taking the request and before answering: it may have gone through; once the daemon is back, ask \`posj status --last\` (or \`--request-id ID\`) before trying again`;
    this.name = 'AnswerLostError';
  }
}

/** Sends one request and resolves with the daemon's response; a sale may wait for a card, so the wait is long. */
export function controlCall(socketPath: string, req: ControlRequest, timeoutMs = 180_000): Promise<ControlResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    let buf = Buffer.alloc(0);
    let connected = false;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new DaemonUnreachableError(socketPath, `no answer in ${timeoutMs} ms`));
    }, timeoutMs);
    const fail = (detail: string) => {
      clearTimeout(timer);
      reject(new DaemonUnreachableError(socketPath, detail));
    };
    let written = false;
    socket.once('connect', () => {
      connected = true;
      socket.write(JSON.stringify(req) + '\n', () => (written = true));
    });
    socket.on('error', (e: NodeJS.ErrnoException) => fail(e.code ?? e.message));
    socket.on('close', () => {
      if (buf.includes(0x0a)) return;
      if (!written) return fail(connected ? 'closed before taking the request' : 'not running');
      clearTimeout(timer);
      reject(new AnswerLostError(socketPath));
    });
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length > MAX_LINE_BYTES * 64) return (socket.destroy(), fail('answer too long'));
      const nl = buf.indexOf(0x0a);
      if (nl < 0) return;
      clearTimeout(timer);
      socket.end();
      try {
        resolve(JSON.parse(buf.subarray(0, nl).toString('utf8')) as ControlResponse);
      } catch (e) {
        reject(new DaemonUnreachableError(socketPath, `answer is not JSON: ${(e as Error).message}`));
      }
    });
  });
}
