// socat pty pairs for the serial tests, made under this run's scratch area (see host-bridge/bench/pty-pair.ts).
import { createPtyPair as create, type PtyPair, type PtyPairOptions } from '../../host-bridge/bench/pty-pair.js';
import { tmpDir } from './tmp.js';

export { socatPath, type PtyPair, type PtyPairOptions } from '../../host-bridge/bench/pty-pair.js';

export function createPtyPair(opts: PtyPairOptions = {}): Promise<PtyPair> {
  return create(opts.a && opts.b ? opts : { dir: tmpDir('pty'), ...opts });
}
