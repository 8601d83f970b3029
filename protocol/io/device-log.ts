// What drivers tell a field engineer: one plain sentence per event, naming the device and the serial path.
// A small interface so the daemon can route it to its own log and tests can capture it.
import type { Clock } from './clock.js';

export interface DeviceLog {
  info(message: string): void;
  warn(message: string): void;
}

export const silentLog: DeviceLog = { info() {}, warn() {} };

/** Lines like `2026-05-01T10:00:00.000Z WARN serial /dev/ttyS1: line lost ...` on stderr. */
export function stderrLog(clock: Clock): DeviceLog {
  const line = (level: string, message: string) =>
    process.stderr.write(`${new Date(clock.now()).toISOString()} ${level} ${message}\n`);
  return { info: (m) => line('INFO', m), warn: (m) => line('WARN', m) };
}

/** Keeps every line in memory; for tests and for `posj status` to show the last few. */
export class MemoryLog implements DeviceLog {
  readonly lines: string[] = [];
  constructor(private readonly limit = 200) {}
  info(message: string): void {
    this.push(`INFO ${message}`);
  }
  warn(message: string): void {
    this.push(`WARN ${message}`);
  }
  private push(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.limit) this.lines.shift();
  }
}
