// The reason a reversal is owed rides on every log line about it, the ending one included, and nothing is
// kept for a reversal once it has left the open set — also when it left with no event (a supervisor's close).
import { describe, expect, it } from 'vitest';
import { ReversalReasons } from '../../firmware-ts/daemon/reversal-reasons.js';

type Owed = { stan: number; reason: '98' | 'A0' | '06' };

describe('ReversalReasons', () => {
  it('names the reason while owed and on the event that clears it', () => {
    let owed: Owed[] = [{ stan: 7, reason: '98' }];
    const r = new ReversalReasons(() => owed);
    expect(r.for({ type: 'reversal-sent', stan: 7 })).toEqual({ reason: '98 (no trustworthy reply from the acquirer)' });
    owed = [];
    expect(r.for({ type: 'reversal-cleared', stan: 7 })).toEqual({ reason: '98 (no trustworthy reply from the acquirer)' });
    expect(r.kept).toBe(0);
    expect(r.for({ type: 'reversal-cleared', stan: 7 })).toEqual({});
  });

  it('forgets a reversal closed without an event at the next reversal event', () => {
    let owed: Owed[] = [{ stan: 1, reason: '06' }, { stan: 2, reason: 'A0' }];
    const r = new ReversalReasons(() => owed);
    r.for({ type: 'reversal-stuck', stan: 1 });
    r.for({ type: 'reversal-sent', stan: 2 });
    expect(r.kept).toBe(2);
    owed = [{ stan: 2, reason: 'A0' }];
    expect(r.for({ type: 'reversal-no-answer', stan: 2 })).toEqual({ reason: 'A0 (reply failed its MAC check)' });
    expect(r.kept).toBe(1);
  });

  it('says nothing for events that are not about one reversal', () => {
    const r = new ReversalReasons(() => [{ stan: 3, reason: '98' }]);
    expect(r.for({ type: 'reversal-round-scheduled' })).toEqual({});
    expect(r.for({ type: 'receipt-printed', stan: 3 })).toEqual({});
  });
});
