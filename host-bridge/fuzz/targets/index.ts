// Every fuzz target, by name (issue 14's list).
import type { FuzzTarget } from '../target.js';
import { acquirerHost } from './acquirer-host.js';
import { config } from './config.js';
import { controlLine } from './control-line.js';
import { emvTlv } from './emv-tlv.js';
import { escpos } from './escpos.js';
import { iso8583Ascii } from './iso8583-1987.js';
import { iso8583Cup } from './iso8583-cup.js';
import { iso8583Framing } from './iso8583-framing.js';
import { journalSegment } from './journal-segment.js';
import { pinBlock } from './pin-block.js';
import { readerMessages } from './reader-messages.js';
import { serialFrames } from './serial-frames.js';

export const TARGETS: readonly FuzzTarget[] = [serialFrames, readerMessages, emvTlv, iso8583Cup, iso8583Ascii, iso8583Framing, escpos, journalSegment, controlLine, config, acquirerHost, pinBlock];
