// DESIGN rule 10, checked on the sources as well as by the compiler (the project references of
// tsconfig.json): protocol/ imports nothing of the project's other folders, firmware-ts/ only protocol/.
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tmpDir } from '../helpers/tmp.js';

const ALLOWED: Record<string, string[]> = { protocol: ['protocol'], 'firmware-ts': ['firmware-ts', 'protocol'] };

function* tsFiles(dir: string): Generator<string> {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* tsFiles(p);
    else if (e.name.endsWith('.ts')) yield p;
  }
}

function wrongWayImports(root: string, folder: string): string[] {
  const bad: string[] = [];
  for (const file of tsFiles(path.join(root, folder))) {
    const src = fs.readFileSync(file, 'utf8');
    for (const m of src.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
      const top = path.relative(root, path.resolve(path.dirname(file), m[1]!)).split(path.sep)[0]!;
      if (!ALLOWED[folder]!.includes(top)) bad.push(`${path.relative(root, file)} imports ${m[1]}`);
    }
  }
  return bad;
}

describe('layering', () => {
  it('finds a wrong-way import when there is one (the check can fail)', () => {
    const root = tmpDir('layering');
    fs.mkdirSync(path.join(root, 'protocol', 'serial'), { recursive: true });
    fs.writeFileSync(path.join(root, 'protocol', 'serial', 'x.ts'), "import { x } from '../../firmware-ts/io/storage.js';\n");
    expect(wrongWayImports(root, 'protocol')).toEqual(['protocol/serial/x.ts imports ../../firmware-ts/io/storage.js']);
  });

  it('protocol/ imports nothing outside itself; firmware-ts/ nothing but protocol/', () => {
    expect(wrongWayImports('.', 'protocol')).toEqual([]);
    expect(wrongWayImports('.', 'firmware-ts')).toEqual([]);
  });
});
