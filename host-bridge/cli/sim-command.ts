// The shared `posj-bridge sim` parent: each simulator (reader, printer) attaches its subcommand here, in
// any order, without knowing about the others.
import type { Command } from 'commander';

export function simCommand(program: Command): Command {
  const existing = program.commands.find((c) => c.name() === 'sim');
  if (existing) return existing;
  return program.command('sim').description('device simulators that attach to a serial path (a socat pty or a USB-serial adapter)');
}
