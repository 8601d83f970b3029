// Column widths as a Chinese thermal printer lays them out: in Chinese mode every multi-byte GB18030
// character prints from the 24×24 font, two columns of the 12×24 ASCII font. So a character's width follows
// from its encoding, not from Unicode's East Asian Width tables — both the receipt layout and the simulator
// use this one rule, so what the layout pads is what the paper shows.

/** 58 mm paper: 384 dots across, 12 dots per ASCII column. */
export const COLUMNS_58MM = 32;
export const DOTS_58MM = 384;
export const DOTS_PER_COLUMN = DOTS_58MM / COLUMNS_58MM;

export function charColumns(ch: string): number {
  return ch.codePointAt(0)! < 0x80 ? 1 : 2;
}

export function textColumns(text: string): number {
  let n = 0;
  for (const ch of text) n += charColumns(ch);
  return n;
}
