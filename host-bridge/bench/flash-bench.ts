// The flash figures (`npm run bench:flash`): a terminal daemon (the bench build, simulated acquirer and
// devices) with its service port on a paced line — 115200 baud 8N1, 10 ms latency each way — and the real
// flash client. (1) Goodput on incompressible data: a random image, so deflate cannot help; the ratio to
// the raw line rate (11,520 bytes/s) shows what framing, window and acknowledgements cost. (2) The real
// bundle: wall time against its size at the raw line rate (> 1.0 means compression beat the line).
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { systemClock } from '../../protocol/io/clock.js';
import { packImage } from '../../protocol/firmware/image.js';
import { signManifest } from '../../protocol/firmware/manifest.js';
import { lineLog } from '../../firmware-ts/daemon/daemon-log.js';
import { FIRMWARE_VERSION } from '../../firmware-ts/firmware/build-info.js';
import { serviceRtoMs, SERVICE_WINDOW } from '../../firmware-ts/service/service-port.js';
import { buildBundle, describeImage } from '../bundle/build-bundle.js';
import { flash, FLASH_CHUNK_BYTES, FLASH_WINDOW } from '../service/flash-client.js';
import { ServiceClient } from '../service/service-client.js';
import { embeddedConfig, startSimulatedDaemon } from '../terminal/simulated-parts.js';
import { pacedLinkPair } from './paced-link.js';

export const BAUD = 115_200;
export const LATENCY_MS = 10;
const LINE_BYTES_PER_S = BAUD / 10;

const pem = (k: KeyObject) => k.export({ format: 'pem', type: 'spki' }).toString();

async function flashOnce(dir: string, image: Buffer, manifestBytes: Buffer, firmwareKey: KeyObject, benchKey: { privateKey: KeyObject; publicKey: KeyObject }) {
  fs.writeFileSync(path.join(dir, 'trusted.pem'), pem(firmwareKey));
  fs.writeFileSync(path.join(dir, 'paired.pem'), pem(benchKey.publicKey));
  const config = {
    ...embeddedConfig(path.join(dir, 'var')),
    servicePort: { path: 'paced', baud: BAUD, pairedKeysFile: path.join(dir, 'paired.pem') },
    firmware: { slotsDir: path.join(dir, 'slots'), trustedKeysFile: path.join(dir, 'trusted.pem') },
  };
  const line = pacedLinkPair(systemClock, BAUD, LATENCY_MS);
  const sim = await startSimulatedDaemon({ config, log: lineLog(() => undefined, systemClock), serviceLink: line.terminal });
  try {
    const started = performance.now();
    const report = await flash({
      connect: async () => {
        const client = new ServiceClient(line.bench, systemClock, { window: SERVICE_WINDOW, rtoMs: serviceRtoMs(BAUD) });
        return { client, close: async () => client.close() };
      },
      key: benchKey.privateKey,
      manifestBytes,
      image,
      allowDowngrade: false,
      clock: systemClock,
      retryForMs: 0,
      reboot: false,
    });
    const wallMs = performance.now() - started;
    return { report, wallMs, lineBytes: line.bench.bytesSent };
  } finally {
    await sim.daemon.stop();
  }
}

export async function runFlashBench(o: { root: string; incompressibleKiB: number }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'posj-flash-bench-'));
  try {
    const firmware = generateKeyPairSync('ed25519');
    const benchKey = generateKeyPairSync('ed25519');

    const random = packImage([{ path: 'posj.mjs', mode: 0o644, bytes: randomBytes(o.incompressibleKiB * 1024) }]);
    const randomManifest = Buffer.from(JSON.stringify(signManifest(describeImage(random, { version: FIRMWARE_VERSION, buildId: 'bench-random', target: `${process.platform}-${process.arch}`, minVersion: '0.1.0' }), firmware.privateKey)));
    fs.mkdirSync(path.join(dir, 'random'));
    const r1 = await flashOnce(path.join(dir, 'random'), random, randomManifest, firmware.publicKey, benchKey);
    const goodput = r1.report.compressedBytes / (r1.wallMs / 1000);

    const bundle = await buildBundle({ root: o.root, outDir: path.join(dir, 'bundle'), signingKey: firmware.privateKey, target: `${process.platform}-${process.arch}`, libc: 'glibc', minVersion: '0.1.0' });
    fs.mkdirSync(path.join(dir, 'real'));
    const image = fs.readFileSync(bundle.imagePath);
    const r2 = await flashOnce(path.join(dir, 'real'), image, fs.readFileSync(bundle.manifestPath), firmware.publicKey, benchKey);
    const lineMs = (image.length / LINE_BYTES_PER_S) * 1000;

    return {
      link: { baud: BAUD, framing: '8N1', latencyMsEachWay: LATENCY_MS, rawLineBytesPerS: LINE_BYTES_PER_S },
      protocol: { frame: 'COBS + CRC-32, 0x00 delimited', chunkBytes: FLASH_CHUNK_BYTES, requestsInFlight: FLASH_WINDOW, framesInFlight: SERVICE_WINDOW, ack: 'cumulative + 32-bit selective bitmap' },
      incompressible: {
        imageBytes: random.length,
        sentBytes: r1.report.compressedBytes,
        wallMs: Math.round(r1.wallMs),
        goodputBytesPerS: Math.round(goodput),
        goodputVsLine: Number((goodput / LINE_BYTES_PER_S).toFixed(3)),
        lineBytesBenchToTerminal: r1.lineBytes,
        retransmits: r1.report.retransmits,
      },
      realBundle: {
        imageBytes: image.length,
        compressedBytes: r2.report.compressedBytes,
        wallMs: Math.round(r2.wallMs),
        sizeAtLineRateMs: Math.round(lineMs),
        speedupVsLine: Number((lineMs / r2.wallMs).toFixed(3)),
        retransmits: r2.report.retransmits,
      },
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
