import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * A fresh directory in this run's scratch area, kept after the run so the final PCI scan (global-setup)
 * reads everything the suite wrote.
 */
export function tmpDir(prefix: string): string {
  const root = process.env.POSJ_TEST_TMP ?? path.resolve('.test-tmp', 'adhoc');
  fs.mkdirSync(root, { recursive: true });
  return fs.mkdtempSync(path.join(root, `${prefix}-`));
}
