// What the driver keeps from a card's EMV data. Tags that carry the PAN or track data are taken out of
// the list handed to the engine (it may journal DE55), so they can only travel inside a Secret.
import { encodeTlv, type TlvNode } from '../../../protocol/emv/tlv.js';

/** 56 track 1, 57 track 2 equivalent, 5A PAN, 99 PIN data, 9F1F track 1 discretionary, 9F20 track 2
 * discretionary, 9F6B track 2 (contactless), 5F20 cardholder name. */
export const SENSITIVE_EMV_TAGS: ReadonlySet<string> = new Set(['56', '57', '5A', '99', '9F1F', '9F20', '9F6B', '5F20']);

export interface SplitEmv {
  /** Everything else, safe for DE55 and the journal. */
  safe: TlvNode[];
  /** Sensitive tags found (values are the caller's to wrap in Secrets and drop). */
  sensitive: Map<string, Buffer>;
}

export function splitSensitive(nodes: readonly TlvNode[]): SplitEmv {
  const safe: TlvNode[] = [];
  const sensitive = new Map<string, Buffer>();
  for (const n of nodes) {
    if (SENSITIVE_EMV_TAGS.has(n.tag)) {
      sensitive.set(n.tag, n.value);
      continue;
    }
    if (n.children) {
      const inner = splitSensitive(n.children);
      for (const [k, v] of inner.sensitive) sensitive.set(k, v);
      safe.push({ tag: n.tag, value: encodeTlv(inner.safe), children: inner.safe });
    } else safe.push(n);
  }
  return { safe, sensitive };
}

/** Card decision from the Cryptogram Information Data (9F27) bits 8-7: 00 AAC, 01 TC, 10 ARQC. */
export type CardDecision = 'AAC' | 'TC' | 'ARQC' | 'RFU';

export function cardDecision(cid: number): CardDecision {
  switch (cid & 0xc0) {
    case 0x00:
      return 'AAC';
    case 0x40:
      return 'TC';
    case 0x80:
      return 'ARQC';
    default:
      return 'RFU';
  }
}
