// Hostile bytes at the simulated host: random and mutated request frames never throw out of handle()
// (which would stop the server) and never produce a malformed reply, MAC'd or not.
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nodeStorage } from '../../firmware-ts/io/node-storage.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { AcquirerHost } from '../../host-bridge/acquirer/index.js';
import {
  decodeCup,
  defaultTerminalEnvelope,
  encodeCup,
  encodeCupWithMac,
  reversalRequest,
  settlementRequest,
  signOnRequest,
  unwrapWorkingKeys,
} from '../../protocol/iso8583/index.js';
import { tmpDir } from '../helpers/tmp.js';
import { BATCH, ID, request, TMK } from './harness.js';

describe('simulated host under fuzz', () => {
  it('answers or ignores every mutated request without throwing', () => {
    const host = AcquirerHost.open({
      storage: nodeStorage,
      ledgerPath: path.join(tmpDir('host-fuzz'), 'acq.jsonl'),
      tmk: TMK,
      clock: new ManualClock(),
    });
    const signOn = host.handle(encodeCup(defaultTerminalEnvelope, signOnRequest(ID, '000001', BATCH)));
    if (signOn.kind !== 'send') throw new Error('no sign-on reply');
    const mak = unwrapWorkingKeys(TMK, decodeCup(signOn.frames[0]!.body).message.fields.get(62) as Buffer).mac;
    const sale = request('sale', '000002', '000000000100');
    const seeds = [
      sale,
      request('void', '000003', '000000000100', { original: { batch: BATCH, stan: '000002' } }),
      request('refund', '000004', '000000000100', { originalRrn: '000000000002' }),
      reversalRequest(sale, '98', false),
      settlementRequest(ID, '000005', BATCH, { debitAmount: 100n, debitCount: 1, creditAmount: 0n, creditCount: 0 }),
    ].map((m) => encodeCupWithMac(defaultTerminalEnvelope, m, mak).body);
    try {
      fc.assert(
        fc.property(
          fc.constantFrom(...seeds),
          fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 3 }),
          (seed, flips) => {
            const body = Buffer.from(seed);
            for (const [at, bits] of flips) body[at % body.length]! ^= bits;
            const replies = [host.handle(body)];
            // A mutation that still decodes is re-MAC'd, so odd field combinations reach the handlers.
            let decoded;
            try {
              decoded = decodeCup(body);
            } catch {
              decoded = undefined;
            }
            if (decoded) replies.push(host.handle(encodeCupWithMac(decoded.envelope, decoded.message, mak).body));
            for (const reply of replies) {
              if (reply.kind === 'send') for (const f of reply.frames) expect(() => decodeCup(f.body)).not.toThrow();
            }
          },
        ),
        { numRuns: 1500 },
      );
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
          host.handle(Buffer.from(bytes));
        }),
        { numRuns: 500 },
      );
    } finally {
      host.close();
    }
  });
});
