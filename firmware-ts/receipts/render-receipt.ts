// The one entry point the engine calls: a receipt model and a language in, the ESC/POS job out. Validation
// runs first, so a bad model (a full PAN above all) never produces a byte.
import { layoutDocument } from './print-layout.js';
import type { ReceiptDocument } from './receipt-document.js';
import type { Receipt, ReceiptLanguage } from './receipt-model.js';
import { reversalPendingDocument } from './reversal-pending-slip.js';
import { salesSlipDocument } from './sales-slip.js';
import { settlementDocument } from './settlement-report.js';
import { validateReceipt } from './validate-receipt.js';

export function receiptDocument(receipt: Receipt, language: ReceiptLanguage): ReceiptDocument {
  validateReceipt(receipt);
  switch (receipt.kind) {
    case 'sales-slip':
      return salesSlipDocument(receipt, language);
    case 'reversal-pending':
      return reversalPendingDocument(receipt, language);
    case 'settlement':
      return settlementDocument(receipt, language);
  }
}

/** ESC/POS bytes for one receipt on 58 mm paper, ending in a partial cut. */
export function renderReceipt(receipt: Receipt, language: ReceiptLanguage): Buffer {
  return layoutDocument(receiptDocument(receipt, language));
}
