// Builds nothing and starts nothing: it only makes the per-run scratch directory that suites share, so
// the PCI scan at the end of the run can find every journal the suite wrote.
import * as fs from 'node:fs';
import * as path from 'node:path';

export default function setup(): void {
  const root = path.resolve('.test-tmp');
  fs.rmSync(root, { recursive: true, force: true });
  fs.mkdirSync(root, { recursive: true });
}
