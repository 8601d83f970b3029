// The bench's side of a paged journal export: the parts are joined and checked against the terminal's
// SHA-256; an answer that announces more parts than the bound could fill is refused before the bench asks
// for a second part (it would otherwise wait and hold memory for whatever a wrong terminal claims); an
// export the terminal dropped is asked for again from part 0.
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { fetchExport, MAX_EXPORT_PARTS } from '../../host-bridge/service/remote-export.js';
import { ServiceError, type ServiceAnswer } from '../../host-bridge/service/service-client.js';

/** A terminal that serves `body` in `size`-byte parts; `head` overrides what part 0 says. */
function terminal(body: Buffer, size: number, head: Record<string, unknown> = {}) {
  const asked: number[] = [];
  const parts = Math.ceil(body.length / size);
  const sha256 = createHash('sha256').update(body).digest('hex');
  return {
    asked,
    expireOnce: false,
    async request(h: Record<string, unknown>): Promise<ServiceAnswer> {
      const part = Number(h.part);
      asked.push(part);
      if (part > 0 && this.expireOnce) {
        this.expireOnce = false;
        throw new ServiceError('EXPORT_EXPIRED', 'that export is no longer held here');
      }
      return { head: { parts, sha256, exportId: 'x1', transactions: 3, ...(part === 0 ? head : {}) }, body: body.subarray(part * size, (part + 1) * size) };
    },
  };
}

const text = Buffer.from('{"stan":1}\n'.repeat(2_000));
const deflated = deflateRawSync(text);

describe('fetching a paged journal export', () => {
  it('joins the parts, checks the SHA-256 and inflates', async () => {
    const t = terminal(deflated, 8);
    const seen: string[] = [];
    const x = await fetchExport(t, { format: 'jsonl' }, (part, parts) => seen.push(`${part}/${parts}`));
    expect(x.text.equals(text)).toBe(true);
    expect(x.parts).toBe(Math.ceil(deflated.length / 8));
    expect(seen.at(-1)).toBe(`${x.parts}/${x.parts}`);
    expect(t.asked).toEqual([...Array(x.parts).keys()]);
  });

  it('an announced part count beyond the bound is refused after part 0, nothing more is asked', async () => {
    for (const parts of [MAX_EXPORT_PARTS + 1, 1e9, 0, 2.5, 'many']) {
      const t = terminal(deflated, 8, { parts });
      await expect(fetchExport(t, {})).rejects.toMatchObject({ code: 'BAD_ANSWER', message: expect.stringContaining(`parts=${String(parts)}`) });
      expect(t.asked).toEqual([0]);
    }
  });

  it('parts that do not join to the announced SHA-256 are refused, naming both', async () => {
    const t = terminal(deflated, 8, { sha256: 'ab'.repeat(32) });
    await expect(fetchExport(t, {})).rejects.toThrow(/parts join to SHA-256 [0-9a-f]{16}…, the terminal said abababababababab…/);
  });

  it('an export the terminal no longer holds is asked for again from part 0', async () => {
    const t = terminal(deflated, 8);
    t.expireOnce = true;
    const x = await fetchExport(t, {});
    expect(x.text.equals(text)).toBe(true);
    expect(t.asked.slice(0, 3)).toEqual([0, 1, 0]);
  });
});
