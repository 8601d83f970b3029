// A TCP gate between the terminal daemon and the acquirer simulator, run as its own process so a test can
// also SIGSTOP it (then, with its accept queue filled, a new connect hangs: "the terminal is still dialing").
// Plain JavaScript because it is spawned with `node` directly; test/helpers/kill-rig.ts drives it.
//
//   node tcp-gate.mjs UPSTREAM_PORT
// prints {"event":"listening","port":N}; then reads commands on stdin, one per line, each acknowledged with
// {"event":"ok","cmd":...}:
//   drop                      close every terminal connection (and its upstream half)
//   hold                      keep what the terminal sends from now on; each chunk kept → {"event":"held","bytes":N}
//   pass                      stop holding new bytes (what was kept stays kept)
//   release | discard         forward what was kept to the acquirer (even after the terminal died) or drop it
//   kill-after-reply PID US [N]  on the N-th (default 1st) acquirer → terminal chunk from now: deliver it,
//                             busy-wait US microseconds, SIGKILL PID → {"event":"killed","pid":PID,"afterReplyUs":US}
import * as net from 'node:net';
import * as readline from 'node:readline';

const upstreamPort = Number(process.argv[2]);
const say = (o) => process.stdout.write(JSON.stringify(o) + '\n');
/** @type {Set<{client: net.Socket, upstream: net.Socket, held: Buffer[]}>} */
const pairs = new Set();
let holding = false;
/** @type {{pid: number, us: number, replies: number} | null} */
let killArmed = null;

const server = net.createServer((client) => {
  const upstream = net.connect(upstreamPort, '127.0.0.1');
  const pair = { client, upstream, held: [] };
  pairs.add(pair);
  client.on('error', () => undefined);
  upstream.on('error', () => client.destroy());
  client.on('data', (chunk) => {
    if (holding) {
      pair.held.push(chunk);
      say({ event: 'held', bytes: chunk.length });
    } else upstream.write(chunk);
  });
  upstream.on('data', (chunk) => {
    if (client.destroyed) return;
    client.write(chunk);
    if (killArmed && --killArmed.replies === 0) {
      const { pid, us } = killArmed;
      killArmed = null;
      const until = process.hrtime.bigint() + BigInt(us) * 1000n;
      while (process.hrtime.bigint() < until);
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
      say({ event: 'killed', pid, afterReplyUs: us });
    }
  });
  // The terminal went away: what it sent is still "in the network" while held, so keep the upstream half.
  client.on('close', () => {
    if (pair.held.length === 0) {
      upstream.end();
      pairs.delete(pair);
    }
  });
  upstream.on('close', () => {
    client.destroy();
    pairs.delete(pair);
  });
});
server.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => say({ event: 'listening', port: server.address().port }));

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const [cmd, a, b, c] = line.trim().split(/\s+/);
  switch (cmd) {
    case 'drop':
      for (const p of pairs) {
        p.client.destroy();
        p.upstream.destroy();
      }
      pairs.clear();
      break;
    case 'hold':
      holding = true;
      break;
    case 'pass':
      holding = false;
      break;
    case 'release':
    case 'discard':
      holding = false;
      for (const p of pairs) {
        if (cmd === 'release') for (const c of p.held) p.upstream.write(c);
        p.held = [];
        if (p.client.destroyed) p.upstream.end();
      }
      break;
    case 'kill-after-reply':
      killArmed = { pid: Number(a), us: Number(b ?? 0), replies: Number(c ?? 1) };
      break;
    default:
      say({ event: 'error', detail: `unknown command ${line}` });
      return;
  }
  say({ event: 'ok', cmd });
});
process.stdin.on('end', () => process.exit(0));
