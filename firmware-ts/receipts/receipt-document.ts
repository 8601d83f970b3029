// The printed layout of a receipt before it becomes bytes: a list of lines, each either free text or a
// label/value pair. Kept as data so each slip kind is a small pure function and layout lives in one place.
import type { Alignment } from '../../protocol/escpos/commands.js';

export interface TextStyle {
  bold?: boolean;
  /** Double width and height (titles): half as many columns fit. */
  large?: boolean;
  /** Double height only (card number, amount): stands out without losing columns. */
  tall?: boolean;
}

export type DocumentLine =
  | ({ kind: 'text'; text: string; align?: Alignment } & TextStyle)
  /** Label on the left, value on the right; the value moves to its own line when both do not fit. */
  | ({ kind: 'pair'; label: string; value: string } & TextStyle)
  /** Cells laid out at fixed column stops (settlement table). */
  | ({ kind: 'columns'; cells: string[]; stops: number[] } & TextStyle)
  | { kind: 'rule' }
  | { kind: 'blank'; lines?: number };

export type ReceiptDocument = DocumentLine[];

export const pair = (label: string, value: string, style: TextStyle = {}): DocumentLine => ({ kind: 'pair', label, value, ...style });
export const text = (t: string, style: TextStyle & { align?: Alignment } = {}): DocumentLine => ({ kind: 'text', text: t, ...style });
export const rule: DocumentLine = { kind: 'rule' };
export const blank = (lines = 1): DocumentLine => ({ kind: 'blank', lines });
