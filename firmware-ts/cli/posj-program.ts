// The terminal's commands: the daemon, its clients and the journal tools. The flashed build runs exactly
// these (posj.ts); the bench build (host-bridge/cli/posj-bench.ts) adds simulators and drills on top.
import { Command } from 'commander';
import { FIRMWARE_VERSION } from '../firmware/build-info.js';
import { registerBootCommand } from './boot-command.js';
import { registerExportCommand } from './export-command.js';
import { withUsageExitCode } from './exit-codes.js';
import { registerJournalCommands } from './journal-commands.js';
import { registerTerminalCommands, type BenchRun } from './terminal-commands.js';

export function posjProgram(bench?: BenchRun): Command {
  const program = withUsageExitCode(
    new Command('posj')
      .description('pos-journal terminal CLI: the crash-safe journal of in-flight authorizations and reversals')
      .version(FIRMWARE_VERSION),
  );
  registerTerminalCommands(program, bench);
  registerJournalCommands(program);
  registerExportCommand(program.commands.find((c) => c.name() === 'journal')!);
  registerBootCommand(program);
  return program;
}
