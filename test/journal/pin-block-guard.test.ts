// The journal's PCI guard for PIN blocks (DESIGN rule 6, PCI DSS 3.3.1): an encrypted PIN block has no
// shape a pattern could catch, so while one is in flight the journal refuses any record that holds its
// bytes — as hex in either case, as base64, or raw — and takes the same record once the block is released.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SensitiveDataError } from '../../firmware-ts/journal/errors.js';
import { holdPinBlock, pinBlocksInFlight } from '../../firmware-ts/pci/pin-blocks-in-flight.js';
import { TerminalRecord } from '../../firmware-ts/txn/records.js';
import { openTerminalJournal } from '../../firmware-ts/txn/terminal-journal.js';
import { tmpDir } from '../helpers/tmp.js';

describe('PIN blocks in flight never reach the journal', () => {
  it('refuses the block as upper and lower hex, base64 and raw bytes, naming the record; takes it once released', async () => {
    const j = await openTerminalJournal({ dir: tmpDir('pin-guard'), deviceKey: randomBytes(32) });
    // A block whose hex and base64 hold no digit run, so only the PIN guard can refuse them.
    const block = Buffer.from('ABCDEFABCDEFABCD', 'hex');
    const forms = [block.toString('hex').toUpperCase(), block.toString('hex'), block.toString('base64'), block.toString('latin1')];
    const release = holdPinBlock(block);
    expect(pinBlocksInFlight()).toBe(1);
    for (const f of forms) {
      const append = j.append([{ type: TerminalRecord.reversalClosed.name, payload: { stan: 1, reason: `note ${f} end`, at: new Date(0).toISOString() } }], { durable: true });
      await expect(append).rejects.toBeInstanceOf(SensitiveDataError);
      await expect(append).rejects.toThrow(/refused to journal a PIN block at records\[0\]\(reversal\.closed\)/);
    }
    // Other bytes of the same shape go through while it is held.
    await j.append([{ type: TerminalRecord.reversalClosed.name, payload: { stan: 1, reason: 'note ABCDEFABCDEFABCE', at: new Date(0).toISOString() } }], { durable: true });
    release();
    expect(pinBlocksInFlight()).toBe(0);
    await j.append([{ type: TerminalRecord.reversalClosed.name, payload: { stan: 2, reason: `note ${forms[0]} end`, at: new Date(0).toISOString() } }], { durable: true });
    await j.close();
  });

  it('refuses a block written as JSON text, its bytes below 0x20, quote and backslash escaped (\\u0007, \\n), and as a Buffer', async () => {
    const j = await openTerminalJournal({ dir: tmpDir('pin-guard-escapes'), deviceKey: randomBytes(32) });
    // Bytes JSON.stringify escapes three ways (\u00XX, \n / \t, \" and \\), next to ones it writes as they are.
    const block = Buffer.from([0x07, 0x0a, 0x22, 0x5c, 0x1f, 0x09, 0x7f, 0xe9]);
    const release = holdPinBlock(block);
    const text = block.toString('latin1');
    expect(JSON.stringify(text)).toBe('"\\u0007\\n\\"\\\\\\u001f\\t\u007f\u00e9"');
    for (const payload of [{ stan: 1, reason: `note ${text} end` }, { stan: 1, reason: text }, { stan: 1, raw: block }]) {
      const append = j.append([{ type: TerminalRecord.reversalClosed.name, payload: { ...payload, at: new Date(0).toISOString() } }], { durable: true });
      await expect(append).rejects.toThrow(/refused to journal a PIN block at records\[0\]\(reversal\.closed\)/);
    }
    release();
    await j.append([{ type: TerminalRecord.reversalClosed.name, payload: { stan: 2, reason: text, at: new Date(0).toISOString() } }], { durable: true });
    await j.close();
  });

  it('refuses a block at the very first byte of the payload text, and one far into a long payload or in a later record of a batch', async () => {
    const j = await openTerminalJournal({ dir: tmpDir('pin-guard-edges'), deviceKey: randomBytes(32) });
    const record = (payload: object) => [{ type: TerminalRecord.reversalClosed.name, payload }];
    // Eight bytes that happen to spell the start of the record's JSON text: found at offset 0.
    const first = holdPinBlock(Buffer.from('{"stan":', 'latin1'));
    await expect(j.append(record({ stan: 1, reason: 'note', at: new Date(0).toISOString() }), { durable: true })).rejects.toThrow(
      /refused to journal a PIN block at records\[0\]\(reversal\.closed\)/,
    );
    first();
    const block = Buffer.from('ABCDEFABCDEFABCD', 'hex');
    const release = holdPinBlock(block);
    // The whole payload is judged, however long: the block sits 9,000 bytes in.
    const late = record({ stan: 1, reason: `${'x'.repeat(9_000)} ${block.toString('hex')}`, at: new Date(0).toISOString() });
    await expect(j.append(late, { durable: true })).rejects.toThrow(/refused to journal a PIN block/);
    // In a batch, each record's own text is judged: a short second record behind a longer first one.
    const batch = [...record({ stan: 1, reason: 'x'.repeat(300), at: new Date(0).toISOString() }), ...record({ stan: 2, reason: block.toString('hex'), at: new Date(0).toISOString() })];
    await expect(j.append(batch, { durable: true })).rejects.toThrow(/refused to journal a PIN block at records\[1\]\(reversal\.closed\)/);
    release();
    expect(pinBlocksInFlight()).toBe(0);
    await j.append(late, { durable: true });
    await j.close();
  });
});
