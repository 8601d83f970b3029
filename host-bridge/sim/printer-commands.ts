// The fault vocabulary of the printer simulator: one word per thing that goes wrong with a real printer, the
// same words for tests (PrinterSimulator.apply) and for a bench operator (control lines on stdin, --fault).
import { NORMAL_CONDITIONS, type PrinterConditions } from './printer-device.js';

export type SimCommand =
  | { kind: 'set'; name: string; changes: Partial<PrinterConditions> }
  /** Send this many noise bytes to the terminal now, unasked. */
  | { kind: 'garbage'; bytes: number }
  /** Close the serial port, as if the cable were pulled on the printer side. */
  | { kind: 'unplug' }
  /** Reopen the serial port. */
  | { kind: 'replug' }
  /** Print the simulator's state on stdout. */
  | { kind: 'status' };

export const CONDITION_COMMANDS: Readonly<Record<string, Partial<PrinterConditions>>> = {
  'paper-out': { paperEnd: true },
  'paper-near-end': { paperNearEnd: true },
  'paper-in': { paperEnd: false, paperNearEnd: false },
  'cover-open': { coverOpen: true },
  'cover-close': { coverOpen: false },
  offline: { offline: true },
  online: { offline: false },
  'cutter-error': { autoCutterError: true },
  'cutter-ok': { autoCutterError: false },
  'no-reply': { noReply: true },
  reply: { noReply: false },
  'garbage-replies': { garbageReplies: true },
  'clean-replies': { garbageReplies: false },
  reset: { ...NORMAL_CONDITIONS },
};

const MAX_GARBAGE = 4096;

export const COMMAND_HELP = [
  ...Object.keys(CONDITION_COMMANDS),
  'garbage [N] (send N noise bytes now, default 16)',
  'unplug',
  'replug',
  'status',
].join(', ');

export class SimCommandError extends Error {
  override readonly name = 'SimCommandError';
  readonly code = 'SIM_BAD_COMMAND';
}

export function parseSimCommand(line: string): SimCommand {
  const [word = '', arg, ...rest] = line.trim().split(/\s+/);
  const changes = CONDITION_COMMANDS[word];
  if (changes && arg === undefined) return { kind: 'set', name: word, changes };
  if (word === 'garbage' && rest.length === 0) {
    const n = arg === undefined ? 16 : Number(arg);
    if (!Number.isInteger(n) || n < 1 || n > MAX_GARBAGE) throw new SimCommandError(`garbage: N must be 1..${MAX_GARBAGE}, got ${arg}`);
    return { kind: 'garbage', bytes: n };
  }
  if ((word === 'unplug' || word === 'replug' || word === 'status') && arg === undefined) return { kind: word };
  throw new SimCommandError(`unknown printer simulator command ${JSON.stringify(line.trim())}; known: ${COMMAND_HELP}`);
}
