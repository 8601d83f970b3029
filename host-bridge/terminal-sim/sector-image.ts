// One file's bytes as a growable buffer, addressed by 512-byte sector: the unit a disk writes atomically
// and the unit SimDisk keeps, drops or garbles at a power cut.

export const SECTOR = 512;

/** Sector indexes covering bytes [from, to). */
export function sectorsOf(from: number, to: number): number[] {
  const out: number[] = [];
  if (to <= from) return out;
  for (let s = Math.floor(from / SECTOR); s * SECTOR < to; s++) out.push(s);
  return out;
}

export class ByteImage {
  private buf: Buffer;
  private len: number;

  constructor(buf: Buffer = Buffer.alloc(0), len = buf.length) {
    this.buf = buf;
    this.len = len;
  }

  get size(): number {
    return this.len;
  }

  clone(): ByteImage {
    return new ByteImage(Buffer.from(this.buf.subarray(0, this.len)));
  }

  bytes(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.len));
  }

  read(target: Buffer, offset: number, length: number, position: number): number {
    if (position >= this.len || length <= 0) return 0;
    const n = Math.min(length, this.len - position);
    this.buf.copy(target, offset, position, position + n);
    return n;
  }

  write(src: Uint8Array, position: number): void {
    this.resize(Math.max(this.len, position + src.length));
    this.buf.set(src, position);
  }

  /** Shrinking zeroes the cut bytes so that growing again reads zeros, as on a real file. */
  resize(size: number): void {
    if (size > this.buf.length) {
      const next = Buffer.alloc(Math.max(size, this.buf.length * 2));
      this.buf.copy(next, 0, 0, this.len);
      this.buf = next;
    } else if (size < this.len) {
      this.buf.fill(0, size, this.len);
    }
    this.len = size;
  }

  /** Copies sector `s` from `src` (zeros past src's end), within this image's current size. */
  copySectorFrom(src: ByteImage, s: number): void {
    const start = s * SECTOR;
    const end = Math.min(start + SECTOR, this.len);
    if (start >= end) return;
    this.buf.fill(0, start, end);
    if (start < src.len) src.buf.copy(this.buf, start, start, Math.min(end, src.len));
  }

  /** Fills sector `s` (within this image's size) with bytes from `fill`. */
  garbleSector(s: number, fill: (b: Uint8Array) => void): void {
    const start = s * SECTOR;
    const end = Math.min(start + SECTOR, this.len);
    if (start < end) fill(this.buf.subarray(start, end));
  }
}
