// The daemon's log: one line per event, `time event key=value ...`, for a field engineer reading a terminal's
// console. Events never carry card data: the engine and link emit masked PANs and STANs only.
import type { Clock } from '../../protocol/io/clock.js';

export type LogFields = Record<string, string | number | boolean | undefined | null>;

export interface DaemonLog {
  event(name: string, fields?: LogFields): void;
}

const quote = (v: string) => (/[\s"=]/.test(v) ? JSON.stringify(v) : v);

export function lineLog(write: (line: string) => void, clock: Clock): DaemonLog {
  return {
    event(name, fields = {}) {
      const parts = [new Date(clock.now()).toISOString(), name];
      for (const [k, v] of Object.entries(fields)) if (v !== undefined && v !== null) parts.push(`${k}=${quote(String(v))}`);
      write(parts.join(' ') + '\n');
    },
  };
}
