// The daemon's log: one line per event, `time event key=value ...`, for a field engineer reading a terminal's
// console. Events never carry card data: the engine and link emit masked PANs and STANs only.
import type { Clock } from '../../protocol/io/clock.js';

export type LogFields = Record<string, string | number | boolean | undefined | null>;

/** One event as a log that writes later holds it (deferred-log.ts): `at` is when it happened, epoch ms. */
export interface LogEvent {
  name: string;
  fields: LogFields | undefined;
  at: number;
}

export interface DaemonLog {
  /** `at`: when it happened (epoch ms), for a log that writes it later (deferred-log.ts); now when absent. */
  event(name: string, fields?: LogFields, at?: number): void;
  /**
   * Several events in order, written out together (one write for all of them where the log can): what the
   * deferred log hands over once per turn. Absent: each goes through event().
   */
  events?(list: readonly LogEvent[]): void;
}

/** Writes `list` to `log` in order, in one go when the log takes a batch. */
export function writeEvents(log: DaemonLog, list: readonly LogEvent[]): void {
  if (list.length === 0) return;
  if (log.events) log.events(list);
  else for (const e of list) log.event(e.name, e.fields, e.at);
}

const quote = (v: string) => (/[\s"=]/.test(v) ? JSON.stringify(v) : v);

function formatLine(name: string, fields: LogFields, at: number): string {
  let line = `${new Date(at).toISOString()} ${name}`;
  for (const k in fields) {
    const v = fields[k];
    if (v !== undefined && v !== null) line += ` ${k}=${quote(String(v))}`;
  }
  return line + '\n';
}

/** Readable lines through `write`: one call per event, or one call for a batch of events (its lines joined). */
export function lineLog(write: (line: string) => void, clock: Clock): DaemonLog {
  return {
    event(name, fields = {}, at = clock.now()) {
      write(formatLine(name, fields, at));
    },
    events(list) {
      let text = '';
      for (const e of list) text += formatLine(e.name, e.fields ?? {}, e.at);
      if (text) write(text);
    },
  };
}
