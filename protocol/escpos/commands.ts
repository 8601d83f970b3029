// Byte values of the ESC/POS subset this project speaks (see protocol/ESCPOS.md). One table, so the encoder,
// the strict decoder and the simulator can never disagree on a byte.

export const LF = 0x0a;
export const DLE = 0x10;
export const EOT = 0x04;
export const ESC = 0x1b;
export const FS = 0x1c;
export const GS = 0x1d;

/** ESC @ — initialize: clears styles and the print buffer. */
export const INIT = Buffer.from([ESC, 0x40]);
/** FS & — select Chinese character mode: text bytes are GB18030 from here on. */
export const CHINESE_MODE_ON = Buffer.from([FS, 0x26]);
/** FS . — cancel Chinese character mode: text bytes are single-byte ASCII again. */
export const CHINESE_MODE_OFF = Buffer.from([FS, 0x2e]);

export type Alignment = 'left' | 'center' | 'right';
export const ALIGNMENT_CODES: Record<Alignment, number> = { left: 0, center: 1, right: 2 };

/** Largest magnification GS ! encodes (1..8 in each direction). */
export const MAX_MAGNIFICATION = 8;
/** ESC d n feeds at most 255 lines. */
export const MAX_FEED_LINES = 255;

/** GS V m: 0/48 full cut, 1/49 partial cut; 65/66 feed n dots then full/partial cut. */
export const CUT_MODES_PLAIN = new Set([0, 1, 48, 49]);
export const CUT_MODES_WITH_FEED = new Set([65, 66]);

/** DLE EOT n: real-time status transmission for n = 1..4. */
export type StatusKind = 1 | 2 | 3 | 4;
export const STATUS_KINDS: readonly StatusKind[] = [1, 2, 3, 4];
