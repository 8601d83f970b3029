// The few calls ReconnectingPort makes on one opened serial port, so the same reconnect, write-queue and
// watchdog logic runs over node-serialport on a real line and over a simulated port in `posj sim`.
import { SerialPort } from 'serialport';
import { hangUpAwareBinding } from './hang-up-read.js';

export interface RawPort {
  readonly isOpen: boolean;
  open(cb: (err: Error | null) => void): void;
  /** `cb` runs once the bytes are handed to the OS (or the write failed). */
  write(bytes: Buffer, cb: (err: Error | null | undefined) => void): void;
  close(cb: (err: Error | null) => void): void;
  onData(listener: (chunk: Buffer) => void): void;
  onError(listener: (err: Error) => void): void;
  /** The port closed; `err.disconnected` when the device went away rather than close() being asked. */
  onClose(listener: (err?: Error & { disconnected?: boolean }) => void): void;
}

export type OpenRawPort = (path: string, baudRate: number) => RawPort;

const binding = hangUpAwareBinding(SerialPort.binding);

/** A node-serialport SerialPort, not yet opened. */
export const openSerialPort: OpenRawPort = (path, baudRate) => {
  // `binding` is left out of SerialPort's option type, but its constructor takes it over the detected one.
  const port = new SerialPort({ path, baudRate, autoOpen: false, binding } as ConstructorParameters<typeof SerialPort>[0]);
  return {
    get isOpen() {
      return port.isOpen;
    },
    open: (cb) => port.open((err) => cb(err ?? null)),
    // Not port.drain(): tcdrain runs on libuv's small thread pool and, on a line held by flow control,
    // would block the journal's own file I/O behind it. The write callback already means "handed to the OS".
    write: (bytes, cb) => void port.write(bytes, cb),
    close: (cb) => port.close((err) => cb(err ?? null)),
    onData: (l) => void port.on('data', l),
    onError: (l) => void port.on('error', l),
    onClose: (l) => void port.on('close', l),
  };
};
