// The firmware manifest: what a bundle is, signed with Ed25519 so a terminal flashes only what its trusted
// key signed. The signature covers the manifest's canonical JSON (keys sorted at every level, no spaces), so
// both sides sign and check the same bytes whatever order a writer used. Spec: FIRMWARE.md beside this file.
import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

export const FIRMWARE_PRODUCT = 'pos-journal-terminal';
/** Largest manifest file a terminal reads. */
export const MAX_MANIFEST_BYTES = 64 * 1024;

export interface FirmwareManifest {
  product: string;
  version: string;
  buildId: string;
  /** Node platform-arch-libc the native serial binding in the image was built for. */
  target: string;
  /** Of the image file (the packed slot contents). */
  size: number;
  sha256: string;
  /** The journal formats this build reads: segment format version and, per record type, its schema version. */
  journal: { segmentFormat: number; records: Record<string, number> };
  /** A terminal running an older version than this must not take this bundle (it cannot migrate from it). */
  minVersion: string;
}

export interface SignedManifest {
  manifest: FirmwareManifest;
  /** First 16 hex digits of SHA-256 over the signer's raw public key. */
  keyId: string;
  /** Base64 Ed25519 signature over canonicalJson(manifest). */
  signature: string;
}

export type ManifestProblem = 'malformed' | 'unknown-key' | 'bad-signature';

export class ManifestError extends Error {
  constructor(
    readonly problem: ManifestProblem,
    message: string,
  ) {
    super(message);
    this.name = 'ManifestError';
  }
}

export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .filter((k) => o[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

export function keyId(publicKey: KeyObject): string {
  const raw = publicKey.export({ format: 'der', type: 'spki' });
  return createHash('sha256').update(raw).digest('hex').slice(0, 16);
}

export function signManifest(manifest: FirmwareManifest, privateKey: KeyObject): SignedManifest {
  const signature = sign(null, Buffer.from(canonicalJson(manifest)), privateKey).toString('base64');
  return { manifest, keyId: keyId(createPublicKey(privateKey)), signature };
}

const VERSION = /^\d{1,5}\.\d{1,5}\.\d{1,5}$/;
const HEX64 = /^[0-9a-f]{64}$/;

function field(o: Record<string, unknown>, key: string, check: (v: unknown) => boolean, what: string): void {
  if (!check(o[key])) throw new ManifestError('malformed', `manifest field "${key}": ${what}`);
}

/** Parses manifest bytes strictly: every field present with its type; anything else is `malformed`. */
export function parseSignedManifest(bytes: Buffer): SignedManifest {
  if (bytes.length > MAX_MANIFEST_BYTES) throw new ManifestError('malformed', `manifest is ${bytes.length} bytes, over ${MAX_MANIFEST_BYTES}`);
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new ManifestError('malformed', `manifest is not JSON: ${(e as Error).message}`);
  }
  const top = raw as Record<string, unknown>;
  if (typeof raw !== 'object' || raw === null) throw new ManifestError('malformed', 'manifest is not an object');
  field(top, 'keyId', (v) => typeof v === 'string' && /^[0-9a-f]{16}$/.test(v), '16 hex digits');
  field(top, 'signature', (v) => typeof v === 'string' && v.length > 0 && v.length < 200, 'base64 signature');
  const m = top.manifest as Record<string, unknown>;
  if (typeof m !== 'object' || m === null) throw new ManifestError('malformed', 'manifest field "manifest": an object');
  const str = (v: unknown) => typeof v === 'string' && v.length > 0 && v.length <= 200;
  field(m, 'product', str, 'a string');
  field(m, 'version', (v) => typeof v === 'string' && VERSION.test(v), 'MAJOR.MINOR.PATCH');
  field(m, 'minVersion', (v) => typeof v === 'string' && VERSION.test(v), 'MAJOR.MINOR.PATCH');
  field(m, 'buildId', str, 'a string');
  field(m, 'target', str, 'a string');
  field(m, 'size', (v) => Number.isSafeInteger(v) && (v as number) > 0, 'a positive whole number');
  field(m, 'sha256', (v) => typeof v === 'string' && HEX64.test(v), '64 hex digits');
  const j = m.journal as Record<string, unknown>;
  if (typeof j !== 'object' || j === null) throw new ManifestError('malformed', 'manifest field "journal": an object');
  field(j, 'segmentFormat', (v) => Number.isInteger(v) && (v as number) >= 1, 'a version number');
  const recs = j.records as Record<string, unknown>;
  if (typeof recs !== 'object' || recs === null || !Object.values(recs).every((v) => Number.isInteger(v) && (v as number) >= 1)) {
    throw new ManifestError('malformed', 'manifest field "journal.records": record type → schema version');
  }
  return top as unknown as SignedManifest;
}

/** Checks the signature against the trusted keys (by keyId). */
export function verifyManifest(signed: SignedManifest, trusted: readonly KeyObject[]): void {
  const key = trusted.find((k) => keyId(k) === signed.keyId);
  if (!key) throw new ManifestError('unknown-key', `manifest signed by key ${signed.keyId}, which this terminal does not trust`);
  const ok = verify(null, Buffer.from(canonicalJson(signed.manifest)), key, Buffer.from(signed.signature, 'base64'));
  if (!ok) throw new ManifestError('bad-signature', `manifest signature does not verify under key ${signed.keyId}`);
}

/** -1, 0 or 1 for MAJOR.MINOR.PATCH versions. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return pa[i]! < pb[i]! ? -1 : 1;
  return 0;
}
