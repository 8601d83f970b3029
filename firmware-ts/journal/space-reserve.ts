// The journal's reserve: a preallocated file in the journal directory, released only when the filesystem
// is too full for the next segment, so that outcomes, reversal attempts and reversal-cleared records can
// still be written on a full disk — an owed reversal stays sendable. Writes into an existing segment
// never need new blocks (segments are zero-filled when created); only a new segment does, and that is
// what the reserve pays for. Taken back once retention (or an operator) has freed space again.
import * as path from 'node:path';
import type { Storage } from '../io/storage.js';
import { writeZeros } from './segment-io.js';

export const RESERVE_NAME = 'reserve.bin';

/** Room kept beyond the reserve before it is (re)made: a LOCK file, directory blocks, a spare's tail. */
const SLACK_BYTES = 256 * 1024;

export type ReserveState = 'held' | 'released' | 'none';

export class SpaceReserve {
  private stateValue: ReserveState = 'none';
  private readonly file: string;

  constructor(
    private readonly storage: Storage,
    private readonly dir: string,
    readonly bytes: number,
  ) {
    this.file = path.join(dir, RESERVE_NAME);
    if (storage.exists(this.file)) this.stateValue = 'held';
  }

  get state(): ReserveState {
    return this.stateValue;
  }

  /** Free bytes of the filesystem holding the journal, or null when the storage cannot tell. */
  freeBytes(): number | null {
    return this.storage.freeBytes ? this.storage.freeBytes(this.dir) : null;
  }

  /** Makes the reserve if it is missing and the filesystem has room for it and some slack. */
  ensure(): void {
    if (this.bytes <= 0 || this.storage.exists(this.file)) {
      if (this.bytes > 0) this.stateValue = 'held';
      return;
    }
    const free = this.freeBytes();
    if (free === null || free < this.bytes + SLACK_BYTES) {
      this.stateValue = this.stateValue === 'released' ? 'released' : 'none';
      return;
    }
    const f = this.storage.open(this.file, 'create');
    try {
      writeZeros(f, 0, this.bytes);
      f.sync();
    } catch (e) {
      f.close();
      this.storage.remove(this.file);
      throw e;
    }
    f.close();
    this.storage.syncDir(this.dir);
    this.stateValue = 'held';
  }

  /** Releases the reserve when fewer than `needed` bytes are free; true when it did. */
  releaseIfShort(needed: number): boolean {
    if (this.stateValue !== 'held') return false;
    const free = this.freeBytes();
    if (free !== null && free >= needed + SLACK_BYTES) return false;
    return this.release();
  }

  /** Gives the reserve's blocks back to the filesystem (the disk is full). */
  release(): boolean {
    if (!this.storage.exists(this.file)) return false;
    this.storage.remove(this.file);
    this.storage.syncDir(this.dir);
    this.stateValue = 'released';
    return true;
  }

  /** Whether the spare segment may be made in the background without eating into the reserve's room. */
  roomFor(bytes: number): boolean {
    const free = this.freeBytes();
    return free === null || free >= bytes + (this.stateValue === 'held' ? 0 : this.bytes) + SLACK_BYTES;
  }
}
