#!/usr/bin/env node
import { Command } from 'commander';
import { withUsageExitCode } from '../../firmware-ts/cli/exit-codes.js';

const program = withUsageExitCode(
  new Command('posj-bridge')
    .description('pos-journal bench bridge: simulators, journal pull and hardware-in-the-loop runs')
    .version('0.1.0'),
);

await program.parseAsync(process.argv);
