import * as fs from 'node:fs';
import * as path from 'node:path';

/** A fresh directory under .test-tmp/, kept after the run so the final PCI scan can read what was written. */
export function tmpDir(prefix: string): string {
  const root = path.resolve('.test-tmp');
  fs.mkdirSync(root, { recursive: true });
  return fs.mkdtempSync(path.join(root, `${prefix}-`));
}
