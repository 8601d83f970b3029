// The query of a journal export, as posj journal export, the terminal's service port and posj-bridge journal
// export all read it: a time that is not ISO 8601 ("yesterday", "now", "1") or a reversed range is bad usage
// naming the option and the accepted forms, not an empty export that reads as "no transaction found"; and
// an export that matches nothing says so in words.
import { describe, expect, it } from 'vitest';
import { noneFound, queryOf } from '../../firmware-ts/evidence/evidence.js';
import { posjBridge, requireDist } from '../helpers/kill-rig.js';

describe('the query of a journal export', () => {
  it('takes ISO 8601 dates and date-times, from the earlier to the later', () => {
    expect(queryOf({ from: '2026-12-01', to: '2026-12-01T23:59:59.999Z' })).toEqual({ from: '2026-12-01', to: '2026-12-01T23:59:59.999Z' });
    expect(queryOf({ from: '2026-12-01T09:00', to: '2026-12-01T17:00:00+08:00' })).toMatchObject({ from: '2026-12-01T09:00' });
    expect(queryOf({ from: '2026-12-01T09:00:00Z', to: '2026-12-01T09:00:00Z' })).toMatchObject({ to: '2026-12-01T09:00:00Z' });
  });

  it.each([
    [{ from: 'yesterday', to: '2026-12-01' }, /^--from "yesterday": not an ISO 8601 time: 2026-12-01T09:00:00Z, /],
    [{ from: '2026-12-01', to: 'now' }, /^--to "now": not an ISO 8601 time/],
    [{ from: '1', to: '2026-12-01' }, /^--from "1": not an ISO 8601 time/],
    [{ from: '2026-02-30', to: '2026-12-01' }, /^--from "2026-02-30": not an ISO 8601 time/],
    [{ from: '2026-12-02', to: '2026-12-01' }, /^--from 2026-12-02 is after --to 2026-12-01: the range is reversed/],
  ])('%j is bad usage', (o, said) => {
    expect(() => queryOf(o)).toThrow(said);
    try {
      queryOf(o);
    } catch (e) {
      expect((e as { code?: string }).code).toBe('USAGE');
    }
  });

  it('none found, in words', () => {
    expect(noneFound({ stan: 9999 })).toBe('no transaction with STAN 9999 in the journal');
    expect(noneFound({ stan: 7, batch: 2 })).toBe('no transaction with STAN 7 in batch 2 in the journal');
    expect(noneFound({ rrn: '123456789012' })).toBe('no transaction with RRN 123456789012 in the journal');
  });

  it('posj-bridge journal export refuses a bad time before it opens the port (exit 2, the option named)', async () => {
    requireDist();
    for (const [args, said] of [
      [['--from', 'yesterday', '--to', 'now'], '--from "yesterday": not an ISO 8601 time'],
      [['--from', '2026-12-02', '--to', '2026-12-01'], '--from 2026-12-02 is after --to 2026-12-01: the range is reversed'],
    ] as const) {
      const r = await posjBridge(['journal', 'export', '--port', '/dev/posj-no-such-port', ...args]);
      expect(r.stderr).toContain(said);
      expect(r.status).toBe(2);
    }
  });
});
