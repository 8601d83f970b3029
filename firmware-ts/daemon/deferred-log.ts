// The daemon's log written one turn of the event loop later (setImmediate): formatting a line, pino's
// serializer and the writes to stderr and the log file then cost a sale's answer nothing — the answer is
// on the control socket before its log lines are built. Each event keeps the time it happened at, and the
// events of one turn go to the target together (DaemonLog.events: one write per output for all of them, not
// one per event). A crash loses at most the events of the turn it crashed in; every exit path of `posj run`
// calls flush() first.
import type { Clock } from '../../protocol/io/clock.js';
import { writeEvents, type DaemonLog, type LogEvent } from './daemon-log.js';

export interface DeferredLog extends DaemonLog {
  /** Writes every queued event now, in order. */
  flush(): void;
}

export function deferredLog(target: DaemonLog, clock: Clock): DeferredLog {
  let queued: LogEvent[] = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    const events = queued;
    queued = [];
    writeEvents(target, events);
  };
  return {
    event(name, fields, at) {
      queued.push({ name, fields, at: at ?? clock.now() });
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    flush,
  };
}
