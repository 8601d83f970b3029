// The link over TLS: a self-signed certificate made by the openssl CLI for this run; the terminal trusts
// only that certificate, so a host it cannot verify is connect-failed before any request byte is sent.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AcquirerLink, signOn, tcpConnector } from '../../firmware-ts/acquirer/index.js';
import { systemClock } from '../../protocol/io/clock.js';
import { nodeStorage } from '../../firmware-ts/io/node-storage.js';
import { AcquirerHost, startAcquirerServer } from '../../host-bridge/acquirer/index.js';
import { textField } from '../../protocol/iso8583/index.js';
import { tmpDir } from '../helpers/tmp.js';
import { BATCH, ID, request, TMK } from './harness.js';

function selfSigned(dir: string, cn: string): { cert: Buffer; key: Buffer } {
  const key = path.join(dir, `${cn}.key`);
  const cert = path.join(dir, `${cn}.crt`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', `/CN=${cn}`, '-addext', `subjectAltName=DNS:${cn}`, '-keyout', key, '-out', cert], { stdio: 'ignore' });
  return { cert: fs.readFileSync(cert), key: fs.readFileSync(key) };
}

describe('acquirer link over TLS', () => {
  it('signs on and gets an approval; an untrusted host is connect-failed', async () => {
    const dir = tmpDir('tls');
    const hostCert = selfSigned(dir, 'localhost');
    const other = selfSigned(dir, 'other');
    const host = AcquirerHost.open({ storage: nodeStorage, ledgerPath: path.join(dir, 'acq.jsonl'), tmk: TMK, clock: systemClock });
    const server = await startAcquirerServer({ host, clock: systemClock, port: 0, tls: hostCert });
    const linkTrusting = (ca: Buffer) =>
      new AcquirerLink({
        connector: tcpConnector({ host: '127.0.0.1', port: server.port, tls: { ca, servername: 'localhost' } }),
        clock: systemClock,
        connectTimeoutMs: 2000,
        responseTimeoutMs: 2000,
      });
    const good = linkTrusting(hostCert.cert);
    const bad = linkTrusting(other.cert);
    try {
      expect((await signOn(good, TMK, ID, '000001', BATCH)).kind).toBe('signed-on');
      const res = await good.exchange(request('sale', '000002', '000000000100'));
      expect(res.kind === 'response' && textField(res.message, 39)).toBe('00');
      const refused = await signOn(bad, TMK, ID, '000003', BATCH);
      expect(refused.kind).toBe('connect-failed');
    } finally {
      good.close();
      bad.close();
      await server.close();
      host.close();
    }
  });
});
