// The daemon's log: one line per event, `time event key=value ...`, for a field engineer reading a terminal's
// console. Events never carry card data: the engine and link emit masked PANs and STANs only.
import type { Clock } from '../../protocol/io/clock.js';

export type LogFields = Record<string, string | number | boolean | undefined | null>;

export interface DaemonLog {
  /** `at`: when it happened (epoch ms), for a log that writes it later (deferred-log.ts); now when absent. */
  event(name: string, fields?: LogFields, at?: number): void;
}

const quote = (v: string) => (/[\s"=]/.test(v) ? JSON.stringify(v) : v);

export function lineLog(write: (line: string) => void, clock: Clock): DaemonLog {
  return {
    event(name, fields = {}, at = clock.now()) {
      const parts = [new Date(at).toISOString(), name];
      for (const [k, v] of Object.entries(fields)) if (v !== undefined && v !== null) parts.push(`${k}=${quote(String(v))}`);
      write(parts.join(' ') + '\n');
    },
  };
}
