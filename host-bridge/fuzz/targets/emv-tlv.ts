// EMV BER-TLV: any input parses to a tree whose minimal encoding parses back to the same tree (the parser
// also takes long-form lengths, so the bytes themselves need not come back), or fails with TlvError.
// Structure-aware: a parsed tree with a node changed, added or dropped, re-encoded with every length right.
import { encodeTlv, parseTlv, TlvError, type TlvNode } from '../../../protocol/emv/tlv.js';
import { FuzzFinding, refusedWith, type FuzzTarget } from '../target.js';
import type { Rng } from '../mutate.js';

const TAGS = ['9F27', '9F36', '9F26', '82', '95', '9A', '9C', '5F2A', '9F02', '9F10', '77', '70', '6F', 'A5', 'BF0C', '9F1F', '5A', '57', 'DF8101', '1F81', 'E1'];
const SEED_HEX = ['9f2701809f360200019f2608a1b2c3d4e5f60718', '770e9f2701809f360200019f100307a0', '6f1a840e315041592e5359532e4444463031a508880102bf0c025f2d', '910a0102030405060708303072039f1800'];

function mutateTree(nodes: TlvNode[], rng: Rng, depth = 0): TlvNode[] {
  const out = nodes.map((n) => ({ ...n }));
  const op = rng.int(5);
  if (op === 0 && out.length) out.splice(rng.int(out.length), 1);
  else if (op === 1) {
    const tag = rng.pick(TAGS);
    const constructed = (parseInt(tag.slice(0, 2), 16) & 0x20) !== 0;
    out.splice(rng.int(out.length + 1), 0, constructed ? { tag, value: Buffer.alloc(0), children: out.slice(0, rng.int(3)) } : { tag, value: rng.bytes(rng.int(rng.chance(0.05) ? 300 : 12)) });
  } else if (op === 2 && out.length) {
    const i = rng.int(out.length);
    out[i] = out[i]!.children && depth < 10 ? { ...out[i]!, children: mutateTree(out[i]!.children!, rng, depth + 1) } : { ...out[i]!, value: rng.bytes(rng.int(20)) };
  } else if (op === 3 && out.length) {
    // Nest: wrap a run of nodes in a constructed tag (reaches the depth limit).
    out.splice(0, 1, { tag: rng.pick(['70', '77', 'A5', 'E1']), value: Buffer.alloc(0), children: out.slice(0, 1) });
  } else if (out.length) out.push(out[rng.int(out.length)]!);
  return out;
}

const shape = (nodes: TlvNode[]): unknown => nodes.map((n) => (n.children ? [n.tag, shape(n.children)] : [n.tag, n.value.toString('hex')]));

export const emvTlv: FuzzTarget = {
  name: 'emv-tlv',
  covers: ['/protocol/emv/'],
  maxLen: 2048,
  dictionary: [[0x9f], [0x1f], [0x81], [0x82], [0x83], [0x84], [0x80], [0x20], [0x70], [0x00], [0xff]].map((b) => Buffer.from(b)),
  seeds: () => SEED_HEX.map((h) => Buffer.from(h, 'hex')),
  structured(input, rng) {
    try {
      return encodeTlv(mutateTree(parseTlv(input), rng));
    } catch (e) {
      if (e instanceof TlvError || e instanceof RangeError) return undefined;
      throw e;
    }
  },
  run(input) {
    refusedWith([TlvError], () => {
      const nodes = parseTlv(input);
      const again = parseTlv(encodeTlv(nodes));
      if (JSON.stringify(shape(again)) !== JSON.stringify(shape(nodes))) throw new FuzzFinding('parse → encode → parse changed the tree');
    });
  },
};
