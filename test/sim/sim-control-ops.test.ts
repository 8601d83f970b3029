// The simulator drives the terminal through the control operations, as `posj run` runs a parsed request
// from its socket (issue 11 item 1): every money operation of the workload is answered by the dispatcher
// (its daemon log line is in the trace, which only the dispatcher writes), the cashier who heard nothing
// asks `status --request-id` before asking again, and a half-done settlement refuses new transactions
// with the daemon's own error — all with zero violations.
import { expect, it } from 'vitest';
import { runSeed } from '../../host-bridge/terminal-sim/simulator.js';

it('40 seeds exercise every control operation of the workload, with zero violations', async () => {
  const logged = new Map<string, number>();
  const seen = (what: string) => logged.set(what, (logged.get(what) ?? 0) + 1);
  for (let seed = 1; seed <= 40; seed++) {
    const r = await runSeed(seed, { traceSize: 1_000_000 });
    expect(r.violations, `seed ${seed}`).toEqual([]);
    for (const line of r.trace) {
      const op = /daemon: (\S+)/.exec(line);
      if (op) seen(op[1]!);
      const status = /cashier asks status of request id \S+: (not found|\S+)/.exec(line);
      if (status) seen(status[1] === 'not found' ? 'status: not found' : 'status: found');
      if (/→ refused: SETTLEMENT_IN_FLIGHT/.test(line)) seen('refused: settlement in flight');
    }
  }
  const wanted = ['sale', 'preauth', 'completion', 'preauth-void', 'balance', 'void', 'refund', 'settled', 'settlement-slip-printed', 'reversals-sent', 'status: found', 'status: not found', 'refused: settlement in flight'];
  expect(wanted.filter((w) => !logged.has(w)), JSON.stringify(Object.fromEntries(logged))).toEqual([]);
}, 60_000);
