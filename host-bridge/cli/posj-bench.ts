#!/usr/bin/env node
// `posj` on a development machine or bench (the package's `posj` bin): the terminal's commands, plus what
// needs bench code — `posj run --simulated / --session` with the acquirer simulator in process, the
// deterministic simulator `posj sim`, the power-cut drill `posj demo`, `posj bench journal`, `posj bench daemon` and `posj bench sim`.
import { registerBenchCommands } from '../../firmware-ts/cli/bench-commands.js';
import { posjProgram } from '../../firmware-ts/cli/posj-program.js';
import { embeddedConfig, startSimulatedDaemon } from '../terminal/simulated-parts.js';
import { runSession } from '../terminal/session.js';
import { registerBenchDaemonCommand } from './bench-daemon-command.js';
import { registerBenchSimCommand } from './bench-sim-command.js';
import { registerDemoCommand } from './demo-command.js';
import { registerSimCommand } from './terminal-sim-command.js';

const program = posjProgram({
  embeddedConfig,
  async start(config, log) {
    const sim = await startSimulatedDaemon({ config, log });
    return { daemon: sim.daemon, session: (print) => runSession(sim, print) };
  },
});
registerDemoCommand(program);
const bench = registerBenchCommands(program);
registerBenchDaemonCommand(bench);
registerBenchSimCommand(bench);
registerSimCommand(program);

await program.parseAsync(process.argv);
