// The China UnionPay POS dialect as this project speaks it (see protocol/ISO8583.md for every field).
// BCD numerics, BCD length prefixes, binary bitmap, no secondary bitmap: the CUP POS spec stops at 64.
import { fieldTable, type Dialect } from './dialect.js';

export const cupDialect: Dialect = {
  name: 'cup-pos',
  mtiEncoding: 'bcd',
  bitmapEncoding: 'binary',
  fields: fieldTable('bcd', [
    [2, 'Primary account number', 'n', 'LLVAR', 19, 'bcd'],
    [3, 'Processing code', 'n', 'fixed', 6, 'bcd'],
    [4, 'Amount, transaction', 'n', 'fixed', 12, 'bcd'],
    [11, 'System trace audit number (STAN)', 'n', 'fixed', 6, 'bcd'],
    [12, 'Time, local transaction (hhmmss)', 'n', 'fixed', 6, 'bcd'],
    [13, 'Date, local transaction (MMDD)', 'n', 'fixed', 4, 'bcd'],
    [14, 'Date, expiration (YYMM)', 'n', 'fixed', 4, 'bcd'],
    // CUP writes the entry mode left-aligned ("051" → 05 10) and the card sequence right-aligned.
    [22, 'Point of service entry mode', 'n', 'fixed', 3, 'bcd', 'right'],
    [23, 'Card sequence number', 'n', 'fixed', 3, 'bcd', 'left'],
    [25, 'Point of service condition code', 'n', 'fixed', 2, 'bcd'],
    [26, 'Point of service PIN capture code', 'n', 'fixed', 2, 'bcd'],
    [35, 'Track 2 data', 'z', 'LLVAR', 37, 'bcd'],
    [37, 'Retrieval reference number (RRN)', 'an', 'fixed', 12, 'ascii'],
    [38, 'Authorization identification response', 'an', 'fixed', 6, 'ascii'],
    [39, 'Response code', 'an', 'fixed', 2, 'ascii'],
    [41, 'Card acceptor terminal identification', 'ans', 'fixed', 8, 'ascii'],
    [42, 'Card acceptor identification code', 'ans', 'fixed', 15, 'ascii'],
    [44, 'Additional response data', 'ans', 'LLVAR', 25, 'ascii'],
    [48, 'Additional data, private (settlement totals)', 'n', 'LLLVAR', 322, 'bcd'],
    [49, 'Currency code, transaction', 'an', 'fixed', 3, 'ascii'],
    [52, 'PIN data (encrypted PIN block)', 'b', 'fixed', 8, 'binary'],
    [53, 'Security related control information', 'n', 'fixed', 16, 'bcd'],
    [54, 'Additional amounts (balance)', 'ans', 'LLLVAR', 20, 'ascii'],
    [55, 'ICC system related data', 'b', 'LLLVAR', 255, 'binary'],
    [60, 'Reserved private (message type, batch, network management code)', 'n', 'LLLVAR', 17, 'bcd'],
    [61, 'Original message data', 'n', 'LLLVAR', 29, 'bcd'],
    [62, 'Reserved private (working keys)', 'b', 'LLLVAR', 512, 'binary'],
    [63, 'Reserved private (card organisation, operator)', 'ans', 'LLLVAR', 163, 'ascii'],
    [64, 'Message authentication code (MAC)', 'b', 'fixed', 8, 'binary'],
  ]),
};
