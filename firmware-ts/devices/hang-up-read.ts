// node-serialport's Unix read (bindings-cpp 13; upstream issue 162) reads again whenever a read returns zero
// bytes. Its ports are opened with VMIN=1, so a zero-byte read means end of file: the tty hung up (USB cable
// pulled, a pty's far end gone). When that happens with no read waiting on the poller, the retry never ends:
// a thread-pool thread spins, memory grows, and the line is never reported lost, so a driver cannot
// reconnect. This binding wraps the platform one and ends such a read with an error, which the stream turns
// into a 'close' with `disconnected`.
import { read } from 'node:fs';
import { promisify } from 'node:util';
import { SerialPort } from 'serialport';

type Binding = typeof SerialPort.binding;
type PortBinding = Awaited<ReturnType<Binding['open']>>;
type ReadResult = { bytesRead: number; buffer: Buffer };

/** What the Unix port bindings expose: the fd and the poller the platform read waits on. */
interface UnixPortBinding {
  fd: number | null;
  readonly isOpen: boolean;
  poller: { once(event: 'readable', cb: (err: Error | null) => void): unknown };
  read(buffer: Buffer, offset: number, length: number): Promise<ReadResult>;
}

const readAsync = promisify(read);
const TRY_AGAIN = new Set(['EAGAIN', 'EWOULDBLOCK', 'EINTR']);

export class LineHungUpError extends Error {
  readonly code = 'LINE_HUNG_UP';
  constructor() {
    super('the line hung up (a read returned end of file)');
    this.name = 'LineHungUpError';
  }
}

/** The stream treats a `canceled` read error as "closing on purpose", not as a lost line. */
function canceled(): Error {
  return Object.assign(new Error('Port is not open'), { canceled: true });
}

function isUnix(port: object): port is UnixPortBinding {
  const p = port as Partial<UnixPortBinding>;
  return 'fd' in p && typeof p.poller?.once === 'function';
}

async function readUntilHangUp(port: UnixPortBinding, buffer: Buffer, offset: number, length: number): Promise<ReadResult> {
  for (;;) {
    if (!port.isOpen || port.fd === null) throw canceled();
    let bytesRead: number;
    try {
      ({ bytesRead } = await readAsync(port.fd, buffer, offset, length, null));
    } catch (err) {
      if (!TRY_AGAIN.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
      if (!port.isOpen) throw canceled();
      await new Promise<void>((resolve, reject) => port.poller.once('readable', (e) => (e ? reject(e) : resolve())));
      continue;
    }
    if (bytesRead === 0) throw new LineHungUpError();
    return { bytesRead, buffer };
  }
}

/** The platform binding with a read that reports a hang-up; other platforms' ports are left as they are. */
export function hangUpAwareBinding(base: Binding): Binding {
  const open = async (options: Parameters<Binding['open']>[0]): Promise<PortBinding> => {
    const port = await (base.open as (o: typeof options) => Promise<PortBinding>)(options);
    if (isUnix(port)) {
      port.read = (buffer, offset, length) => readUntilHangUp(port, buffer, offset, length);
    }
    return port;
  };
  return { ...base, open } as Binding;
}
