// A printed receipt as an SVG a person can read: 384 dots of 58 mm paper, 12×24-dot cells for ASCII and
// 24×24 for CJK, bold and magnification honoured. Each word is placed at its paper column with textLength
// fixed to its paper width, so any monospace font lines up the way the thermal head does.
import { charColumns, COLUMNS_58MM, DOTS_PER_COLUMN } from '../../protocol/escpos/text-width.js';
import { runColumns, type PrintedReceipt, type PrintedRun } from '../../protocol/escpos/page.js';
import { lineIndent } from '../../protocol/escpos/page-text.js';

const MARGIN = 16;
/** Default ESC/POS line spacing is about 1/6 inch: 24-dot glyphs plus a few dots of air. */
const LINE_DOTS = 30;
const FONT_SIZE = 22;
const FONT = "'Noto Sans Mono CJK SC','WenQuanYi Zen Hei Mono','Source Han Mono SC','DejaVu Sans Mono',monospace";

const escapeXml = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/**
 * Splits text into pieces of equal character width, dropping spaces (their columns still count), so each
 * piece gets an exact position and textLength and no renderer can collapse or stretch the gaps.
 */
function segments(text: string): { text: string; column: number; columns: number }[] {
  const out: { text: string; column: number; columns: number; wide: boolean }[] = [];
  let col = 0;
  let prevSpace = true;
  for (const ch of text) {
    const w = charColumns(ch);
    const last = out[out.length - 1];
    if (ch === ' ') prevSpace = true;
    else if (last && !prevSpace && last.wide === (w === 2)) {
      last.text += ch;
      last.columns += w;
    } else {
      out.push({ text: ch, column: col, columns: w, wide: w === 2 });
      prevSpace = false;
    }
    col += w;
  }
  return out;
}

function runSvg(run: PrintedRun, x: number, baseline: number): string {
  let svg = '';
  for (const seg of segments(run.text)) {
    const px = x + seg.column * DOTS_PER_COLUMN * run.width;
    svg +=
      `<text transform="translate(${px} ${baseline}) scale(${run.width} ${run.height})" ` +
      `textLength="${seg.columns * DOTS_PER_COLUMN}" lengthAdjust="spacingAndGlyphs"` +
      `${run.bold ? ' font-weight="bold"' : ''}>${escapeXml(seg.text)}</text>`;
  }
  return svg;
}

export function receiptSvg(receipt: PrintedReceipt, columns = COLUMNS_58MM): string {
  const paper = columns * DOTS_PER_COLUMN;
  let y = MARGIN;
  const body: string[] = [];
  for (const line of receipt.lines) {
    const height = Math.max(1, ...line.runs.map((r) => r.height));
    const lineDots = LINE_DOTS * height;
    // Glyphs sit on a baseline a little above the bottom of their 24-dot cell.
    const baseline = y + (LINE_DOTS - 8) * height;
    let x = MARGIN + lineIndent(line, columns) * DOTS_PER_COLUMN;
    for (const run of line.runs) {
      body.push(runSvg(run, x, baseline));
      x += runColumns(run) * DOTS_PER_COLUMN;
    }
    y += lineDots;
  }
  const width = paper + 2 * MARGIN;
  const height = y + MARGIN;
  const cut = receipt.partialCut ? 'partial cut' : 'full cut';
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<title>receipt (${cut})</title>`,
    `<rect width="${width}" height="${height}" fill="#fffef8"/>`,
    `<g font-family="${escapeXml(FONT)}" font-size="${FONT_SIZE}" fill="#111">`,
    ...body,
    '</g>',
    `<line x1="0" y1="${height - 1}" x2="${width}" y2="${height - 1}" stroke="#999" stroke-dasharray="6 4"/>`,
    '</svg>',
    '',
  ].join('\n');
}
