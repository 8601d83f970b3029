// `posj-bridge journal pull --port PATH --out DIR [--json]`: the terminal's journal copied to the bench,
// read-only on the terminal, resumable; the terminal's own verification (MAC chain under its device key)
// and the bench's check of the copy. Exit 0 when both are clean, 3 when either finds corruption or
// tampering (as posj journal verify), 2 on usage or a lost line.
import * as fs from 'node:fs';
import { createPrivateKey } from 'node:crypto';
import type { Command } from 'commander';
import { systemClock } from '../../protocol/io/clock.js';
import { action, ExitCode } from '../../firmware-ts/cli/exit-codes.js';
import { positiveInt } from '../../firmware-ts/cli/journal-commands.js';
import type { VerifyReport } from '../../firmware-ts/journal/verify.js';
import { serviceRtoMs, SERVICE_WINDOW } from '../../firmware-ts/service/service-port.js';
import { loadOrCreateSigningKey } from '../bundle/signing-key.js';
import { noneFound, queryOf } from '../../firmware-ts/evidence/evidence.js';
import { pullJournal } from '../service/journal-pull.js';
import { fetchExport } from '../service/remote-export.js';
import { ServiceClient } from '../service/service-client.js';
import { openServicePort } from '../service/serial-port-path.js';
import { DEV_BENCH_KEY } from './flash-command.js';

const clean = (v: VerifyReport) => v.corrupt === null && v.tampered === null;
const line = (v: VerifyReport) => `${v.records} records in ${v.segments} segments${v.tornTail ? `, torn tail ${v.tornTailBytes} bytes` : ''}${v.corrupt ? `, CORRUPT at ${v.corrupt.segment}+${v.corrupt.offset}: ${v.corrupt.reason}` : ''}${v.tampered ? `, TAMPERED at seq ${v.tampered.seq}` : ''}`;

/** The pull's progress on a terminal: one line redrawn with \r, ended before anything else is written. */
function pullProgress() {
  let drawn = false;
  return {
    show: ({ segment, have, size }: { segment: string; have: number; size: number }) => {
      drawn = true;
      process.stderr.write(`\r${segment} ${have}/${size}`);
    },
    end: () => {
      if (drawn) process.stderr.write('\n');
      drawn = false;
    },
  };
}

export function registerJournalPullCommand(program: Command): void {
  const journal = program.command('journal').description("a terminal's journal over its service port");
  registerRemoteExport(journal);
  journal
    .command('pull')
    .description('copy the journal to DIR (read-only on the terminal, resumable) with the terminal\'s verification of it')
    .requiredOption('--port <path>', "the terminal's service port")
    .requiredOption('--out <dir>', 'where the segments go (run it again to resume or refresh)')
    .option('--baud <n>', 'line speed', positiveInt, 115_200)
    .option('--key <file>', `the bench's paired Ed25519 key (default ${DEV_BENCH_KEY})`)
    .option('--retry-for <s>', 'keep resuming after a lost line for this many seconds', positiveInt, 60)
    .option('--json', 'print one JSON object')
    .action(
      action(async (o: { port: string; out: string; baud: number; key?: string; retryFor: number; json?: boolean }) => {
        const key = o.key ? createPrivateKey(fs.readFileSync(o.key)) : loadOrCreateSigningKey(DEV_BENCH_KEY, true).privateKey;
        const port = await openServicePort({ path: o.port, baud: o.baud });
        // A redrawn \r line only on a terminal; a log or CI gets nothing until the summary (as flash's bar).
        const progress = o.json || !process.stderr.isTTY ? null : pullProgress();
        try {
          const r = await pullJournal({
            connect: async () => {
              const client = new ServiceClient(port, systemClock, { window: SERVICE_WINDOW, rtoMs: serviceRtoMs(o.baud) });
              return { client, close: async () => client.close() };
            },
            key,
            outDir: o.out,
            clock: systemClock,
            retryForMs: o.retryFor * 1000,
            ...(progress ? { onProgress: progress.show } : {}),
          });
          progress?.end();
          if (o.json) process.stdout.write(JSON.stringify(r) + '\n');
          else {
            process.stdout.write(
              [
                `pulled ${r.segments.length} segments into ${o.out}: ${r.bytesCopied} bytes copied${r.segments.some((s) => s.keptFromEarlierPull) ? ', the rest kept from an earlier pull' : ''}`,
                `terminal's check (MAC chain ${r.terminal.chainChecked ? 'checked under its device key' : 'NOT checked: no device key'}): ${line(r.terminal)}`,
                `bench's check of the copy (checksums and sequence): ${line(r.bench)}`,
              ].join('\n') + '\n',
            );
          }
          return clean(r.terminal) && clean(r.bench) ? ExitCode.ok : ExitCode.corrupt;
        } finally {
          progress?.end();
          await port.close();
        }
      }),
    );
}

/** `posj-bridge journal export --port PATH --stan N | --rrn R | --from T --to T --format F`: the same evidence as posj journal export, from the terminal. */
function registerRemoteExport(journal: Command): void {
  journal
    .command('export')
    .description('dispute evidence (交易凭证) from the terminal over its service port, as posj journal export makes it')
    .requiredOption('--port <path>', "the terminal's service port")
    .option('--baud <n>', 'line speed', positiveInt, 115_200)
    .option('--key <file>', `the bench's paired Ed25519 key (default ${DEV_BENCH_KEY})`)
    .option('--stan <n>', 'by STAN', positiveInt)
    .option('--batch <n>', 'with --stan: the batch', positiveInt)
    .option('--rrn <rrn>', 'by retrieval reference number')
    .option('--from <time>', 'requested at or after (ISO time)')
    .option('--to <time>', 'requested at or before (ISO time)')
    .option('--format <f>', 'ndjson, csv or html', 'ndjson')
    .option('--out <file>', 'write here instead of stdout')
    .action(
      action(async (o: { port: string; baud: number; key?: string; stan?: number; batch?: number; rrn?: string; from?: string; to?: string; format: string; out?: string }) => {
        // The query is checked here, before the line is opened: a bad time or a reversed range is bad usage,
        // not an empty export after a round trip to the terminal.
        const q = queryOf(o);
        const key = o.key ? createPrivateKey(fs.readFileSync(o.key)) : loadOrCreateSigningKey(DEV_BENCH_KEY, true).privateKey;
        const port = await openServicePort({ path: o.port, baud: o.baud });
        const client = new ServiceClient(port, systemClock, { window: SERVICE_WINDOW, rtoMs: serviceRtoMs(o.baud), maxRetries: 3 });
        try {
          await client.authenticate(key);
          const showParts = process.stderr.isTTY ? (part: number, parts: number) => parts > 1 && process.stderr.write(`\rexport: part ${part} of ${parts}${part === parts ? '\n' : ''}`) : undefined;
          const x = await fetchExport(client, { format: o.format, ...q }, showParts);
          if (o.out) fs.writeFileSync(o.out, x.text);
          else process.stdout.write(x.text);
          if (x.corrupt || x.tampered) return ExitCode.corrupt;
          if (x.transactions > 0) return ExitCode.ok;
          process.stderr.write(`journal export: ${noneFound(q)}\n`);
          return ExitCode.failed;
        } finally {
          client.close();
          await port.close();
        }
      }),
    );
}
