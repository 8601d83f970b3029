// SQLite as an Android POS app would use it: better-sqlite3, WAL, synchronous=FULL, one row per sale.
// The intent INSERT and the outcome UPDATE are each their own transaction, so each is durable (an fsync of
// the WAL) before the call returns. The printed UPDATE is lazy like the journal's printed record: it runs
// under synchronous=NORMAL (no fsync at commit) and reaches the disk with the next durable commit or a
// WAL checkpoint. Automatic checkpoints stay at SQLite's default and are part of the measured cost.
import * as path from 'node:path';
import Database from 'better-sqlite3';
import type { BenchSubject } from './subject.js';
import { salePayloads } from './payloads.js';

function prepare(dir: string) {
  const db = new Database(path.join(dir, 'sales.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE sales (stan INTEGER PRIMARY KEY, intent TEXT NOT NULL, outcome TEXT, printed TEXT)');
  return {
    db,
    insertIntent: db.prepare('INSERT INTO sales (stan, intent) VALUES (?, ?)'),
    setOutcome: db.prepare('UPDATE sales SET outcome = ? WHERE stan = ?'),
    setPrinted: db.prepare('UPDATE sales SET printed = ? WHERE stan = ?'),
    lazy: db.prepare('PRAGMA synchronous = NORMAL'),
    durable: db.prepare('PRAGMA synchronous = FULL'),
  };
}

export function sqliteSubject(): BenchSubject {
  let s: ReturnType<typeof prepare> | null = null;
  const live = () => {
    if (!s) throw new Error('sqlite subject: sale() before open()');
    return s;
  };

  return {
    name: 'sqlite',
    detail:
      'better-sqlite3, WAL, synchronous=FULL; per sale INSERT intent (own txn, durable), UPDATE outcome (own txn, durable), UPDATE printed under synchronous=NORMAL (lazy)',
    async open(dir: string) {
      s = prepare(dir);
    },
    async sale(i: number) {
      const q = live();
      const p = salePayloads(i);
      q.insertIntent.run(i, JSON.stringify(p.intent));
      q.setOutcome.run(JSON.stringify(p.outcome), i);
      q.lazy.run();
      q.setPrinted.run(JSON.stringify(p.printed), i);
      q.durable.run();
    },
    async close() {
      s?.db.close();
      s = null;
    },
  };
}
