// The Ed25519 key that signs firmware manifests. Without --key, `npm run bundle` signs with a development
// key it creates once under var/ (never for terminals in the field); the public half is written beside it
// as KEY.pub, which is what a terminal's config names as trusted.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const DEV_SIGNING_KEY = path.join('var', 'firmware-signing', 'dev-ed25519.pem');

export function loadOrCreateSigningKey(file: string, create: boolean): { privateKey: KeyObject; publicKeyFile: string; created: boolean } {
  const publicKeyFile = `${file}.pub`;
  if (!fs.existsSync(file)) {
    if (!create) throw Object.assign(new Error(`no signing key at ${file}`), { code: 'NO_KEY' });
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
    fs.writeFileSync(publicKeyFile, publicKey.export({ format: 'pem', type: 'spki' }));
    return { privateKey, publicKeyFile, created: true };
  }
  const privateKey = createPrivateKey(fs.readFileSync(file));
  if (privateKey.asymmetricKeyType !== 'ed25519') throw Object.assign(new Error(`${file} is a ${privateKey.asymmetricKeyType} key, not Ed25519`), { code: 'BAD_KEY' });
  if (!fs.existsSync(publicKeyFile)) fs.writeFileSync(publicKeyFile, createPublicKey(privateKey).export({ format: 'pem', type: 'spki' }));
  return { privateKey, publicKeyFile, created: false };
}
