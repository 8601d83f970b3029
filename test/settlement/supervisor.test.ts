// The supervisor password: weak values refused, the salted scrypt hash kept in the journal (and nowhere
// else), wrong attempts journaled and locked out with a backoff on the Clock that survives a reboot.
import { describe, expect, it } from 'vitest';
import { SimDisk } from '../../host-bridge/terminal-sim/sim-disk.js';
import { Supervisor, SupervisorError, FIRST_LOCKOUT_MS, lockoutMs } from '../../firmware-ts/txn/supervisor.js';
import { checkPasswordStrength, WeakPasswordError } from '../../firmware-ts/txn/supervisor-policy.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { openJournal } from './settlement-rig.js';

const FAST = { N: 1024, r: 8, p: 1, keyLength: 32 };

describe('supervisor password rules', () => {
  it.each(['123456', '654321', '000000', '888888', '123123', '121212', '112233', '123321', 'abcdef', '12345', '147258', 'aaaaaaaa', 'has space1'])('refuses %s', (pw) => {
    expect(() => checkPasswordStrength(pw)).toThrow(WeakPasswordError);
  });

  it.each(['739164', '20481937', 'Tr4in-Yard'])('accepts %s', (pw) => expect(() => checkPasswordStrength(pw)).not.toThrow());
});

describe('Supervisor', () => {
  it('first run has no password; verify says not-set; set stores only a salted hash in the journal', async () => {
    const disk = new SimDisk();
    const clock = new ManualClock();
    const j = await openJournal(disk);
    const sup = new Supervisor({ journal: j, clock, scrypt: FAST });
    expect(sup.isSet).toBe(false);
    expect(await sup.verify('739164', 'void')).toMatchObject({ ok: false, reason: 'not-set' });
    await expect(sup.setPassword('123456')).rejects.toBeInstanceOf(WeakPasswordError);
    await sup.setPassword('739164');
    expect(sup.isSet).toBe(true);
    expect(JSON.stringify(j.state.supervisor)).not.toContain('739164');
    expect(await sup.verify('739164', 'refund')).toEqual({ ok: true });
    await expect(sup.setPassword('20481937')).rejects.toMatchObject({ code: 'SUPERVISOR_ALREADY_SET' });
    await expect(sup.setPassword('20481937', 'wrong-one')).rejects.toBeInstanceOf(SupervisorError);
    await sup.setPassword('20481937', '739164');
    expect(await sup.verify('20481937', 'void')).toEqual({ ok: true });
    await j.close();
    for (const f of disk.fileInfo()) expect(disk.readFile(f.path).includes(Buffer.from('20481937'))).toBe(false);
  });

  it('journals an attempt at a moment whose epoch milliseconds are Luhn-valid (the PAN guard must not refuse it)', async () => {
    const disk = new SimDisk();
    // 1795262400009 ms passes the Luhn check: stored as a bare number it looked like a card to the journal.
    const clock = new ManualClock(1_795_262_400_009);
    const j = await openJournal(disk);
    const sup = new Supervisor({ journal: j, clock, scrypt: FAST });
    await sup.setPassword('739164');
    expect(await sup.verify('000001', 'void')).toMatchObject({ ok: false, reason: 'wrong-password' });
    expect(await sup.verify('739164', 'void')).toEqual({ ok: true });
    await j.close();
  });

  it('wrong attempts are journaled and, after three, locked out with a doubling backoff that survives a reboot', async () => {
    const disk = new SimDisk();
    const clock = new ManualClock();
    let j = await openJournal(disk);
    let sup = new Supervisor({ journal: j, clock, scrypt: FAST });
    await sup.setPassword('739164');
    for (let i = 1; i <= 3; i++) expect(await sup.verify('000001', 'void')).toMatchObject({ ok: false, reason: 'wrong-password' });
    expect(j.state.supervisor.failures).toBe(3);
    // Locked: even the right password is refused unchecked and nothing is journaled.
    const seq = j.nextSeq;
    expect(await sup.verify('739164', 'void')).toMatchObject({ ok: false, reason: 'locked-out' });
    expect(j.nextSeq).toBe(seq);
    await j.close();

    j = await openJournal(disk);
    sup = new Supervisor({ journal: j, clock, scrypt: FAST });
    expect(sup.lockedForMs()).toBe(FIRST_LOCKOUT_MS);
    clock.advance(FIRST_LOCKOUT_MS);
    expect(await sup.verify('000002', 'close-reversal')).toMatchObject({ ok: false, reason: 'wrong-password' });
    expect(sup.lockedForMs()).toBe(lockoutMs(4));
    expect(lockoutMs(4)).toBe(2 * FIRST_LOCKOUT_MS);
    clock.advance(lockoutMs(4));
    expect(await sup.verify('739164', 'void')).toEqual({ ok: true });
    expect(j.state.supervisor.failures).toBe(0);
    await j.close();
  });
});
