import * as fs from 'node:fs';

/** fsync a directory: a rename or a new file in it is durable only once its directory is. */
export function syncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
