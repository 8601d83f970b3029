// The ESC/POS subset as data: what the encoder emits and the strict decoder returns, one op per command.
import type { Alignment, StatusKind } from './commands.js';

export type EscPosOp =
  | { op: 'init' }
  | { op: 'align'; align: Alignment }
  | { op: 'bold'; on: boolean }
  /** GS ! — character magnification, 1..8 in each direction. */
  | { op: 'size'; width: number; height: number }
  | { op: 'chinese-mode'; on: boolean }
  /** Printable bytes: ASCII, or GB18030 while Chinese mode is on. */
  | { op: 'text'; bytes: Buffer }
  | { op: 'line-feed' }
  /** ESC d n — print the buffer and feed n lines. */
  | { op: 'feed'; lines: number }
  /** GS V — cut; `feedDots` set for the feed-then-cut forms (m = 65/66). */
  | { op: 'cut'; partial: boolean; feedDots?: number }
  | { op: 'status-request'; kind: StatusKind };
