// The client's request id checked before a card is read (issue 14, mutation run): its length bounds, its
// characters (anchored: one bad character anywhere refuses it), and nothing shaped like card data.
import { describe, expect, it } from 'vitest';
import { MAX_REQUEST_ID_LENGTH, requestIdProblem } from '../../firmware-ts/txn/request-id.js';

describe('requestIdProblem', () => {
  it('1 to 64 characters', () => {
    expect(MAX_REQUEST_ID_LENGTH).toBe(64);
    expect(requestIdProblem('')).toBe('a request id is 1..64 characters');
    expect(requestIdProblem('a')).toBeNull();
    expect(requestIdProblem('a'.repeat(64))).toBeNull();
    expect(requestIdProblem('a'.repeat(65))).toBe('a request id is 1..64 characters');
  });

  it('only A-Z a-z 0-9 . _ : -, wherever the bad character is', () => {
    expect(requestIdProblem('Till-3_sale.42:retry')).toBeNull();
    for (const id of ['has space', ' lead', 'trail ', 'semi;colon', 'slash/', 'über', 'new\nline']) {
      expect(requestIdProblem(id)).toBe('a request id uses only A-Z a-z 0-9 . _ : -');
    }
  });

  it('not a Luhn-valid PAN-length digit run: it would be journaled', () => {
    expect(requestIdProblem('6222020200112233445')).toBe('a request id must not look like card data (a long Luhn-valid digit run, a track): it is journaled');
    expect(requestIdProblem('order-20260102-0001')).toBeNull();
  });
});
