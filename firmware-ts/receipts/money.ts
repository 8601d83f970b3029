// Integer minor units (fen) to the printed amount with exactly two decimals; no floating point anywhere.

export function formatMinor(minor: number): string {
  const neg = minor < 0;
  const abs = Math.abs(minor);
  const yuan = Math.floor(abs / 100);
  const fen = abs % 100;
  return `${neg ? '-' : ''}${yuan}.${String(fen).padStart(2, '0')}`;
}
