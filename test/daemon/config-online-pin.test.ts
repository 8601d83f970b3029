// The `onlinePin` config section: the acquirer profile's amount and the PIN pad's entry time, checked key
// by key like every other section, and handed to the engine (online-pin.ts) by the daemon.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig } from '../../firmware-ts/daemon/config.js';
import { pinWanted } from '../../firmware-ts/txn/online-pin.js';
import { Secret } from '../../firmware-ts/devices/card-reader/secret.js';
import { cardholderVerification } from '../../firmware-ts/devices/card-reader/emv-data.js';

const good = {
  journalDir: 'j',
  terminalId: '12345678',
  merchantId: '898310048990001',
  merchantName: 'Shop',
  acquirer: { host: '127.0.0.1', port: 1, tmk: '0123456789ABCDEFFEDCBA9876543210' },
  reader: 'simulated',
  printer: 'simulated',
};

const keyError = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('no ConfigError');
};

describe('config: onlinePin', () => {
  it('is absent unless given; entryMs defaults to 60 s; the shipped example sets both keys', () => {
    expect(parseConfig(good, '/').onlinePin).toBeUndefined();
    expect(parseConfig({ ...good, onlinePin: {} }, '/').onlinePin).toEqual({ entryMs: 60_000 });
    expect(parseConfig({ ...good, onlinePin: { fromAmount: 50_000, entryMs: 20_000 } }, '/').onlinePin).toEqual({ fromAmount: 50_000, entryMs: 20_000 });
    expect(loadConfig('docs/posj.example.jsonc').onlinePin).toEqual({ fromAmount: 100_000, entryMs: 60_000 });
  });

  it('a bad value or an unknown key names its path', () => {
    expect(keyError(() => parseConfig({ ...good, onlinePin: { entryMs: 10 } }, '/')).message).toContain('config key "onlinePin.entryMs": must be a whole number 1000..300000');
    expect(keyError(() => parseConfig({ ...good, onlinePin: { fromAmount: 0 } }, '/')).message).toContain('config key "onlinePin.fromAmount"');
    expect(keyError(() => parseConfig({ ...good, onlinePin: { fromAmunt: 5 } }, '/')).message).toMatch(/onlinePin\.fromAmunt.*fromAmount/);
  });
});

describe('when the engine asks for a PIN', () => {
  const card = (cvm?: 'online-pin' | 'no-online-pin') => ({
    entryMode: 'chip' as const,
    posEntryMode: '05',
    maskedPan: '620000******0005',
    pan: new Secret('6200000000000005'),
    expiry: new Secret('3012'),
    emvData: Buffer.alloc(0),
    ...(cvm ? { cvm } : {}),
  });
  it('the card says online PIN: sale, pre-authorization and balance ask; a refund does not', () => {
    for (const kind of ['sale', 'preauth', 'balance'] as const) expect(pinWanted(kind, 100, card('online-pin'), undefined)).toBe(true);
    expect(pinWanted('refund', 100, card('online-pin'), undefined)).toBe(false);
  });
  it('the acquirer profile: every sale from its amount, whatever the card says', () => {
    expect(pinWanted('sale', 99_999, card('no-online-pin'), { fromAmount: 100_000 })).toBe(false);
    expect(pinWanted('sale', 100_000, card('no-online-pin'), { fromAmount: 100_000 })).toBe(true);
    expect(pinWanted('sale', 100_000, card(), { fromAmount: 100_000 })).toBe(true);
    expect(pinWanted('sale', 1_000_000, card(), undefined)).toBe(false);
    // A balance inquiry asks only when the card says so: it moves no money for the profile's amount to cover.
    expect(pinWanted('balance', 100_000, card('no-online-pin'), { fromAmount: 1 })).toBe(false);
  });
});

describe("the card's CVM, as the driver reads it", () => {
  const cvm = (hex: string) => [{ tag: '9F34', value: Buffer.from(hex, 'hex') }];
  it('chip: CVM results 02 or 42 (enciphered PIN online) say online PIN; others do not', () => {
    expect(cardholderVerification(cvm('020000'), undefined)).toBe('online-pin');
    expect(cardholderVerification(cvm('420000'), undefined)).toBe('online-pin');
    expect(cardholderVerification(cvm('1F0002'), undefined)).toBe('no-online-pin');
    expect(cardholderVerification(cvm('5E0000'), undefined)).toBe('no-online-pin');
    expect(cardholderVerification(cvm('02'), undefined)).toBe('no-online-pin');
  });
  it('magstripe: the service code decides (third digit 0, 3, 5, 6, 7: PIN)', () => {
    const t2 = (sc: string) => `4242424242424242D2808${sc}0000`;
    for (const sc of ['220', '226', '205', '203', '127']) expect(cardholderVerification([], t2(sc))).toBe('online-pin');
    for (const sc of ['201', '101', '221']) expect(cardholderVerification([], t2(sc))).toBe('no-online-pin');
    expect(cardholderVerification([], undefined)).toBe('no-online-pin');
  });
});
