// The daemon's log file beside the journal: one JSON object per event (pino), rotated by size by pino-roll
// and bounded in count, so a terminal left running for months never fills its storage with log. The same
// events go to stderr as readable lines (daemon-log.ts); the file is what a field engineer pulls later.
//
// The deferred log (deferred-log.ts) hands over one turn's events at once (events()), and they go to the
// file stream in one write, not one per event. The stream stays asynchronous (sonic-boom on the thread
// pool): measured against a synchronous stream (fs.writeSync on the event loop), the synchronous one cost
// the same CPU and a worse p99 sale on a loaded machine. What a crash can lose is unchanged: the lines of
// the last turn or two still in the stream; every exit path of `posj run` calls close(), which writes
// them out synchronously. The log is for reading; the journal is what must survive.
import * as path from 'node:path';
import { pino } from 'pino';
import roll from 'pino-roll';
import { writeEvents, type DaemonLog } from './daemon-log.js';

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
  // pino writes each line here; the lines of one event() or events() call go to the file in one write.
  let lines = '';
  const collector = { write: (line: string) => void (lines += line) };
  const writeOut = () => {
    if (lines === '') return;
    const text = lines;
    lines = '';
    stream.write(text);
  };
  // pino's isoTime, of the event's own time (a deferred log writes it later than it happened).
  let at = 0;
  const logger = pino({ base: null, timestamp: () => `,"time":"${new Date(at).toISOString()}"`, messageKey: 'event' }, collector);
  const one = (name: string, fields: Record<string, unknown>, when: number) => {
    const clean: Record<string, unknown> = {};
    for (const k in fields) if (fields[k] !== undefined && fields[k] !== null) clean[k] = fields[k];
    at = when;
    logger.info(clean, name);
  };
  return {
    event(name, fields = {}, when = Date.now()) {
      one(name, fields, when);
      writeOut();
    },
    events(list) {
      for (const e of list) one(e.name, e.fields ?? {}, e.at);
      writeOut();
    },
    close() {
      writeOut();
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
  return {
    event: (name, fields, at) => logs.forEach((l) => l.event(name, fields, at)),
    events: (list) => logs.forEach((l) => writeEvents(l, list)),
  };
}
