// Realistic sale payloads of about 200 bytes each, the same for every subject. They hold masked PANs only,
// and no digit run of 13 or more (ISO-8601 times, short ids), so a PCI scanner never flags bench output.

export interface SalePayloads {
  intent: Record<string, unknown>;
  outcome: Record<string, unknown>;
  printed: Record<string, unknown>;
}

const BIN = ['622202', '621700', '625807', '436742', '524094'];
const ITEMS = ['咖啡 x2', '面包', '矿泉水 x6', '午餐套餐', '打印纸'];
const BASE_MS = Date.UTC(2025, 2, 14, 8, 0, 0);

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** Deterministic for `i`: a bench run is reproducible and a crash test can regenerate what it wrote. */
export function salePayloads(i: number): SalePayloads {
  const h = Math.imul(i + 1, 2654435761) >>> 0;
  const stan = pad((i % 999999) + 1, 6);
  const at = (extraMs: number) => new Date(BASE_MS + i * 41_000 + extraMs).toISOString();
  const amount = 100 + (h % 99_900);
  const pan = `${BIN[h % BIN.length]}******${pad(h % 10_000, 4)}`;
  const rrn = `${pad(h % 1_000_000, 6)}${stan}`;
  return {
    intent: {
      t: 'sale.intent',
      stan,
      batch: '000042',
      invoice: pad((i % 999999) + 1, 6),
      amount,
      currency: 'CNY',
      maskedPan: pan,
      entry: h % 3 === 0 ? 'contactless' : 'chip',
      tid: '10293847',
      mid: '898-310-0481',
      at: at(0),
    },
    outcome: {
      t: 'sale.outcome',
      stan,
      result: 'approved',
      rc: '00',
      auth: pad(h % 1_000_000, 6),
      rrn,
      amount,
      host_ms: 180 + (h % 900),
      emv: { tvr: '0000008000', tsi: 'E800', arc: '3030' },
      at: at(1_200),
    },
    printed: {
      t: 'sale.printed',
      stan,
      copy: 'merchant+cardholder',
      lines: 14,
      item: ITEMS[h % ITEMS.length],
      printer: 'thermal-58mm',
      paper: 'ok',
      amount,
      at: at(2_900),
    },
  };
}

/** The bytes a subject stores for one payload. */
export const payloadBytes = (payload: Record<string, unknown>): Buffer => Buffer.from(JSON.stringify(payload));
