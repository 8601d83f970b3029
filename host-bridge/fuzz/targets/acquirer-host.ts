// The acquirer simulator's request handling (AcquirerHost.handle) on an in-memory disk: any frame body is
// answered with replies that decode and carry a valid MAC when the request's did, or dropped; nothing
// escapes but a ledger write failure (which this disk never has). Structure-aware: the suite's requests
// with fields changed and the MAC recomputed under the session key, so mutations reach the handlers
// instead of stopping at A0. The ledger is reset every so often, or it would grow with every approval.
import { SimDisk } from '../../terminal-sim/sim-disk.js';
import { AcquirerHost } from '../../acquirer/index.js';
import { systemClock } from '../../../protocol/io/clock.js';
import {
  cupDialect,
  decodeCup,
  defaultTerminalEnvelope,
  encodeCup,
  encodeCupWithMac,
  Iso8583EncodeError,
  SecretKey,
  signOnRequest,
  textField,
  unwrapWorkingKeys,
  verifyCupMac,
} from '../../../protocol/iso8583/index.js';
import { FuzzFinding, type FuzzTarget } from '../target.js';
import { mutateMessage } from './iso-values.js';
import { SEED_ID, seedRequests } from './wire-seeds.js';

const TMK = SecretKey.fromHex('0123456789ABCDEFFEDCBA9876543210');

interface Session {
  host: AcquirerHost;
  mak: SecretKey;
}

function open(): Session {
  const host = AcquirerHost.open({ storage: new SimDisk(), ledgerPath: '/acquirer/ledger.jsonl', tmk: TMK, clock: systemClock, random: (n) => Buffer.alloc(n, 0x5a) });
  const reply = host.handle(encodeCup(defaultTerminalEnvelope, signOnRequest(SEED_ID, '000001', '000001')));
  if (reply.kind !== 'send') throw new Error('the host did not answer the sign-on');
  const mak = unwrapWorkingKeys(TMK, decodeCup(reply.frames[0]!.body).message.fields.get(62) as Buffer).mac;
  return { host, mak };
}

let session: Session | undefined;
const current = () => (session ??= open());

export const acquirerHost: FuzzTarget = {
  name: 'acquirer-host',
  covers: ['/host-bridge/acquirer/', '/protocol/iso8583/cup-messages'],
  maxLen: 2048,
  seeds: () => seedRequests().map((m) => (m.mti === '0800' ? encodeCup(defaultTerminalEnvelope, m) : encodeCupWithMac(defaultTerminalEnvelope, m, current().mak).body)),
  structured(input, rng) {
    let decoded;
    try {
      decoded = decodeCup(input);
    } catch {
      return undefined;
    }
    try {
      return encodeCupWithMac(decoded.envelope, mutateMessage(cupDialect, decoded.message, rng), current().mak).body;
    } catch (e) {
      if (e instanceof Iso8583EncodeError) return undefined;
      throw e;
    }
  },
  run(input) {
    const { host, mak } = current();
    let authenticated = false;
    try {
      const req = decodeCup(input);
      authenticated = req.message.mti !== '0800' && verifyCupMac(input, req.message, mak);
    } catch {
      // the host drops what does not decode
    }
    const reply = host.handle(input);
    if (reply.kind !== 'send') return;
    for (const f of reply.frames) {
      const res = decodeCup(f.body);
      // A0 is the answer to a request the host could not authenticate (no session for its field 41): no MAC.
      const code = textField(res.message, 39);
      if (authenticated && code !== 'A0' && !verifyCupMac(f.body, res.message, mak)) throw new FuzzFinding(`reply ${res.message.mti} (${code}) to a MAC'd request has no valid MAC`);
    }
  },
  // The host's balance check folds the whole ledger per sale: keep it short.
  resetEvery: 4096,
  reset() {
    session?.host.close();
    session = undefined;
  },
};
