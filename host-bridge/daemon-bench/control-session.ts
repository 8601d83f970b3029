// One persistent control connection to a running daemon, one request at a time: what a till keeps open, so
// the bench measures the daemon and not a connect (or a CLI start-up) per sale.
import * as net from 'node:net';

export class ControlSession {
  private buf = Buffer.alloc(0);
  private waiting: ((line: string) => void) | null = null;
  private failure: Error | null = null;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk) => {
      this.buf = Buffer.concat([this.buf, chunk]);
      const nl = this.buf.indexOf(0x0a);
      if (nl < 0 || !this.waiting) return;
      const line = this.buf.subarray(0, nl).toString('utf8');
      this.buf = this.buf.subarray(nl + 1);
      const w = this.waiting;
      this.waiting = null;
      w(line);
    });
    socket.on('error', (e) => (this.failure = e));
    socket.on('close', () => (this.failure ??= new Error('the daemon closed the control connection')));
  }

  static connect(socketPath: string): Promise<ControlSession> {
    return new Promise((resolve, reject) => {
      const s = net.connect(socketPath);
      s.once('connect', () => resolve(new ControlSession(s)));
      s.once('error', reject);
    });
  }

  /** Sends one request; resolves with its `result`, rejects on an `ok: false` answer. */
  call(req: Record<string, unknown>): Promise<any> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting = (line) => {
        const r = JSON.parse(line) as { ok: boolean; result?: unknown; error?: { code: string; message: string } };
        if (r.ok) resolve(r.result);
        else reject(new Error(`${String(req.op)}: ${r.error?.code}: ${r.error?.message}`));
      };
      this.socket.write(JSON.stringify(req) + '\n');
    });
  }

  close(): void {
    this.socket.end();
  }
}
