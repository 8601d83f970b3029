// The daemon's log file beside the journal: one JSON object per event (pino), rotated by size by pino-roll
// and bounded in count, so a terminal left running for months never fills its storage with log. The same
// events go to stderr as readable lines (daemon-log.ts); the file is what a field engineer pulls later.
import * as path from 'node:path';
import { pino } from 'pino';
import roll from 'pino-roll';
import type { DaemonLog } from './daemon-log.js';

export interface FileLogOptions {
  /** The log file's path without its rotation number: `posj` → posj.1.log, posj.2.log, ... */
  file: string;
  /** Bytes per file before it rolls over. */
  maxBytes: number;
  /** Rolled files kept besides the one being written. */
  keep: number;
}

/** Default size bound: 4 files of 1 MiB, the current one included. */
export const DEFAULT_LOG_BYTES = 1024 * 1024;
export const DEFAULT_LOG_KEEP = 3;

export interface FileLog extends DaemonLog {
  /** Writes out what is buffered; call before the process exits. */
  close(): void;
}

export async function openFileLog(o: FileLogOptions): Promise<FileLog> {
  const stream = await roll({
    file: o.file,
    extension: '.log',
    size: `${Math.max(1, Math.round(o.maxBytes / 1024))}k`,
    mkdir: true,
    // Files from earlier runs count against the bound too.
    limit: { count: o.keep, removeOtherLogFiles: true },
  });
  // pino's isoTime, of the event's own time (a deferred log writes it later than it happened).
  let at = 0;
  const logger = pino({ base: null, timestamp: () => `,"time":"${new Date(at).toISOString()}"`, messageKey: 'event' }, stream);
  return {
    event(name, fields = {}, when = Date.now()) {
      const clean = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined && v !== null));
      at = when;
      logger.info(clean, name);
    },
    close() {
      try {
        stream.flushSync();
      } catch {
        // Just rolled over to a file still opening: end() writes what is buffered once it is open.
        stream.end();
      }
    },
  };
}

/** `<dir of the journal>/log/posj`: beside the journal, never inside it (the journal directory holds only the journal). */
export function defaultLogFile(journalDir: string): string {
  return path.join(path.dirname(journalDir), 'log', 'posj');
}

/** One event to several logs. */
export function teeLog(...logs: DaemonLog[]): DaemonLog {
  return { event: (name, fields, at) => logs.forEach((l) => l.event(name, fields, at)) };
}
