// PIN sales in the deterministic simulator (issue 15): the workload's cards ask for online PIN, and the
// simulated cardholder types the right PIN, a wrong one, cancels or walks away — every one of those
// outcomes occurs within a few seeds, and the no-card-data check finds a PIN block the PIN pad formed if
// it ever reached the terminal's disk.
import { describe, expect, it } from 'vitest';
import { AcquirerHost } from '../../host-bridge/acquirer/host.js';
import { checkWorld } from '../../host-bridge/terminal-sim/sim-checks.js';
import { SimDisk } from '../../host-bridge/terminal-sim/sim-disk.js';
import { runSeed } from '../../host-bridge/terminal-sim/simulator.js';
import { systemClock } from '../../protocol/io/clock.js';
import { SecretKey } from '../../protocol/iso8583/index.js';

describe('PIN sales in posj sim', () => {
  it('within 30 seeds: PINs entered and approved, wrong PINs declined 55, PIN entry cancelled and timed out, with zero violations', async () => {
    const seen = { entered: 0, wrong: 0, declined55: 0, cancelled: 0, timedOut: 0 };
    for (let seed = 1; seed <= 30; seed++) {
      const r = await runSeed(seed, { traceSize: 1_000_000 });
      expect(r.violations, `seed ${seed}`).toEqual([]);
      for (const line of r.trace) {
        if (line.includes('reader: PIN entered')) seen.entered++;
        if (line.includes('reader: the cardholder types a wrong PIN')) seen.wrong++;
        if (/host: 0200 stan \d+ approve 55/.test(line)) seen.declined55++;
        if (line.includes('refused sale: pin-entry-cancelled') || line.includes('refused preauth: pin-entry-cancelled')) seen.cancelled++;
        if (/refused \w+: pin-entry-timeout/.test(line)) seen.timedOut++;
      }
    }
    expect(seen.entered).toBeGreaterThan(10);
    expect(seen.wrong).toBeGreaterThan(0);
    expect(seen.declined55).toBeGreaterThan(0);
    expect(seen.cancelled).toBeGreaterThan(0);
    expect(seen.timedOut).toBeGreaterThan(0);
  }, 60_000);

  it("a PIN block the pad formed, in any form in any file of the terminal's disk, is a no-card-data violation", () => {
    const host = AcquirerHost.open({ storage: new SimDisk(), ledgerPath: '/acquirer/ledger.jsonl', tmk: SecretKey.fromHex('0123456789ABCDEFFEDCBA9876543210'), clock: systemClock });
    const block = Buffer.from('5CB134481FA2130D', 'hex');
    const view = (disk: SimDisk) => ({ records: [], host, disk, terminalId: '12345678', wire: [], reportedApproved: new Set<string>(), told: [], pinBlocks: [block], final: false });
    for (const form of [block, Buffer.from('log pin=5cb134481fa2130d'), Buffer.from(`x${block.toString('base64')}`)]) {
      const disk = new SimDisk();
      disk.mkdirp('/terminal/log');
      const f = disk.open('/terminal/log/posj.0.log', 'create');
      f.write(Buffer.concat([Buffer.from('start '), form]), 0);
      f.sync();
      f.close();
      expect(checkWorld(view(disk)).map((v) => v.invariant)).toEqual(['no-card-data']);
    }
    expect(checkWorld({ ...view(new SimDisk()), pinBlocks: [] })).toEqual([]);
  });
});
