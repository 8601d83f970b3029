// Fault injection for the reader simulator: the control-line language (used by --faults files and stdin)
// and a ByteLink wrapper that damages outgoing frames on the wire.
import type { ByteLink, LinkHealth } from '../../protocol/io/byte-link.js';
import { ACK, MAX_LINE_BYTES } from '../../protocol/serial/frame.js';
import { COMMAND_TYPES, type ReaderCommand } from '../../protocol/reader/reader-messages.js';

/** Damage done to the next data frame the simulator sends. */
export type WireFault =
  | { kind: 'garbage' }
  | { kind: 'bad-crc' }
  | { kind: 'partial' }
  | { kind: 'oversize'; bytes: number }
  | { kind: 'duplicate' };

export type ReaderFault =
  | WireFault
  | { kind: 'no-reply' }
  | { kind: 'lose-reply' }
  | { kind: 'drop-ack' }
  | { kind: 'unplug'; ms: number }
  | { kind: 'decline-ac2' }
  /** The cardholder at the PIN pad: types a wrong PIN, presses cancel, or walks away until the entry times out. */
  | { kind: 'wrong-pin' }
  | { kind: 'pin-cancel' }
  | { kind: 'pin-timeout' };

export type ControlAction =
  | { kind: 'fault'; fault: ReaderFault; on?: ReaderCommand['type'] }
  | { kind: 'card'; name: string }
  | { kind: 'remove' };

export const CONTROL_HELP = `Control lines (stdin, or a --faults file read at start; '#' starts a comment):
  card NAME            present test card NAME (see --cards)
  remove               take the card away
  [on CMD] FAULT       arm FAULT for the next command received (or the next CMD:
                       ${COMMAND_TYPES.join(', ')})
Faults:
  garbage              a line of garbage bytes before the reply
  bad-crc              the reply goes out once with a wrong CRC
  partial              the reply goes out once cut in half, without its line end
  oversize [BYTES]     a line of BYTES (default ${MAX_LINE_BYTES * 2}) before the reply
  duplicate            the reply is written twice
  no-reply             the command is ACKed but never answered
  lose-reply           the command is carried out but its answer is lost on the way
                       (a repeat with the same id gets it from the cache; a new id
                       is a new command)
  drop-ack             the ACK of the next frame received is not sent (armed at once)
  unplug [MS]          close the port and reopen it after MS ms (default 1000);
                       without 'on CMD' it happens at once
  decline-ac2          the card answers AAC to the next GEN_AC2
  wrong-pin            the cardholder types a wrong PIN at the next PIN
  pin-cancel           the cardholder presses cancel at the next PIN
  pin-timeout          nobody types at the next PIN: PIN_CANCELLED (timeout) after its timeoutMs`;

export class ControlLineError extends Error {
  readonly code = 'CONTROL_LINE_INVALID';
  constructor(readonly line: string, detail: string) {
    super(`bad control line ${JSON.stringify(line)}: ${detail}`);
    this.name = 'ControlLineError';
  }
}

function intArg(line: string, v: string | undefined, dflt: number, max: number): number {
  if (v === undefined) return dflt;
  if (!/^\d{1,9}$/.test(v) || Number(v) > max) throw new ControlLineError(line, `expected a number up to ${max}, got ${v}`);
  return Number(v);
}

/** One control line → an action, or null for a blank or comment line. */
export function parseControlLine(line: string): ControlAction | null {
  const words = line.replace(/#.*/, '').trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return null;
  let on: ReaderCommand['type'] | undefined;
  if (words[0] === 'on') {
    const cmd = words[1];
    if (!cmd || !(COMMAND_TYPES as readonly string[]).includes(cmd)) throw new ControlLineError(line, `'on' needs one of ${COMMAND_TYPES.join(', ')}`);
    on = cmd as ReaderCommand['type'];
    words.splice(0, 2);
  }
  const [word, arg, extra] = words;
  if (extra !== undefined) throw new ControlLineError(line, `unexpected ${extra}`);
  const fault = (f: ReaderFault): ControlAction => (on ? { kind: 'fault', fault: f, on } : { kind: 'fault', fault: f });
  const noArg = () => {
    if (arg !== undefined) throw new ControlLineError(line, `${word} takes no argument`);
  };
  switch (word) {
    case 'card':
      if (on || !arg) throw new ControlLineError(line, 'usage: card NAME');
      return { kind: 'card', name: arg };
    case 'remove':
      if (on) throw new ControlLineError(line, "'remove' cannot follow 'on'");
      noArg();
      return { kind: 'remove' };
    case 'garbage':
    case 'bad-crc':
    case 'partial':
    case 'duplicate':
    case 'no-reply':
    case 'lose-reply':
    case 'drop-ack':
    case 'decline-ac2':
    case 'wrong-pin':
    case 'pin-cancel':
    case 'pin-timeout':
      noArg();
      return fault({ kind: word });
    case 'oversize':
      return fault({ kind: 'oversize', bytes: intArg(line, arg, MAX_LINE_BYTES * 2, 10_000_000) });
    case 'unplug':
      return fault({ kind: 'unplug', ms: intArg(line, arg, 1000, 600_000) });
    default:
      throw new ControlLineError(line, `unknown word ${word ?? ''}`);
  }
}

const GARBAGE = Buffer.from([0x00, 0xfe, 0x23, 0x30, 0x31, 0x20, 0xff, 0x1b, 0x40, 0x0d, 0x0a]);

/** Passes everything through, except that armed faults damage the next data frame or ACK written. */
export class FaultyByteLink implements ByteLink {
  private readonly wire: WireFault[] = [];
  private dropAcks = 0;

  constructor(private readonly inner: ByteLink) {}

  get path(): string {
    return this.inner.path;
  }

  arm(fault: WireFault): void {
    this.wire.push(fault);
  }

  armDropAck(): void {
    this.dropAcks++;
  }

  async write(bytes: Buffer): Promise<void> {
    // FrameLink writes exactly one frame per call; the type is the word after "#SS ".
    const type = bytes.toString('latin1', 4, bytes.indexOf(0x20, 4));
    if (type === ACK && this.dropAcks > 0) {
      this.dropAcks--;
      return;
    }
    const fault = type === ACK || type === 'NAK' ? undefined : this.wire.shift();
    if (!fault) return this.inner.write(bytes);
    switch (fault.kind) {
      case 'garbage':
        return this.inner.write(Buffer.concat([GARBAGE, bytes]));
      case 'oversize':
        await this.inner.write(Buffer.alloc(fault.bytes, 0x41));
        return this.inner.write(Buffer.concat([Buffer.of(0x0a), bytes]));
      case 'bad-crc': {
        const bad = Buffer.from(bytes);
        const at = bad.length - 2; // last CRC digit
        bad[at] = bad[at] === 0x30 ? 0x31 : 0x30;
        return this.inner.write(bad);
      }
      case 'partial':
        return this.inner.write(bytes.subarray(0, Math.floor(bytes.length / 2)));
      case 'duplicate':
        return this.inner.write(Buffer.concat([bytes, bytes]));
    }
  }

  onData(listener: (bytes: Buffer) => void): () => void {
    return this.inner.onData(listener);
  }

  onState(listener: (health: LinkHealth) => void): () => void {
    return this.inner.onState(listener);
  }

  health(): LinkHealth {
    return this.inner.health();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
