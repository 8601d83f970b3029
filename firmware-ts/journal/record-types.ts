// Record type registry: a stable numeric code on disk, a name in code, and a schema version with
// upgraders, so a newer build reads every older record format (and never drops an open record doing it).
import { JournalSchemaError } from './errors.js';

export interface RecordSchema {
  name: string;
  /** Stable on-disk code; never reused for another meaning. */
  code: number;
  /** Version written by this build. */
  version: number;
  /** upgrade[v] turns a v payload into a v+1 payload. */
  upgrade?: Record<number, (payload: any) => any>;
}

export class RecordTypes {
  private readonly byName = new Map<string, RecordSchema>();
  private readonly byCode = new Map<number, RecordSchema>();

  constructor(schemas: RecordSchema[] = []) {
    for (const s of schemas) this.register(s);
  }

  register(s: RecordSchema): void {
    if (!Number.isInteger(s.code) || s.code < 1 || s.code > 0xffff) throw new RangeError(`record type ${s.name}: code must be 1..65535`);
    if (s.version < 1 || s.version > 255) throw new RangeError(`record type ${s.name}: version must be 1..255`);
    const clash = this.byCode.get(s.code);
    if (clash && clash.name !== s.name) throw new Error(`record type code ${s.code} is taken by ${clash.name}`);
    this.byName.set(s.name, s);
    this.byCode.set(s.code, s);
  }

  all(): RecordSchema[] {
    return [...this.byName.values()];
  }

  schemaFor(name: string): RecordSchema {
    const s = this.byName.get(name);
    if (!s) throw new JournalSchemaError(name, 0, 'unknown record type');
    return s;
  }

  nameOf(code: number): string {
    return this.byCode.get(code)?.name ?? `unknown#${code}`;
  }

  /** Brings a payload read at `version` up to the current version of its type. */
  upgrade(code: number, version: number, payload: unknown): { name: string; payload: unknown } {
    const s = this.byCode.get(code);
    if (!s) throw new JournalSchemaError(`unknown#${code}`, version, 'unknown record type code (written by a newer build?)');
    if (version > s.version) throw new JournalSchemaError(s.name, version, `written by a newer build (this build knows up to v${s.version})`);
    let p = payload;
    for (let v = version; v < s.version; v++) {
      const step = s.upgrade?.[v];
      if (!step) throw new JournalSchemaError(s.name, v, `no upgrade from v${v} to v${v + 1}`);
      p = step(p);
    }
    return { name: s.name, payload: p };
  }
}
