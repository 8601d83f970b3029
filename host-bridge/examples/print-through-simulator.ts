// Prints receipt bytes into the printer simulator's device without any serial line: the same decoder, page
// layout and txt/SVG renderers the simulator uses on a pty, so an example image shows what the real code
// puts on paper.
import { PrinterDevice, type SimReceipt } from '../sim/printer-device.js';

export function printThroughSimulator(job: Buffer): SimReceipt[] {
  const receipts: SimReceipt[] = [];
  const device = new PrinterDevice({
    onReceipt: (r) => receipts.push(r),
    log: (line) => {
      throw new Error(`simulator rejected the job: ${line}`);
    },
  });
  device.receive(job);
  return receipts;
}
