// `posj-bridge acquirer --port P --ledger FILE [--rules FILE] [--json]`: the simulated CUP acquirer host.
// Runs until SIGINT/SIGTERM; exits non-zero if the ledger cannot be made durable.
import * as fs from 'node:fs';
import * as readline from 'node:readline';
import type { Command } from 'commander';
import { action, ExitCode } from '../../firmware-ts/cli/exit-codes.js';
import { systemClock } from '../../protocol/io/clock.js';
import { nodeStorage } from '../../firmware-ts/io/node-storage.js';
import { SecretKey } from '../../protocol/iso8583/index.js';
import { AcquirerHost, defaultRules, loadRules, parseRules, startAcquirerServer, type HostEvent } from '../acquirer/index.js';
import { loadCardsFile } from '../sim/reader-cards.js';

/** The test terminal master key the simulator and bench terminals share unless told otherwise. */
export const TEST_TMK_HEX = '0123456789ABCDEFFEDCBA9876543210';

interface AcquirerOptions {
  port: string;
  ledger: string;
  rules?: string;
  address: string;
  tmk: string;
  tlsCert?: string;
  tlsKey?: string;
  json?: boolean;
  control?: boolean;
  cards?: string;
}

export function registerAcquirerCommand(program: Command): void {
  program
    .command('acquirer')
    .description('run a simulated CUP acquirer host over TCP with a durable ledger and fault rules')
    .requiredOption('--port <port>', 'TCP port (0 picks a free one and prints it)')
    .requiredOption('--ledger <file>', 'JSON-lines ledger, created if missing, reopened on restart')
    .option('--rules <file>', 'rules JSON: rules, script, openingBalance (see host-bridge/acquirer/README.md)')
    .option('--address <address>', 'address to listen on', '127.0.0.1')
    .option('--tmk <hex>', 'terminal master key, 32 hex digits (test key by default)', TEST_TMK_HEX)
    .option('--cards <file>', "test cards with their PINs (the reader simulator's cards file), checked on online PIN; default: the built-in test cards")
    .option('--tls-cert <file>', 'serve TLS with this PEM certificate (needs --tls-key)')
    .option('--tls-key <file>', 'PEM private key for --tls-cert')
    .option('--json', 'log JSON lines')
    .option('--control', 'read control lines on stdin: a rules JSON object per line replaces the rules (the bench runner changes them mid-scenario)')
    .action(
      action(async (opts: AcquirerOptions) => {
        const port = Number(opts.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port ${opts.port} is not a port`);
        if (Boolean(opts.tlsCert) !== Boolean(opts.tlsKey)) throw new Error('--tls-cert and --tls-key go together');
        const tls = opts.tlsCert && opts.tlsKey ? { cert: fs.readFileSync(opts.tlsCert), key: fs.readFileSync(opts.tlsKey) } : undefined;
        const out = (human: string, data: object) =>
          process.stdout.write(opts.json ? JSON.stringify(data) + '\n' : human + '\n');
        const onEvent = (e: HostEvent) =>
          out(
            `${e.mti || '----'} stan=${e.stan ?? '-'} tid=${e.terminalId ?? '-'} ${e.action}${e.responseCode ? ' → ' + e.responseCode : ''}${e.detail ? ' (' + e.detail + ')' : ''}`,
            { event: 'request', ...e },
          );
        const host = AcquirerHost.open({
          storage: nodeStorage,
          ledgerPath: opts.ledger,
          tmk: SecretKey.fromHex(opts.tmk),
          clock: systemClock,
          rules: opts.rules ? loadRules(opts.rules) : defaultRules(),
          ...(opts.cards ? { cards: loadCardsFile(opts.cards) } : {}),
          onEvent,
        });
        let fatal: Error | undefined;
        let serverFatal: (e: Error) => void = () => undefined;
        const stopped = new Promise<void>((resolve) => {
          process.once('SIGINT', () => resolve());
          process.once('SIGTERM', () => resolve());
          serverFatal = (e) => {
            fatal = e;
            resolve();
          };
        });
        const server = await startAcquirerServer({
          host,
          clock: systemClock,
          port,
          address: opts.address,
          ...(tls ? { tls } : {}),
          onConnectionEvent: (detail) => out(`connection closed: ${detail}`, { event: 'connection-error', detail }),
          onFatal: (e) => serverFatal(e),
        });
        out(`acquirer listening on ${opts.address}:${server.port}, ledger ${opts.ledger} (${host.state.entries.length} entries)`, {
          event: 'listening',
          address: opts.address,
          port: server.port,
          ledgerEntries: host.state.entries.length,
        });
        if (opts.control) {
          readline.createInterface({ input: process.stdin }).on('line', (line) => {
            if (line.trim() === '') return;
            try {
              host.rules = parseRules(JSON.parse(line));
              out(`rules replaced: ${host.rules.rules.length} rules, ${host.rules.script.length} script steps`, { event: 'rules', rules: host.rules.rules.length, script: host.rules.script.length });
            } catch (e) {
              out(`bad rules line: ${(e as Error).message}`, { event: 'rules-error', message: (e as Error).message });
            }
          });
        }
        await stopped;
        await server.close();
        host.close();
        if (fatal) {
          out(`stopped: ledger write failed: ${fatal.message}`, { event: 'fatal', message: fatal.message });
          return ExitCode.failed;
        }
        return ExitCode.ok;
      }),
    );
}
