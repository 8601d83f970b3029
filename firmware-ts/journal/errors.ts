// Typed journal errors: each names what was wrong and where, so a field engineer (or a script reading
// `--json`) can act without a debugger.

export class JournalError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Damage that is not a torn tail: a bad record followed by good ones, or any damage in an older segment. */
export class JournalCorruptionError extends JournalError {
  constructor(
    readonly segment: string,
    readonly offset: number,
    readonly reason: string,
  ) {
    super('JOURNAL_CORRUPT', `journal corrupt in segment ${segment} at offset ${offset}: ${reason}`);
  }
}

export class JournalLockedError extends JournalError {
  constructor(
    readonly dir: string,
    readonly pid: number,
    why = 'could not be taken',
  ) {
    super('JOURNAL_LOCKED', pid > 0 ? `journal is locked by pid ${pid} (${dir})` : `journal lock in ${dir} ${why}`);
  }
}

/** `posj run` exits with this when its journal failed a write or sync: init restarts it, and it reopens from disk. */
export const JOURNAL_FAILED_EXIT = 74;

/** Raised after an fsync/fdatasync failure; the journal refuses writes until reopened from disk. */
export class JournalClosedError extends JournalError {
  constructor(override readonly cause?: unknown) {
    super(
      'JOURNAL_CLOSED',
      `journal is closed for writing${cause ? ` after: ${(cause as Error).message ?? cause}` : ''}; nothing more is written until it is reopened from disk: restart the daemon (posj run exits ${JOURNAL_FAILED_EXIT} so its init does), and if the disk is full free space or let retention run`,
    );
  }
}

/** A payload that would put sensitive card data on disk (DESIGN rule 6). */
export class SensitiveDataError extends JournalError {
  constructor(
    readonly what: string,
    readonly where: string,
  ) {
    super('SENSITIVE_DATA', `refused to journal ${what} at ${where}`);
  }
}

export class JournalTamperError extends JournalError {
  constructor(
    readonly segment: string,
    readonly offset: number,
    readonly seq: number,
    readonly reason = 'a record was edited, removed or reordered',
  ) {
    super('JOURNAL_TAMPERED', `journal tampered in segment ${segment} at offset ${offset} (seq ${seq}): ${reason}`);
  }
}

export class JournalSchemaError extends JournalError {
  constructor(
    readonly type: string,
    readonly version: number,
    readonly detail: string,
  ) {
    super('JOURNAL_SCHEMA', `record ${type} v${version}: ${detail}`);
  }
}
