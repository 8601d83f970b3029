// The bench's network between the terminal and the acquirer: a TCP forwarder run as its own process
// (`node net-gate.js UPSTREAM_HOST UPSTREAM_PORT [LISTEN_HOST LISTEN_PORT]`) that the bench runner steers
// with one command per line on stdin, each acknowledged with {"event":"ok","cmd":...}:
//   up          forward normally (undoes down, drop and delay)
//   down        close every connection and stop listening: a connect is refused (host unreachable)
//   drop        keep connections open but let no byte through either way (packets vanish)
//   reset       RST every open connection once; new ones are forwarded
//   delay MS    hold every chunk MS ms before forwarding it, both ways
// It prints {"event":"listening","port":N} first, and {"event":"connection"} for each terminal connection.
import * as net from 'node:net';
import * as readline from 'node:readline';

type Mode = 'up' | 'down' | 'drop';

const [upHost = '127.0.0.1', upPortArg = '', listenHost = '127.0.0.1', listenPortArg = '0'] = process.argv.slice(2);
const upPort = Number(upPortArg);
if (!Number.isInteger(upPort) || upPort < 1 || upPort > 65535) {
  process.stderr.write(`net-gate: upstream port ${upPortArg} is not a port\n`);
  process.exit(2);
}
const say = (o: object) => process.stdout.write(JSON.stringify(o) + '\n');

let mode: Mode = 'up';
let delayMs = 0;
const pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();

function forward(from: net.Socket, to: net.Socket): void {
  from.on('data', (chunk: Buffer) => {
    if (mode === 'drop') return;
    if (delayMs > 0) setTimeout(() => !to.destroyed && to.write(chunk), delayMs);
    else to.write(chunk);
  });
}

const server = net.createServer((client) => {
  client.on('error', () => undefined);
  const upstream = net.connect(upPort, upHost);
  upstream.on('error', () => client.destroy());
  const pair = { client, upstream };
  pairs.add(pair);
  say({ event: 'connection' });
  forward(client, upstream);
  forward(upstream, client);
  const close = () => {
    pairs.delete(pair);
    client.destroy();
    upstream.destroy();
  };
  client.on('close', close);
  upstream.on('close', close);
});
let port = Number(listenPortArg);
server.listen({ port, host: listenHost }, () => {
  port = (server.address() as net.AddressInfo).port;
  say({ event: 'listening', port });
});

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const [cmd, arg] = line.trim().split(/\s+/);
  switch (cmd) {
    case 'up':
      if (mode === 'down') server.listen({ port, host: listenHost });
      mode = 'up';
      delayMs = 0;
      break;
    case 'down':
      if (mode !== 'down') server.close();
      mode = 'down';
      for (const p of pairs) {
        p.client.destroy();
        p.upstream.destroy();
      }
      break;
    case 'drop':
      mode = 'drop';
      break;
    case 'reset':
      for (const p of pairs) {
        p.client.resetAndDestroy();
        p.upstream.destroy();
      }
      break;
    case 'delay': {
      const ms = Number(arg);
      if (!Number.isInteger(ms) || ms < 0 || ms > 600_000) {
        say({ event: 'error', detail: `delay needs 0..600000 ms, got ${arg}` });
        return;
      }
      delayMs = ms;
      break;
    }
    default:
      say({ event: 'error', detail: `unknown command ${line}` });
      return;
  }
  say({ event: 'ok', cmd });
});
process.stdin.on('end', () => process.exit(0));
