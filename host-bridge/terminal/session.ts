// The scripted session `npm start` runs (`posj run --session`): a few sales through the real control
// socket, one whose reply the embedded acquirer drops after debiting — the terminal reverses it — then
// status and settlement, each step printed as a cashier and a field engineer would read it.
import { describeSettlement, describeStatus, describeTxn } from '../../firmware-ts/cli/terminal-commands.js';
import { ExitCode } from '../../firmware-ts/cli/exit-codes.js';
import { positions } from '../acquirer/ledger-state.js';
import { formatMinor } from '../../firmware-ts/receipts/money.js';
import { controlCall } from '../../firmware-ts/daemon/control-client.js';
import type { ControlRequest } from '../../firmware-ts/daemon/control-protocol.js';
import type { SimulatedDaemon } from './simulated-parts.js';

/** A demo-only supervisor password, set on the first run of a fresh ./var. */
export const SESSION_SUPERVISOR_PASSWORD = '739164';
/** The amount whose reply the simulator drops (66.60 CNY). */
const LOST_REPLY_AMOUNT = 6660;

export async function runSession(sim: SimulatedDaemon, print: (line: string) => void): Promise<number> {
  const d = sim.daemon;
  const ask = async (req: ControlRequest): Promise<Record<string, unknown>> => {
    const res = await controlCall(d.socketPath, req);
    if (!res.ok) throw Object.assign(new Error(`${req.op}: ${res.error.message}`), { code: res.error.code });
    return res.result as Record<string, unknown>;
  };
  const step = (title: string) => print(`\n== ${title}`);

  step('status at boot');
  const boot = await ask({ op: 'status' });
  print(describeStatus(boot));
  if (!(boot.supervisor as { set: boolean }).set) {
    step(`first run: set the supervisor password (demo value ${SESSION_SUPERVISOR_PASSWORD}; 123456 is refused)`);
    const weak = await controlCall(d.socketPath, { op: 'supervisor-set', password: '123456' });
    print(`123456 → ${weak.ok ? 'accepted?!' : weak.error.message}`);
    await ask({ op: 'supervisor-set', password: SESSION_SUPERVISOR_PASSWORD });
    print('supervisor password set (scrypt hash in the journal)');
  }

  step('two sales');
  const first = await ask({ op: 'sale', amount: 1250 });
  print(describeTxn(first));
  print(describeTxn(await ask({ op: 'sale', amount: 3480 })));

  step(`a sale of ${formatMinor(LOST_REPLY_AMOUNT)} whose reply is lost after the acquirer debited the card`);
  if (sim.host) sim.host.rules = { ...sim.host.rules, rules: [{ when: { amount: LOST_REPLY_AMOUNT, mti: '0200' }, then: { action: 'drop-reply' } }] };
  const lost = await ask({ op: 'sale', amount: LOST_REPLY_AMOUNT });
  print(describeTxn(lost));
  if (sim.host) sim.host.rules = { ...sim.host.rules, rules: [] };

  step('void (撤销) of the first sale, with the supervisor password');
  if (first.kind === 'approved') print(describeTxn(await ask({ op: 'void', stan: first.stan, password: SESSION_SUPERVISOR_PASSWORD })));

  step('did the lost sale go through? (posj status --stan)');
  const one = await ask({ op: 'status', stan: lost.stan });
  print(one.found ? `stan ${lost.stan}: ${one.state}` : 'not found');

  step('status');
  print(describeStatus(await ask({ op: 'status' })));

  step('settlement (结算)');
  const settled = await ask({ op: 'settle' });
  print(describeSettlement(settled));

  if (sim.host) {
    step("the acquirer's ledger, per card (net = debited − reversed − voided − refunded)");
    for (const [card, p] of positions(sim.host.state).cards) print(`${card}: debited ${formatMinor(Number(p.debited))}, reversed ${formatMinor(Number(p.reversed))}, voided ${formatMinor(Number(p.voided))}, net ${formatMinor(Number(p.net))}`);
  }
  const ok = lost.kind === 'reversed' && settled.balanced === true;
  print(ok ? '\nok: the lost sale was reversed, nobody is left debited for it, and the batch balanced' : '\nUNEXPECTED: see above');
  return ok ? ExitCode.ok : ExitCode.failed;
}
