// A serial cable on simulated time, for running the real drivers in `posj sim`: each end is opened as a
// RawPort (what ReconnectingPort opens), so the terminal's ReconnectingPort — reconnects, write queue,
// stall watchdog — runs unchanged over it, and so does the device simulator's. Bytes arrive at the other
// end after `latencyMs` on the Clock. Line faults: the cable pulled (both ends see the line go, opens fail
// until it is plugged back), the device stops reading (what the terminal writes is held and its writes
// never complete, as with a full tty buffer), and noise on the wire towards the terminal.
import type { Clock } from '../../protocol/io/clock.js';
import type { OpenRawPort, RawPort } from '../../firmware-ts/devices/raw-port.js';

type End = 'terminal' | 'device';

interface HeldWrite {
  bytes: Buffer;
  cb: (err: Error | null | undefined) => void;
}

class SimRawPort implements RawPort {
  isOpen = false;
  readonly dataListeners: Array<(chunk: Buffer) => void> = [];
  readonly closeListeners: Array<(err?: Error & { disconnected?: boolean }) => void> = [];

  constructor(
    private readonly line: SimSerialLine,
    readonly end: End,
  ) {}

  open(cb: (err: Error | null) => void): void {
    this.line.later(() => {
      if (!this.line.plugged) return cb(Object.assign(new Error(`${this.line.path}: no such device (cable unplugged)`), { code: 'ENOENT' }));
      this.isOpen = true;
      this.line.attach(this);
      cb(null);
    });
  }

  write(bytes: Buffer, cb: (err: Error | null | undefined) => void): void {
    if (!this.isOpen) return this.line.later(() => cb(new Error('Port is not open')));
    this.line.carry(this, Buffer.from(bytes), cb);
  }

  close(cb: (err: Error | null) => void): void {
    this.isOpen = false;
    this.line.detach(this);
    this.line.later(() => cb(null));
  }

  onData(l: (chunk: Buffer) => void): void {
    this.dataListeners.push(l);
  }

  onError(): void {}

  onClose(l: (err?: Error & { disconnected?: boolean }) => void): void {
    this.closeListeners.push(l);
  }
}

export class SimSerialLine {
  plugged = true;
  /** The device has stopped reading: what the terminal writes waits here, its writes unfinished. */
  private held: HeldWrite[] | null = null;
  private readonly open = new Map<End, SimRawPort>();
  /** Bytes carried each way, for the trace and tests. */
  readonly carried = { toDevice: 0, toTerminal: 0 };

  constructor(
    private readonly clock: Clock,
    readonly path: string,
    private readonly latencyMs = 1,
  ) {}

  /** Opens the terminal's end (pass to ReconnectingPort as openPort). */
  readonly terminal: OpenRawPort = () => new SimRawPort(this, 'terminal');
  /** Opens the device's end. */
  readonly device: OpenRawPort = () => new SimRawPort(this, 'device');

  get deviceReading(): boolean {
    return this.held === null;
  }

  /** The cable is pulled: both ends lose the line; opens fail until replug(). */
  unplug(): void {
    if (!this.plugged) return;
    this.plugged = false;
    this.releaseHeld(new Error('Port is not open'));
    for (const port of [...this.open.values()]) {
      port.isOpen = false;
      this.open.delete(port.end);
      const err = Object.assign(new Error(`${this.path}: device disconnected`), { disconnected: true });
      this.later(() => port.closeListeners.forEach((l) => l(err)));
    }
  }

  replug(): void {
    this.plugged = true;
  }

  /** From now on the terminal's bytes are not taken by the device (its writes do not complete). */
  stopReading(): void {
    this.held ??= [];
  }

  /** The device reads again: the held bytes arrive and those writes complete. */
  resumeReading(): void {
    const held = this.held;
    this.held = null;
    for (const h of held ?? []) this.deliver('device', h.bytes, h.cb);
  }

  /** Noise on the wire: `bytes` arrive at the terminal as if the device had sent them. */
  noiseToTerminal(bytes: Buffer): void {
    this.deliver('terminal', bytes, () => undefined);
  }

  /** @internal */
  later(fn: () => void): void {
    this.clock.setTimer(0, fn);
  }

  /** @internal */
  attach(port: SimRawPort): void {
    this.open.set(port.end, port);
  }

  /** @internal */
  detach(port: SimRawPort): void {
    if (this.open.get(port.end) === port) this.open.delete(port.end);
    if (port.end === 'terminal') this.releaseHeld(new Error('Port is not open'));
  }

  /** @internal */
  carry(from: SimRawPort, bytes: Buffer, cb: (err: Error | null | undefined) => void): void {
    if (from.end === 'terminal' && this.held) {
      this.held.push({ bytes, cb });
      return;
    }
    this.deliver(from.end === 'terminal' ? 'device' : 'terminal', bytes, cb);
  }

  private deliver(to: End, bytes: Buffer, cb: (err: Error | null | undefined) => void): void {
    this.clock.setTimer(this.latencyMs, () => {
      const port = this.open.get(to);
      // Nobody on the far end: the bytes fall off the wire, the write itself went out.
      if (port?.isOpen) {
        if (to === 'device') this.carried.toDevice += bytes.length;
        else this.carried.toTerminal += bytes.length;
        for (const l of port.dataListeners) l(bytes);
      }
      cb(null);
    });
  }

  private releaseHeld(err: Error): void {
    const held = this.held;
    if (!held) return;
    this.held = [];
    for (const h of held) this.later(() => h.cb(err));
  }
}
