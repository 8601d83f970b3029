// `posj journal repair`: after corruption, move the damaged part of the journal aside — never delete it —
// so the terminal can open again. Everything from the first bad byte on is moved, because records after
// a hole cannot be trusted to fold into a true state; the operator keeps them for the acquirer's audit.
import * as path from 'node:path';
import { SEGMENT_HEADER_BYTES } from '../../protocol/journal/format.js';
import type { Storage } from '../io/storage.js';
import { nodeStorage } from '../io/node-storage.js';
import { JournalError } from './errors.js';
import { readWhole, writeZeros } from './segment-io.js';
import { listSegments, verifyJournal, type VerifyReport } from './verify.js';

export interface RepairPlan {
  segment: string;
  offset: number;
  reason: string;
  bytesMoved: number;
  segmentsMoved: string[];
  movedTo: string;
}

export interface RepairResult {
  verify: VerifyReport;
  plan: RepairPlan | null;
  applied: boolean;
}

export function repairJournal(dir: string, opts: { storage?: Storage; deviceKey?: Buffer | null; confirm: boolean }): RepairResult {
  const storage = opts.storage ?? nodeStorage;
  const lock = storage.lock(dir);
  try {
    const verify = verifyJournal(dir, { storage, deviceKey: opts.deviceKey ?? null });
    const bad = verify.corrupt ?? (verify.tampered ? { segment: verify.tampered.segment, offset: verify.tampered.offset, reason: verify.tampered.reason } : null);
    if (!bad) return { verify, plan: null, applied: false };

    const segments = listSegments(storage, dir);
    // A wrong device key makes the first header look tampered; "repairing" would move the whole journal
    // aside and reboot the terminal with no STAN and no owed reversals. Refuse instead.
    if (verify.tampered && verify.tampered.offset === 40 && verify.tampered.segment === segments[0]?.name) {
      throw new JournalError('REPAIR_REFUSED', `the first segment's header MAC does not match: wrong device key, or the header was altered; not repairing ${dir}`);
    }
    const at = segments.findIndex((s) => s.name === bad.segment);
    const wholeSegment = bad.offset < SEGMENT_HEADER_BYTES;
    const later = segments.slice(wholeSegment ? at : at + 1).map((s) => s.name);
    const image = readWhole(storage, path.join(dir, bad.segment));
    const movedTo = path.join(dir, `damaged-${bad.segment.replace(/\.wal$/, '')}-at-${bad.offset}`);
    const plan: RepairPlan = {
      segment: bad.segment,
      offset: bad.offset,
      reason: bad.reason,
      bytesMoved: wholeSegment ? 0 : image.length - bad.offset,
      segmentsMoved: later,
      movedTo,
    };
    if (!opts.confirm) return { verify, plan, applied: false };
    if (storage.exists(movedTo)) throw new JournalError('REPAIR_EXISTS', `${movedTo} already exists; move it away first`);

    storage.mkdirp(movedTo);
    if (!wholeSegment) {
      const part = storage.open(path.join(movedTo, `${bad.segment}.from-${bad.offset}.bin`), 'create');
      try {
        part.write(image.subarray(bad.offset), 0);
        part.sync();
      } finally {
        part.close();
      }
    }
    for (const name of later) storage.rename(path.join(dir, name), path.join(movedTo, name));
    storage.syncDir(movedTo);
    storage.syncDir(dir);
    if (!wholeSegment) {
      const f = storage.open(path.join(dir, bad.segment), 'rw');
      try {
        writeZeros(f, bad.offset, image.length - bad.offset);
        f.datasync();
      } finally {
        f.close();
      }
    }
    return { verify, plan, applied: true };
  } finally {
    lock.release();
  }
}
