// `npm run fuzz:cost`: the decoders' worst-case cost probes, one JSON line each.
import { PROBES, runProbes } from './cost-probes.js';

runProbes(PROBES, (line) => process.stdout.write(line + '\n'));
