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

/** How the card wants its holder verified, as far as the terminal must act on it: online PIN or not. */
export type CardholderVerification = 'online-pin' | 'no-online-pin';

/**
 * Chip and contactless: CVM Results (9F34) byte 1, bits 6-1 = 02, enciphered PIN verified online (bit 7,
 * "apply the next rule if this fails", does not change the method). Magstripe: the service code's third
 * digit (ISO/IEC 7813) — 0, 3 and 5 require a PIN, 6 and 7 ask for one where there is a PIN pad.
 */
export function cardholderVerification(emv: readonly TlvNode[], track2: string | undefined): CardholderVerification {
  const cvm = emv.find((n) => n.tag === '9F34');
  if (cvm) return cvm.value.length === 3 && (cvm.value[0]! & 0x3f) === 0x02 ? 'online-pin' : 'no-online-pin';
  const service = track2 === undefined ? undefined : /^\d{12,19}[=D]\d{4}(\d{3})/.exec(track2)?.[1];
  return service !== undefined && '03567'.includes(service[2]!) ? 'online-pin' : 'no-online-pin';
}
