import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXAMPLE_LANGUAGES, exampleFiles } from '../../host-bridge/examples/generate-receipt-examples.js';

// The committed example images are what the README shows; they must be what the code prints today.
describe('committed example receipts', () => {
  for (const lang of EXAMPLE_LANGUAGES) {
    it(`host-bridge/examples/receipt-${lang}.{txt,svg} match the current code (regenerate: see generate-receipt-examples.ts)`, () => {
      const want = exampleFiles(lang);
      const dir = path.resolve('host-bridge/examples');
      expect(fs.readFileSync(path.join(dir, `receipt-${lang}.txt`), 'utf8')).toBe(want.txt);
      expect(fs.readFileSync(path.join(dir, `receipt-${lang}.svg`), 'utf8')).toBe(want.svg);
    });
  }
});
