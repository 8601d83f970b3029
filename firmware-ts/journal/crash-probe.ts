// A child process for kill tests and the demo: appends batches of 1–4 synthetic records in a loop and
// reports each batch on stdout before it is written ("begin") and once the append resolved ("ack"), so the
// parent can check, after SIGKILL at any moment, that every acknowledged durable batch survived intact
// and no batch is partly visible.
import { openTerminalJournal } from '../txn/terminal-journal.js';
import { syntheticSteps } from './synthetic-sales.js';
import { readDeviceKey } from './device-key.js';
import { batchDigest } from './batch-digest.js';


async function main(): Promise<void> {
  const [dir, keyPath, segmentBytes, seedArg] = process.argv.slice(2);
  if (!dir || !keyPath) throw new Error('usage: crash-probe DIR KEYFILE [SEGMENT_BYTES] [SEED]');
  const key = readDeviceKey(keyPath);
  if (!key) throw new Error(`no device key at ${keyPath}`);
  const j = await openTerminalJournal({ dir, deviceKey: key, segmentBytes: segmentBytes ? Number(segmentBytes) : undefined });
  process.stdout.write(`open ${j.nextSeq} ${j.openReport.tornTailBytes}\n`);
  let seed = Number(seedArg ?? 1) >>> 0;
  // Never outlive the drill that is meant to kill us: a parent that died leaves nobody to read the pipe.
  const parent = process.ppid;
  process.stdout.on('error', () => process.exit(0));
  const steps = syntheticSteps(j.state.stan + 1, Number.MAX_SAFE_INTEGER, 50);
  for (let batch = 0; ; batch++) {
    if (batch % 64 === 0 && process.ppid !== parent) process.exit(0);
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const size = 1 + (seed % 4);
    const records = [];
    let durable = false;
    for (let i = 0; i < size; i++) {
      const s = steps.next().value!;
      records.push(...s.records);
      durable ||= s.durable;
    }
    const first = j.nextSeq;
    process.stdout.write(`begin ${first} ${records.length} ${durable ? 'durable' : 'lazy'} ${batchDigest(records.map((r) => r.payload))}\n`);
    await j.append(records, { durable });
    if (durable) process.stdout.write(`ack ${first} ${records.length}\n`);
  }
}

main().catch((e) => {
  process.stderr.write(`crash-probe: ${(e as Error).message}\n`);
  process.exit(2);
});
