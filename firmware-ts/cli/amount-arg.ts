// Amounts as people write them: `12`, `12.5`, `12.50` yuan. Anything else is refused with the reason, never
// guessed: a comma may be a decimal or a thousands mark, and a third decimal is not a fen.
import { InvalidArgumentError } from 'commander';
import { MAX_AMOUNT } from '../daemon/control-ops.js';

export function parseYuan(value: string): number {
  const v = value.trim();
  if (v === '') throw new InvalidArgumentError('no amount given: write it in yuan, e.g. 12 or 12.50');
  if (v.includes(',')) throw new InvalidArgumentError(`"${value}": no commas; use a point for fen and no thousands mark, e.g. 1234.50`);
  if (/^[-+]/.test(v)) throw new InvalidArgumentError(`"${value}": an amount has no sign; refunds and voids are their own commands`);
  if (/^\d+\.\d{3,}$/.test(v)) throw new InvalidArgumentError(`"${value}": at most two decimals (fen), e.g. 12.50`);
  const m = /^(\d+)(?:\.(\d{1,2}))?$/.exec(v);
  if (!m) throw new InvalidArgumentError(`"${value}" is not an amount in yuan: digits with at most two decimals, e.g. 12, 12.5, 12.50`);
  const fen = Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0'));
  if (m[1]!.length > 7 || fen > MAX_AMOUNT) throw new InvalidArgumentError(`"${value}": over the limit of 9999999.99 yuan for one transaction`);
  if (fen === 0) throw new InvalidArgumentError(`"${value}": the amount must be more than zero`);
  return fen;
}
