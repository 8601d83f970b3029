// Coverage feedback from V8 itself: block coverage through the inspector protocol (Profiler
// .startPreciseCoverage with call counts, in this very process), read as the set of blocks that ran, for
// the scripts of the code under test only. takePreciseCoverage resets the counters, so each reading covers
// exactly the inputs run since the last one.
//
// V8 reports a nested block only where its count differs from its parent's, so the ranges it lists depend
// on the counts, not just on what ran: two runs of one input, or a batch of them, list different ranges.
// A block is therefore keyed by its start offset, and "did it run" is the count of the innermost range
// holding that offset — which is above zero exactly when the block ran, however the ranges were merged.
import { Session } from 'node:inspector';

interface Range {
  startOffset: number;
  endOffset: number;
  count: number;
}
interface FunctionCoverage {
  functionName: string;
  ranges: Range[];
}
interface ScriptCoverage {
  scriptId: string;
  url: string;
  functions: FunctionCoverage[];
}

// One inspector session per process, started once and never stopped: stopping precise coverage and starting
// it again loses the block counts of code that ran under the first start (measured: iso8583-1987 run after
// iso8583-cup in one process saw 19 of its blocks, run alone 86), so a second target in the same process would
// be fuzzed nearly blind. Each V8Coverage reads the same counters through its own filter.
let shared: Session | undefined;

function session(): Session {
  if (!shared) {
    shared = new Session();
    shared.connect();
    post(shared, 'Profiler.enable');
    post(shared, 'Profiler.startPreciseCoverage', { callCount: true, detailed: true });
  }
  return shared;
}

/** Inspector calls on a session of this thread complete synchronously. */
function post(s: Session, method: string, params?: object): unknown {
  let out: unknown;
  let failure: Error | null = null;
  s.post(method, params, (err, res) => {
    failure = err;
    out = res;
  });
  if (failure) throw failure;
  return out;
}

export class V8Coverage {
  private readonly session = session();
  private readonly wanted: (url: string) => boolean;

  /** `wanted`: which script URLs count (the decoders under test, not the fuzzer or node internals). */
  constructor(wanted: (url: string) => boolean) {
    this.wanted = wanted;
    // Counts run before this reader existed are another target's.
    this.take();
  }

  /** Every block start offset ever reported, per script and function: the blocks there are to cover. */
  private readonly known = new Map<string, Map<number, Set<number>>>();

  /** Blocks V8 has reported in the wanted scripts, run or not: what there is to cover (as far as V8 has said). */
  get knownBlocks(): number {
    let n = 0;
    for (const fns of this.known.values()) for (const starts of fns.values()) n += starts.size;
    return n;
  }

  /** Blocks (script:offset) that ran since the last call. */
  take(): Set<string> {
    const { result } = post(this.session, 'Profiler.takePreciseCoverage') as { result: ScriptCoverage[] };
    const features = new Set<string>();
    for (const script of result) {
      if (!this.wanted(script.url)) continue;
      let fns = this.known.get(script.url);
      if (!fns) this.known.set(script.url, (fns = new Map()));
      for (const fn of script.functions) {
        const ranges = fn.ranges;
        const root = ranges[0];
        if (!root) continue;
        let starts = fns.get(root.startOffset);
        if (!starts) fns.set(root.startOffset, (starts = new Set()));
        for (const r of ranges) starts.add(r.startOffset);
        if (root.count === 0) continue;
        for (const at of starts) {
          // Ranges come outermost first and siblings do not overlap: the last one holding `at` is innermost.
          let count = 0;
          for (const r of ranges) if (r.startOffset <= at && at < r.endOffset) count = r.count;
          if (count > 0) features.add(`${script.url}:${at}`);
        }
      }
    }
    return features;
  }
}
