// Boot time measured in a fresh child process: a process that has already run the journal has warm JIT,
// warm module caches and a grown heap, all of which would flatter a boot figure. The child imports a
// module, calls one exported open function and reports how long that took and the heap after a full GC
// while the opened object is still alive. The OS page cache stays warm (dropping it needs root and hits
// the whole machine), so boot_ms is a warm-cache figure.
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

export interface BootSpec {
  /** ES module to import in the child: a file path or a file: URL (of compiled JavaScript). */
  module: string;
  /** Name of the exported function that opens the journal; may return an object with close(). */
  export: string;
  /** JSON-serialisable arguments for it, e.g. the journal directory. */
  args: unknown[];
  timeoutMs?: number;
}

export interface BootMeasure {
  /** Time to import the module (code loading, not the journal). */
  import_ms: number;
  /** Time of the open call alone. */
  boot_ms: number;
  /** V8 heap in use after gc(), with the opened object alive. */
  heap_mb: number;
  rss_mb: number;
}

const CHILD = `
const spec = JSON.parse(process.env.POSJ_BOOT_SPEC);
const t0 = performance.now();
const mod = await import(spec.module);
const open = mod[spec.export];
if (typeof open !== 'function') throw new Error('boot bench: ' + spec.module + ' exports no function ' + spec.export);
globalThis.gc();
const t1 = performance.now();
const opened = await open(...spec.args);
const t2 = performance.now();
globalThis.gc();
const mem = process.memoryUsage();
process.stdout.write(JSON.stringify({ import_ms: t1 - t0, boot_ms: t2 - t1, heap_mb: mem.heapUsed / 1048576, rss_mb: mem.rss / 1048576 }) + '\\n');
if (opened && typeof opened.close === 'function') await opened.close();
`;

export function measureBoot(spec: BootSpec): Promise<BootMeasure> {
  const url = spec.module.startsWith('file:') ? spec.module : pathToFileURL(path.resolve(spec.module)).href;
  const env = { ...process.env, POSJ_BOOT_SPEC: JSON.stringify({ module: url, export: spec.export, args: spec.args }) };
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--expose-gc', '--input-type=module', '-e', CHILD],
      { env, timeout: spec.timeoutMs ?? 300_000, maxBuffer: 1 << 20 },
      (err, stdout, stderr) => {
        // err.message repeats the whole child script; the child's stderr says what went wrong.
        if (err) return reject(new Error(`boot bench child failed (${err.killed ? 'timed out' : `exit ${err.code}`}): ${stderr.trim() || err.message}`));
        try {
          resolve(JSON.parse(stdout.trim().split('\n').pop()!) as BootMeasure);
        } catch {
          reject(new Error(`boot bench child printed no result: ${stdout.trim() || stderr.trim()}`));
        }
      },
    );
  });
}
