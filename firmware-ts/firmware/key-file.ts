// Trusted and paired public keys live in PEM files, one or more "PUBLIC KEY" blocks each (Ed25519, SPKI).
import { createPublicKey, type KeyObject } from 'node:crypto';
import * as fs from 'node:fs';

export class KeyFileError extends Error {
  readonly code = 'KEY_FILE_INVALID';
}

export function readPublicKeys(file: string): KeyObject[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new KeyFileError(`cannot read key file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const blocks = text.match(/-----BEGIN PUBLIC KEY-----[\s\S]*?-----END PUBLIC KEY-----/g) ?? [];
  if (blocks.length === 0) throw new KeyFileError(`${file} holds no PEM public key`);
  return blocks.map((pem, i) => {
    const k = createPublicKey(pem);
    if (k.asymmetricKeyType !== 'ed25519') throw new KeyFileError(`${file}: key ${i + 1} is ${k.asymmetricKeyType}, not Ed25519`);
    return k;
  });
}
