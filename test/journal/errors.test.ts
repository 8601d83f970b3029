// The journal's typed errors are what a field engineer reads in the daemon's log and what scripts switch on:
// each keeps its code, its class name (for `instanceof` and for the log), the fields it was given, and a
// message that says what and where.
import { describe, expect, it } from 'vitest';
import {
  JOURNAL_FAILED_EXIT,
  JournalClosedError,
  JournalCorruptionError,
  JournalError,
  JournalLockedError,
  JournalSchemaError,
  JournalTamperError,
  SensitiveDataError,
} from '../../firmware-ts/journal/errors.js';

describe('journal errors', () => {
  it('say what and where, with their code and class name', () => {
    const cases: [JournalError, string, string, string][] = [
      [new JournalCorruptionError('00000000000000000001.wal', 4096, 'bad CRC'), 'JOURNAL_CORRUPT', 'JournalCorruptionError', 'journal corrupt in segment 00000000000000000001.wal at offset 4096: bad CRC'],
      [new JournalLockedError('/data/j', 4242), 'JOURNAL_LOCKED', 'JournalLockedError', 'journal is locked by pid 4242 (/data/j)'],
      [new JournalLockedError('/data/j', 0), 'JOURNAL_LOCKED', 'JournalLockedError', 'journal lock in /data/j could not be taken'],
      [new JournalLockedError('/data/j', -1, 'is held by a dead opener'), 'JOURNAL_LOCKED', 'JournalLockedError', 'journal lock in /data/j is held by a dead opener'],
      [new SensitiveDataError('a full PAN', 'records[0](txn.intent).pan'), 'SENSITIVE_DATA', 'SensitiveDataError', 'refused to journal a full PAN at records[0](txn.intent).pan'],
      [new JournalTamperError('x.wal', 128, 9), 'JOURNAL_TAMPERED', 'JournalTamperError', 'journal tampered in segment x.wal at offset 128 (seq 9): a record was edited, removed or reordered'],
      [new JournalTamperError('x.wal', 128, 9, 'segment header MAC'), 'JOURNAL_TAMPERED', 'JournalTamperError', 'journal tampered in segment x.wal at offset 128 (seq 9): segment header MAC'],
      [new JournalSchemaError('txn.intent', 4, 'written by a newer build'), 'JOURNAL_SCHEMA', 'JournalSchemaError', 'record txn.intent v4: written by a newer build'],
      [new JournalError('RESERVED_TYPE', 'no'), 'RESERVED_TYPE', 'JournalError', 'no'],
    ];
    for (const [e, code, name, message] of cases) {
      expect(e).toBeInstanceOf(JournalError);
      expect(e).toBeInstanceOf(Error);
      expect([e.code, e.name, e.message]).toEqual([code, name, message]);
    }
    const c = new JournalCorruptionError('s', 1, 'r');
    expect([c.segment, c.offset, c.reason]).toEqual(['s', 1, 'r']);
    const t = new JournalTamperError('s', 2, 3);
    expect([t.segment, t.offset, t.seq]).toEqual(['s', 2, 3]);
    const l = new JournalLockedError('d', 7);
    expect([l.dir, l.pid]).toEqual(['d', 7]);
    const p = new SensitiveDataError('w', 'at');
    expect([p.what, p.where]).toEqual(['w', 'at']);
    const s = new JournalSchemaError('t', 2, 'd');
    expect([s.type, s.version, s.detail]).toEqual(['t', 2, 'd']);
  });

  it('a closed journal says what closed it and what the engineer does next, with the exit code init restarts on', () => {
    expect(JOURNAL_FAILED_EXIT).toBe(74);
    const tail = `; nothing more is written until it is reopened from disk: restart the daemon (posj run exits 74 so its init does), and if the disk is full free space or let retention run`;
    const cause = Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
    const e = new JournalClosedError(cause);
    expect([e.code, e.name, e.cause]).toEqual(['JOURNAL_CLOSED', 'JournalClosedError', cause]);
    expect(e.message).toBe(`journal is closed for writing after: EIO: i/o error, fdatasync${tail}`);
    expect(new JournalClosedError().message).toBe(`journal is closed for writing${tail}`);
    expect(new JournalClosedError('ENOSPC').message).toBe(`journal is closed for writing after: ENOSPC${tail}`);
  });
});
