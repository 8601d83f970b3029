// Strict reading of the YAML files a lab writes (scenarios, bench files): every value is read through a
// node that knows its file and line, a key nobody reads is an error with a "did you mean", and every error is
// a BenchFileError naming file:line and the key path — a typo must never silently skip a fault or an assertion.
import * as fs from 'node:fs';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node, type Scalar } from 'yaml';
import { didYouMean } from '../../protocol/json/known-keys.js';

export class BenchFileError extends Error {
  readonly code = 'BENCH_FILE_INVALID';
  constructor(
    readonly file: string,
    readonly line: number,
    readonly key: string,
    readonly reason: string,
  ) {
    super(`${file}:${line}: ${key}: ${reason}`);
    this.name = 'BenchFileError';
  }
}

/** One YAML node with where it came from. */
export class YNode {
  constructor(
    private readonly node: Node | null,
    readonly file: string,
    readonly key: string,
    private readonly lines: LineCounter,
    private readonly fallbackLine: number,
  ) {}

  get line(): number {
    const at = this.node?.range?.[0];
    return at === undefined ? this.fallbackLine : this.lines.linePos(at).line;
  }

  fail(reason: string, key = this.key): never {
    throw new BenchFileError(this.file, this.line, key, reason);
  }

  get isMap(): boolean {
    return isMap(this.node);
  }

  get isSeq(): boolean {
    return isSeq(this.node);
  }

  get isScalar(): boolean {
    return isScalar(this.node);
  }

  /** The plain JavaScript value (for rules objects handed to their own strict parser). */
  toJS(): unknown {
    return this.node ? this.node.toJSON() : null;
  }

  private scalar(): unknown {
    if (!isScalar(this.node)) this.fail('expected a single value here, not a list or a mapping');
    return this.node.value;
  }

  str(pattern?: RegExp, hint?: string): string {
    const v = this.scalar();
    if (typeof v !== 'string' && typeof v !== 'number') this.fail('expected text');
    const s = String(v);
    if (s.length === 0) this.fail('must not be empty');
    if (pattern && !pattern.test(s)) this.fail(hint ?? `must match ${pattern}`);
    return s;
  }

  int(min: number, max: number): number {
    const v = this.scalar();
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) this.fail(`expected a whole number ${min}..${max}`);
    return v;
  }

  bool(): boolean {
    const v = this.scalar();
    if (typeof v !== 'boolean') this.fail('expected true or false');
    return v;
  }

  /** The scalar as the file writes it: YAML reads `1e2`, `0x64` and `100` alike as the number 100. */
  written(): string {
    const v = this.scalar();
    return (this.node as Scalar).source ?? String(v ?? '');
  }

  /** The raw scalar (string, number, boolean or null) for values compared as written. */
  value(): unknown {
    return this.scalar();
  }

  items(): YNode[] {
    if (!isSeq(this.node)) this.fail('expected a list (lines starting with "- ")');
    return this.node.items.map((n, i) => new YNode(n as Node, this.file, `${this.key}[${i}]`, this.lines, this.line));
  }

  /** The mapping's entries, in order, checked against `known` (an unknown key is an error naming its line). */
  map(known: readonly string[]): MapReader {
    if (!isMap(this.node)) this.fail(`expected a mapping (key: value) with keys ${known.join(', ')}`);
    const entries = new Map<string, YNode>();
    for (const pair of this.node.items) {
      const keyNode = pair.key as Node | null;
      const k = isScalar(keyNode) ? String(keyNode.value) : '';
      const keyAt = keyNode?.range?.[0];
      const keyLine = keyAt === undefined ? this.line : this.lines.linePos(keyAt).line;
      const path = this.key ? `${this.key}.${k}` : k;
      if (!known.includes(k)) {
        const near = didYouMean(k, known);
        throw new BenchFileError(this.file, keyLine, path, `unknown key${near ? ` (did you mean "${near}"?)` : ` (known: ${known.join(', ')})`}`);
      }
      if (entries.has(k)) throw new BenchFileError(this.file, keyLine, path, 'given twice');
      entries.set(k, new YNode((pair.value as Node | null) ?? null, this.file, path, this.lines, keyLine));
    }
    return new MapReader(this, entries);
  }
}

export class MapReader {
  constructor(
    readonly node: YNode,
    readonly entries: Map<string, YNode>,
  ) {}

  get(key: string): YNode | undefined {
    return this.entries.get(key);
  }

  need(key: string): YNode {
    const v = this.entries.get(key);
    if (!v) this.node.fail(`missing key "${key}"`, this.node.key ? `${this.node.key}.${key}` : key);
    return v;
  }

  keys(): string[] {
    return [...this.entries.keys()];
  }
}

/** Parses a YAML file into its root node; YAML syntax errors are BenchFileErrors with their line. */
export function readYamlFile(file: string): YNode {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new BenchFileError(file, 0, '(file)', `cannot read it: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return parseYamlText(text, file);
}

export function parseYamlText(text: string, file: string): YNode {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const err = doc.errors[0];
  if (err) throw new BenchFileError(file, err.linePos?.[0]?.line ?? lines.linePos(err.pos[0]).line, '(yaml)', err.message.split('\n')[0]!);
  if (doc.contents === null) throw new BenchFileError(file, 1, '(file)', 'empty file');
  return new YNode(doc.contents as Node, file, '', lines, 1);
}
