// `npm run bundle`: the terminal firmware as one file. esbuild bundles firmware-ts/cli/posj.ts with every
// JavaScript dependency into posj.mjs; the only file beside it is the native serial binding, copied from
// @serialport/bindings-cpp's prebuilds for the target into native/serialport.node and loaded by a path
// relative to posj.mjs (so a slot directory needs no node_modules). Both are packed into firmware.img, and
// manifest.json describes the image and is signed with Ed25519. A bundle input outside firmware-ts/,
// protocol/ and node_modules/ is an error: what is flashed is the terminal alone (DESIGN rule 10).
import { spawnSync } from 'node:child_process';
import { createHash, type KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import { FORMAT_VERSION } from '../../protocol/journal/format.js';
import { FIRMWARE_PRODUCT, signManifest, type FirmwareManifest, type SignedManifest } from '../../protocol/firmware/manifest.js';
import { packImage, type ImageFile } from '../../protocol/firmware/image.js';
import { FIRMWARE_VERSION } from '../../firmware-ts/firmware/build-info.js';
import { terminalRecordTypes } from '../../firmware-ts/txn/records.js';

export const FIRMWARE_ENTRY = 'firmware-ts/cli/posj.ts';
const ALLOWED_INPUTS = ['firmware-ts/', 'protocol/', 'node_modules/'];
const NATIVE_PATH = 'native/serialport.node';

export class BundleError extends Error {
  readonly code = 'BUNDLE_FAILED';
}

export interface BundleOptions {
  /** The repository root (where package.json is). */
  root: string;
  outDir: string;
  signingKey: KeyObject;
  /** `platform-arch` of the terminal, e.g. linux-arm64. */
  target: string;
  libc: 'glibc' | 'musl';
  minVersion: string;
  /** Entry module; the terminal's posj unless a test says otherwise. */
  entry?: string;
}

export interface BundleResult {
  outDir: string;
  imagePath: string;
  manifestPath: string;
  signed: SignedManifest;
  firmwareBytes: number;
  nativeBytes: number;
  /** Input bytes per top folder or npm package, from esbuild's metafile. */
  inputs: Record<string, number>;
}

/** Loads the binding from beside posj.mjs instead of node-gyp-build's search of node_modules. */
const nativeBinding: esbuild.Plugin = {
  name: 'native-binding-beside-bundle',
  setup(b) {
    b.onLoad({ filter: /[\\/]@serialport[\\/]bindings-cpp[\\/]dist[\\/]serialport-bindings\.js$/ }, () => ({
      contents: `exports.binding = require(${JSON.stringify('./' + NATIVE_PATH)});`,
      loader: 'js',
    }));
    b.onResolve({ filter: /^\.\/native\/serialport\.node$/ }, (a) => ({ path: a.path, external: true }));
  },
};

function inputGroup(p: string): string {
  const m = /^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(p);
  return m ? m[1]! : p.split('/')[0]!;
}

function nativeFile(root: string, target: string, libc: string): string {
  const pkg = path.dirname(createRequire(path.join(root, 'package.json')).resolve('@serialport/bindings-cpp/package.json'));
  const dir = path.join(pkg, 'prebuilds', target);
  if (!fs.existsSync(dir)) throw new BundleError(`no serialport prebuild for ${target} (have: ${fs.readdirSync(path.join(pkg, 'prebuilds')).join(', ')})`);
  const all = fs.readdirSync(dir).filter((f) => f.endsWith('.node'));
  const pick = all.length === 1 ? all : all.filter((f) => f.endsWith(`.${libc}.node`));
  if (pick.length !== 1) throw new BundleError(`cannot choose a serialport binding for ${target}/${libc} among ${all.join(', ')}`);
  return path.join(dir, pick[0]!);
}

function buildId(root: string, imageSha: string): string {
  const head = spawnSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: root, encoding: 'utf8' });
  const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root, encoding: 'utf8' });
  const commit = head.status === 0 ? head.stdout.trim() : 'nogit';
  return `${commit}${dirty.status === 0 && dirty.stdout.trim() ? '+dirty' : ''}.${imageSha.slice(0, 8)}`;
}

/** The manifest of an image built from this source tree: its hash, and the journal formats this build reads. */
export function describeImage(image: Buffer, o: { version: string; buildId: string; target: string; minVersion: string }): FirmwareManifest {
  return {
    product: FIRMWARE_PRODUCT,
    version: o.version,
    buildId: o.buildId,
    target: o.target,
    size: image.length,
    sha256: createHash('sha256').update(image).digest('hex'),
    journal: { segmentFormat: FORMAT_VERSION, records: Object.fromEntries(terminalRecordTypes().all().map((s) => [s.name, s.version])) },
    minVersion: o.minVersion,
  };
}

export async function buildBundle(o: BundleOptions): Promise<BundleResult> {
  const version = (JSON.parse(fs.readFileSync(path.join(o.root, 'package.json'), 'utf8')) as { version: string }).version;
  if (version !== FIRMWARE_VERSION) throw new BundleError(`package.json says ${version}, firmware-ts/firmware/build-info.ts says ${FIRMWARE_VERSION}: make them agree`);
  const built = await esbuild.build({
    absWorkingDir: o.root,
    entryPoints: [o.entry ?? FIRMWARE_ENTRY],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    minify: true,
    legalComments: 'eof',
    write: false,
    metafile: true,
    outfile: 'posj.mjs',
    logLevel: 'silent',
    // Bundled CommonJS modules call require(); in an ES module it must be made from this file's URL.
    banner: { js: "import { createRequire as __posjRequire } from 'node:module'; const require = __posjRequire(import.meta.url);" },
    plugins: [nativeBinding],
  });
  const inputs: Record<string, number> = {};
  for (const [p, meta] of Object.entries(built.metafile.inputs)) {
    if (!ALLOWED_INPUTS.some((a) => p.startsWith(a))) throw new BundleError(`the firmware would carry ${p}: only firmware-ts/, protocol/ and npm packages may be bundled`);
    inputs[inputGroup(p)] = (inputs[inputGroup(p)] ?? 0) + meta.bytes;
  }
  const js = Buffer.from(built.outputFiles[0]!.contents);
  const native = fs.readFileSync(nativeFile(o.root, o.target, o.libc));
  const files: ImageFile[] = [
    { path: 'posj.mjs', mode: 0o755, bytes: js },
    { path: NATIVE_PATH, mode: 0o644, bytes: native },
  ];
  const image = packImage(files);
  const sha256 = createHash('sha256').update(image).digest('hex');
  const manifest = describeImage(image, { version, buildId: buildId(o.root, sha256), target: o.target.startsWith('linux-') ? `${o.target}-${o.libc}` : o.target, minVersion: o.minVersion });
  const signed = signManifest(manifest, o.signingKey);
  fs.mkdirSync(path.join(o.outDir, 'native'), { recursive: true });
  for (const f of files) fs.writeFileSync(path.join(o.outDir, f.path), f.bytes, { mode: f.mode });
  const imagePath = path.join(o.outDir, 'firmware.img');
  const manifestPath = path.join(o.outDir, 'manifest.json');
  fs.writeFileSync(imagePath, image);
  fs.writeFileSync(manifestPath, JSON.stringify(signed, null, 2) + '\n');
  return { outDir: o.outDir, imagePath, manifestPath, signed, firmwareBytes: js.length, nativeBytes: native.length, inputs };
}
