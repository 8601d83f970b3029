// The bundles flash steps send. `build` is this checkout's terminal firmware, bundled (esbuild, as `npm run
// bundle`) once per run and signed with the bench's firmware key — the key the terminal under test trusts;
// every flash of it in the run sends the same bytes, so an interrupted upload can resume. Its variants are
// re-signed by the bench from the same image: by a throwaway key (a bad signature), or claiming another
// version (a downgrade). A bundle directory is sent as it is.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSignedManifest, signManifest, type FirmwareManifest } from '../../protocol/firmware/manifest.js';
import type { FlashBundleSpec } from './scenario.js';

/** The repository this bench runs from (dist/host-bridge/bench → ../../..). */
export const CHECKOUT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export interface LoadedBundle {
  /** How the report names it. */
  what: string;
  manifest: FirmwareManifest;
  manifestBytes: Buffer;
  image: Buffer;
}

export class BenchBundles {
  private built: Promise<{ manifest: FirmwareManifest; image: Buffer; dir: string }> | null = null;

  /** `signingKey`: what the terminal trusts (null: this bench cannot sign, only send bundle directories). */
  constructor(
    private readonly outDir: string,
    private readonly signingKey: KeyObject | null,
    private readonly signingKeyWhy: string,
  ) {}

  /** This checkout's firmware, bundled on first use. */
  build(): Promise<{ manifest: FirmwareManifest; image: Buffer; dir: string }> {
    const key = this.signingKey;
    if (!key) return Promise.reject(new Error(`"bundle: build" needs the firmware signing key the terminal trusts: ${this.signingKeyWhy}`));
    this.built ??= (async () => {
      // esbuild is a dev dependency: loaded only when a run flashes this checkout.
      const { buildBundle } = await import('../bundle/build-bundle.js');
      const r = await buildBundle({ root: CHECKOUT, outDir: this.outDir, signingKey: key, target: `${process.platform}-${process.arch}`, libc: 'glibc', minVersion: '0.1.0' });
      return { manifest: r.signed.manifest, image: fs.readFileSync(r.imagePath), dir: r.outDir };
    })();
    return this.built;
  }

  async load(spec: FlashBundleSpec): Promise<LoadedBundle> {
    if (spec.source !== 'build') {
      const manifestBytes = fs.readFileSync(path.join(spec.source.dir, 'manifest.json'));
      return { what: spec.source.dir, manifest: parseSignedManifest(manifestBytes).manifest, manifestBytes, image: fs.readFileSync(path.join(spec.source.dir, 'firmware.img')) };
    }
    const b = await this.build();
    const manifest = spec.version ? { ...b.manifest, version: spec.version, buildId: `${b.manifest.buildId}.as-${spec.version}` } : b.manifest;
    const key = spec.signedBy === 'untrusted-key' ? generateKeyPairSync('ed25519').privateKey : this.signingKey!;
    const what = `this checkout's build ${manifest.version} (${manifest.buildId})${spec.signedBy ? ', signed by a key the terminal does not trust' : ''}`;
    return { what, manifest, manifestBytes: Buffer.from(JSON.stringify(signManifest(manifest, key))), image: b.image };
  }
}
