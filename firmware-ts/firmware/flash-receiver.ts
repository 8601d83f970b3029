// The terminal's half of a flash. `begin` checks the signed manifest before a byte is taken (signature
// under a trusted key, product and target, downgrade, minimum version, the journal formats the new build
// reads, space), then stages the deflated image under slots/incoming/ by offset; progress is made durable
// every PROGRESS_STEP bytes, so after a cable pull, a bridge restart or a power cut the terminal answers
// the offset it has on disk and the bench resends from there. `commit` inflates (bounded by the manifest's
// size), checks size and SHA-256 and the signature again, writes the files into the inactive slot (each as
// temp + fdatasync + rename, the slot's manifest last, directory fsync), and only then switches
// state.json to the new slot under test. The journal directory is never touched.
import { createHash, type KeyObject } from 'node:crypto';
import * as path from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { ImageError, unpackImage, type ImageFile } from '../../protocol/firmware/image.js';
import { compareVersions, FIRMWARE_PRODUCT, ManifestError, parseSignedManifest, verifyManifest, type SignedManifest } from '../../protocol/firmware/manifest.js';
import type { FlashErrorCode } from '../../protocol/service/service-messages.js';
import { FORMAT_VERSION } from '../../protocol/journal/format.js';
import type { Storage, StorageFile } from '../io/storage.js';
import { terminalRecordTypes } from '../txn/records.js';
import { FIRMWARE_VERSION } from './build-info.js';
import { other, readSlotState, writeFileDurably, writeSlotState, type RolledBack, type SlotName, type SlotState } from './slot-state.js';

/** Staged bytes made durable (and reported on resume) at this granularity. */
export const PROGRESS_STEP = 32 * 1024;

export class FlashError extends Error {
  constructor(
    readonly code: FlashErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'FlashError';
  }
}

export interface FlashReceiverOptions {
  storage: Storage;
  slotsDir: string;
  trustedKeys: readonly KeyObject[];
  /** Free bytes where the slots live (statfs on a terminal). */
  freeBytes: () => number;
  /** `platform-arch` of this terminal. */
  target: string;
}

interface Staging {
  signed: SignedManifest;
  compressedSize: number;
  file: StorageFile;
  have: number;
  durable: number;
}

const INCOMING = 'incoming';

export class FlashReceiver {
  private staging: Staging | null = null;

  constructor(private readonly o: FlashReceiverOptions) {}

  private p(...parts: string[]): string {
    return path.join(this.o.slotsDir, ...parts);
  }

  /**
   * The version the active slot holds (or this build's, on a terminal never flashed), the last slot confirmed
   * healthy, the slot under test if any, and the last automatic rollback (cleared by the next install), so a
   * bench tells "confirmed", "still under test" and "rolled back" apart.
   */
  runningVersion(): { version: string; buildId: string | null; slot: SlotName; confirmed: SlotName; trying: SlotState['trying']; rolledBack: RolledBack | null } {
    const state = readSlotState(this.o.storage, this.o.slotsDir);
    const m = this.slotManifest(state.active);
    return { version: m?.manifest.version ?? FIRMWARE_VERSION, buildId: m?.manifest.buildId ?? null, slot: state.active, confirmed: state.confirmed, trying: state.trying, rolledBack: state.rolledBack ?? null };
  }

  private slotManifest(slot: SlotName): SignedManifest | null {
    const file = this.p(slot, 'manifest.json');
    if (!this.o.storage.exists(file)) return null;
    try {
      return parseSignedManifest(readAll(this.o.storage, file));
    } catch {
      return null;
    }
  }

  private check(manifestBytes: Buffer, allowDowngrade: boolean): SignedManifest {
    let signed: SignedManifest;
    try {
      signed = parseSignedManifest(manifestBytes);
      verifyManifest(signed, this.o.trustedKeys);
    } catch (e) {
      if (e instanceof ManifestError) throw new FlashError(e.problem === 'malformed' ? 'FLASH_BAD_IMAGE' : 'FLASH_BAD_SIGNATURE', e.message);
      throw e;
    }
    const m = signed.manifest;
    if (m.product !== FIRMWARE_PRODUCT) throw new FlashError('FLASH_WRONG_PRODUCT', `bundle is for "${m.product}", this terminal runs ${FIRMWARE_PRODUCT}`);
    if (!m.target.startsWith(this.o.target)) throw new FlashError('FLASH_WRONG_PRODUCT', `bundle is built for ${m.target}, this terminal is ${this.o.target}`);
    const running = this.runningVersion().version;
    if (compareVersions(running, m.minVersion) < 0) throw new FlashError('FLASH_WRONG_PRODUCT', `bundle ${m.version} replaces ${m.minVersion} or newer; this terminal runs ${running}`);
    if (compareVersions(m.version, running) < 0 && !allowDowngrade) throw new FlashError('FLASH_DOWNGRADE', `bundle ${m.version} is older than the running ${running} (--allow-downgrade to force)`);
    if (m.journal.segmentFormat < FORMAT_VERSION) throw new FlashError('FLASH_JOURNAL_INCOMPATIBLE', `bundle reads journal segment format up to ${m.journal.segmentFormat}; this terminal's journal is format ${FORMAT_VERSION}`);
    for (const s of terminalRecordTypes().all()) {
      const v = m.journal.records[s.name];
      if (v === undefined || v < s.version) throw new FlashError('FLASH_JOURNAL_INCOMPATIBLE', `bundle reads record type ${s.name} ${v === undefined ? 'not at all' : `up to v${v}`}; this journal holds v${s.version}`);
    }
    return signed;
  }

  /** Checks the manifest and answers the offset to send from (0, or what a previous try left on disk). */
  begin(manifestBytes: Buffer, compressedSize: number, allowDowngrade: boolean): { offset: number; slot: SlotName } {
    const signed = this.check(manifestBytes, allowDowngrade);
    const state = readSlotState(this.o.storage, this.o.slotsDir);
    // Not a line problem a retry cures: only a reboot ends the trial (the slot confirms itself or rolls back).
    if (state.trying) throw new FlashError('FLASH_SLOT_UNDER_TEST', `slot ${state.trying.slot} holds a build still under test (boot ${state.trying.boots} of its trial): reboot the terminal (posj-bridge reboot --port PORT) so it boots slot ${state.trying.slot} and confirms it or rolls back, then flash again`);
    if (!Number.isSafeInteger(compressedSize) || compressedSize < 1 || compressedSize > 2 * signed.manifest.size + 1024) throw new FlashError('FLASH_BAD_IMAGE', `compressed size ${compressedSize} does not fit an image of ${signed.manifest.size} bytes`);
    // Room for the staged stream, the slot's files and their temp copies.
    const need = compressedSize + signed.manifest.size + 64 * 1024;
    const free = this.o.freeBytes();
    if (need > free) throw new FlashError('FLASH_NO_SPACE', `a flash of this bundle needs ${need} bytes; ${free} are free in ${this.o.slotsDir}`);
    this.close();
    const dir = this.p(INCOMING);
    this.o.storage.mkdirp(dir);
    const prior = this.resumable(signed, compressedSize);
    if (prior === 0) {
      for (const f of ['image.z', 'progress.json', 'manifest.json']) if (this.o.storage.exists(path.join(dir, f))) this.o.storage.remove(path.join(dir, f));
      writeFileDurably(this.o.storage, path.join(dir, 'manifest.json'), manifestBytes);
      writeFileDurably(this.o.storage, path.join(dir, 'progress.json'), Buffer.from(JSON.stringify({ compressedSize, have: 0 })));
      this.o.storage.open(path.join(dir, 'image.z'), 'create').close();
      this.o.storage.syncDir(dir);
    }
    const file = this.o.storage.open(path.join(dir, 'image.z'), 'rw');
    file.truncate(prior);
    this.staging = { signed, compressedSize, file, have: prior, durable: prior };
    return { offset: prior, slot: other(state.active) };
  }

  /** Bytes of the same bundle already durable in incoming/, or 0. */
  private resumable(signed: SignedManifest, compressedSize: number): number {
    const dir = this.p(INCOMING);
    try {
      const staged = parseSignedManifest(readAll(this.o.storage, path.join(dir, 'manifest.json')));
      const progress = JSON.parse(readAll(this.o.storage, path.join(dir, 'progress.json')).toString('utf8')) as { compressedSize: number; have: number };
      const sameBundle = staged.manifest.sha256 === signed.manifest.sha256 && progress.compressedSize === compressedSize;
      if (!sameBundle || !Number.isSafeInteger(progress.have) || progress.have < 0 || progress.have > compressedSize) return 0;
      const onDisk = this.o.storage.open(path.join(dir, 'image.z'), 'r');
      const size = onDisk.size();
      onDisk.close();
      return Math.min(progress.have, size);
    } catch {
      return 0;
    }
  }

  /** Takes bytes at `offset` (in order); answers the contiguous offset the terminal has. */
  chunk(offset: number, bytes: Buffer): { have: number } {
    const s = this.staging;
    if (!s) throw new FlashError('FLASH_INTERRUPTED', 'no flash under way on this terminal: begin again');
    if (offset !== s.have || offset + bytes.length > s.compressedSize) return { have: s.have };
    s.file.write(bytes, offset);
    s.have += bytes.length;
    if (s.have - s.durable >= PROGRESS_STEP || s.have === s.compressedSize) this.saveProgress(s);
    return { have: s.have };
  }

  private saveProgress(s: Staging): void {
    s.file.datasync();
    writeFileDurably(this.o.storage, this.p(INCOMING, 'progress.json'), Buffer.from(JSON.stringify({ compressedSize: s.compressedSize, have: s.have })));
    s.durable = s.have;
  }

  /** Verifies the whole image and installs it into the inactive slot, then switches to it (under test). */
  commit(): { slot: SlotName; version: string } {
    const s = this.staging;
    if (!s) throw new FlashError('FLASH_INTERRUPTED', 'no flash under way on this terminal: begin again');
    if (s.have !== s.compressedSize) throw new FlashError('FLASH_INTERRUPTED', `only ${s.have} of ${s.compressedSize} bytes arrived`);
    const m = s.signed.manifest;
    const compressed = Buffer.alloc(s.compressedSize);
    s.file.read(compressed, 0, compressed.length, 0);
    let image: Buffer;
    try {
      image = inflateRawSync(compressed, { maxOutputLength: m.size });
    } catch (e) {
      this.discard();
      throw new FlashError('FLASH_BAD_IMAGE', `the image does not inflate within ${m.size} bytes: ${(e as Error).message}`);
    }
    const sha = createHash('sha256').update(image).digest('hex');
    if (image.length !== m.size || sha !== m.sha256) {
      this.discard();
      throw new FlashError('FLASH_BAD_IMAGE', `image is ${image.length} bytes with SHA-256 ${sha.slice(0, 16)}…; the manifest says ${m.size} bytes, ${m.sha256.slice(0, 16)}…`);
    }
    verifyManifest(s.signed, this.o.trustedKeys);
    // A signed image can still be malformed (a build tool's bug, a manifest re-signed over a cut file): it
    // is refused as a bad image and its upload discarded before any slot is touched, or every retry would
    // resume the same bytes and fail the same way.
    let files: ImageFile[];
    try {
      files = unpackImage(image);
    } catch (e) {
      if (!(e instanceof ImageError)) throw e;
      this.discard();
      throw new FlashError('FLASH_BAD_IMAGE', `the signed image is malformed (${e.message}); the upload is discarded and no slot was touched`);
    }
    const state = readSlotState(this.o.storage, this.o.slotsDir);
    const slot = other(state.active);
    const slotDir = this.p(slot);
    // A slot is named active only after every file in it is durable; until then it may hold anything.
    if (this.o.storage.exists(path.join(slotDir, 'manifest.json'))) {
      this.o.storage.remove(path.join(slotDir, 'manifest.json'));
      this.o.storage.syncDir(slotDir);
    }
    for (const f of files) {
      const target = path.join(slotDir, f.path);
      this.o.storage.mkdirp(path.dirname(target));
      writeFileDurably(this.o.storage, target, f.bytes);
    }
    writeFileDurably(this.o.storage, path.join(slotDir, 'manifest.json'), readAll(this.o.storage, this.p(INCOMING, 'manifest.json')));
    this.o.storage.syncDir(this.o.slotsDir);
    writeSlotState(this.o.storage, this.o.slotsDir, { active: slot, confirmed: state.confirmed, trying: { slot, boots: 0 } });
    this.discard();
    return { slot, version: m.version };
  }

  private discard(): void {
    this.close();
    const dir = this.p(INCOMING);
    for (const f of ['image.z', 'progress.json', 'manifest.json']) if (this.o.storage.exists(path.join(dir, f))) this.o.storage.remove(path.join(dir, f));
  }

  close(): void {
    this.staging?.file.close();
    this.staging = null;
  }
}

function readAll(storage: Storage, file: string): Buffer {
  const f = storage.open(file, 'r');
  try {
    const buf = Buffer.alloc(f.size());
    f.read(buf, 0, buf.length, 0);
    return buf;
  } finally {
    f.close();
  }
}
