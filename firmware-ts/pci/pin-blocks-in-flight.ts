// The PIN blocks this process holds right now, for the one request each belongs to. An encrypted PIN block
// is 8 random-looking bytes, which no pattern can recognise, so the PCI guard checks what is about to be
// written against the blocks actually in flight, in every form pinBlockForms names. With none in flight the
// check costs nothing.
// DESIGN rule 6 / PCI DSS 3.3.1: a PIN block is never stored, not even encrypted.

const held = new Map<Buffer, Buffer[]>();

/** The forms a block could take in a file: raw, as its bytes taken for characters in UTF-8 text, the same
 * inside a JSON string (bytes below 0x20, '"' and '\\' escaped as JSON.stringify writes them: `\u0007`,
 * `\n`), upper- and lower-case hex, base64, and a Buffer's JSON (its bytes as decimal numbers). */
export function pinBlockForms(block: Buffer): Buffer[] {
  const hex = block.toString('hex');
  const text = block.toString('latin1');
  return [
    Buffer.from(block),
    Buffer.from(text, 'utf8'),
    Buffer.from(JSON.stringify(text).slice(1, -1), 'utf8'),
    Buffer.from(hex.toUpperCase(), 'latin1'),
    Buffer.from(hex, 'latin1'),
    Buffer.from(block.toString('base64').replace(/=+$/, ''), 'latin1'),
    Buffer.from([...block].join(','), 'latin1'),
  ];
}

/** Holds a copy of the block's forms until the returned release is called (at the end of its request). */
export function holdPinBlock(block: Buffer): () => void {
  const key = Buffer.from(block);
  held.set(key, pinBlockForms(block));
  return () => {
    for (const f of held.get(key) ?? []) f.fill(0);
    held.delete(key);
    key.fill(0);
  };
}

/** Offset of the first PIN block in flight found in `bytes` (in any of its forms), or -1. */
export function findPinBlockInFlight(bytes: Buffer): number {
  for (const forms of held.values()) {
    for (const f of forms) {
      const at = bytes.indexOf(f);
      if (at >= 0) return at;
    }
  }
  return -1;
}

/** How many blocks are held now (a test checks every one is released). */
export function pinBlocksInFlight(): number {
  return held.size;
}
