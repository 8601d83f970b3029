// Requests and answers on the service port (SERVICE_PORT.md): u32 BE id, u16 BE length of a JSON head, the
// head, then a binary body (a flash chunk, a journal segment piece). An answer carries its request's id.
export const MAX_HEAD_BYTES = 2048;

export interface ServiceMessage {
  id: number;
  head: Record<string, unknown>;
  body: Buffer;
}

export class ServiceMessageError extends Error {
  readonly code = 'SERVICE_BAD_MESSAGE';
}

export function encodeMessage(m: ServiceMessage): Buffer {
  const head = Buffer.from(JSON.stringify(m.head));
  if (head.length > MAX_HEAD_BYTES) throw new ServiceMessageError(`message head ${head.length} bytes over ${MAX_HEAD_BYTES}`);
  const pre = Buffer.alloc(6);
  pre.writeUInt32BE(m.id >>> 0, 0);
  pre.writeUInt16BE(head.length, 4);
  return Buffer.concat([pre, head, m.body]);
}

export function decodeMessage(b: Buffer): ServiceMessage {
  if (b.length < 6) throw new ServiceMessageError(`message of ${b.length} bytes is shorter than its 6-byte prefix`);
  const len = b.readUInt16BE(4);
  if (len > MAX_HEAD_BYTES || 6 + len > b.length) throw new ServiceMessageError(`message head length ${len} out of bounds`);
  let head: unknown;
  try {
    head = JSON.parse(b.subarray(6, 6 + len).toString('utf8'));
  } catch {
    throw new ServiceMessageError('message head is not JSON');
  }
  if (typeof head !== 'object' || head === null || Array.isArray(head)) throw new ServiceMessageError('message head is not an object');
  return { id: b.readUInt32BE(0), head: head as Record<string, unknown>, body: Buffer.from(b.subarray(6 + len)) };
}

/** What the terminal signs a challenge into: the bench signs these bytes with its paired key. */
export function authChallengeBytes(terminalId: string, session: number, nonce: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`posj-service-auth|${terminalId}|${session >>> 0}|`), nonce]);
}

/** Distinct failure codes a flash can end with; the bench maps each to its own exit code. */
export const FLASH_ERRORS = ['FLASH_BAD_SIGNATURE', 'FLASH_WRONG_PRODUCT', 'FLASH_DOWNGRADE', 'FLASH_NO_SPACE', 'FLASH_INTERRUPTED', 'FLASH_JOURNAL_INCOMPATIBLE', 'FLASH_BAD_IMAGE', 'FLASH_SLOT_UNDER_TEST'] as const;
export type FlashErrorCode = (typeof FLASH_ERRORS)[number];
