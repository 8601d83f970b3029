// The firmware image: the files of one slot packed into one file, so a flash moves and hashes one thing.
// Layout: "POSJIMG1", u32 BE length of the index, the index (JSON [{path, size, mode}]), then each file's
// bytes in index order. Paths are relative and plain (no "..", no absolute paths), sizes bounded.
export const IMAGE_MAGIC = Buffer.from('POSJIMG1', 'ascii');
export const MAX_IMAGE_FILES = 64;
export const MAX_IMAGE_BYTES = 64 * 1024 * 1024;
const MAX_INDEX_BYTES = 64 * 1024;
const PATH = /^(?!.*(^|\/)\.\.?(\/|$))[A-Za-z0-9@+_.-]+(\/[A-Za-z0-9@+_.-]+)*$/;

export interface ImageFile {
  path: string;
  /** Unix permission bits (0o644 or 0o755). */
  mode: number;
  bytes: Buffer;
}

export class ImageError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`firmware image at byte ${offset}: ${message}`);
    this.name = 'ImageError';
  }
}

export function packImage(files: readonly ImageFile[]): Buffer {
  for (const f of files) if (!PATH.test(f.path)) throw new ImageError(`bad path "${f.path}"`, 0);
  const index = Buffer.from(JSON.stringify(files.map((f) => ({ path: f.path, size: f.bytes.length, mode: f.mode }))));
  const len = Buffer.alloc(4);
  len.writeUInt32BE(index.length);
  return Buffer.concat([IMAGE_MAGIC, len, index, ...files.map((f) => f.bytes)]);
}

export function unpackImage(image: Buffer): ImageFile[] {
  if (image.length > MAX_IMAGE_BYTES) throw new ImageError(`image is ${image.length} bytes, over ${MAX_IMAGE_BYTES}`, 0);
  if (image.length < 12 || !image.subarray(0, 8).equals(IMAGE_MAGIC)) throw new ImageError('not a firmware image (magic)', 0);
  const indexLength = image.readUInt32BE(8);
  if (indexLength > MAX_INDEX_BYTES || 12 + indexLength > image.length) throw new ImageError(`index length ${indexLength} out of bounds`, 8);
  let index: unknown;
  try {
    index = JSON.parse(image.subarray(12, 12 + indexLength).toString('utf8'));
  } catch {
    throw new ImageError('index is not JSON', 12);
  }
  if (!Array.isArray(index) || index.length === 0 || index.length > MAX_IMAGE_FILES) throw new ImageError(`index must list 1..${MAX_IMAGE_FILES} files`, 12);
  const files: ImageFile[] = [];
  let at = 12 + indexLength;
  for (const e of index as Array<Record<string, unknown>>) {
    if (typeof e.path !== 'string' || !PATH.test(e.path)) throw new ImageError(`bad path ${JSON.stringify(e.path)}`, 12);
    if (!Number.isSafeInteger(e.size) || (e.size as number) < 0 || at + (e.size as number) > image.length) throw new ImageError(`size of ${e.path} runs past the end`, at);
    if (e.mode !== 0o644 && e.mode !== 0o755) throw new ImageError(`mode of ${e.path} must be 0644 or 0755`, 12);
    files.push({ path: e.path, mode: e.mode, bytes: image.subarray(at, at + (e.size as number)) });
    at += e.size as number;
  }
  if (at !== image.length) throw new ImageError(`${image.length - at} bytes after the last file`, at);
  return files;
}
