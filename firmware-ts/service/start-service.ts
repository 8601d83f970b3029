// Starts what the config's `servicePort` and `firmware` keys ask for: the flash receiver over the slots,
// the service server and its serial line, and the confirmation of a slot under test after a healthy boot.
import * as fs from 'node:fs';
import type { ByteLink } from '../../protocol/io/byte-link.js';
import type { Clock } from '../../protocol/io/clock.js';
import type { DaemonParts } from '../daemon/control-ops.js';
import { ReconnectingPort } from '../devices/reconnecting-port.js';
import { nodeStorage } from '../io/node-storage.js';
import { confirmSlot } from '../firmware/boot-control.js';
import { FlashReceiver } from '../firmware/flash-receiver.js';
import { readPublicKeys } from '../firmware/key-file.js';
import type { SlotName } from '../firmware/slot-state.js';
import { JournalService } from './journal-service.js';
import { serveServicePort } from './service-port.js';
import { ServiceServer } from './service-server.js';

function openPort(sp: { path: string; baud: number }, clock: Clock, log: DaemonParts['log']): ByteLink {
  const port = new ReconnectingPort({ path: sp.path, baudRate: sp.baud, clock, log: { info: (m) => log.event('service-port', { detail: m }), warn: (m) => log.event('service-port-warning', { detail: m }) } });
  port.start();
  return port;
}

/** Free bytes on the file system of `dir`, capped by the configured quota. */
function freeBytes(dir: string, quota: number | undefined): number {
  const s = fs.statfsSync(dir);
  return Math.min(Number(s.bavail) * Number(s.bsize), quota ?? Infinity);
}

/**
 * Health check passed (journal open, engine booted, owed reversals replayed): the slot the launcher
 * started under test becomes the confirmed one.
 */
export function confirmHealthySlot(parts: DaemonParts, slot: string | null): void {
  const fw = parts.config.firmware;
  if (!fw || (slot !== 'a' && slot !== 'b')) return;
  if (parts.journal.failed !== null) return;
  if (confirmSlot(nodeStorage, fw.slotsDir, slot as SlotName)) parts.log.event('slot-confirmed', { slot });
}

export function startServicePort(o: { parts: DaemonParts; clock: Clock; slot: string | null; requestReboot: () => void; link?: ByteLink }): { close(): Promise<void> } | null {
  const { config, log } = o.parts;
  if (!config.servicePort) return null;
  const fw = config.firmware;
  if (fw) nodeStorage.mkdirp(fw.slotsDir);
  const flash = fw ? new FlashReceiver({ storage: nodeStorage, slotsDir: fw.slotsDir, trustedKeys: readPublicKeys(fw.trustedKeysFile), freeBytes: () => freeBytes(fw.slotsDir, fw.quotaBytes), target: `${process.platform}-${process.arch}` }) : null;
  const journal = new JournalService({ storage: nodeStorage, journalDir: config.journalDir, deviceKeyFile: config.deviceKeyFile, merchant: { terminalId: config.terminalId, merchantId: config.merchantId, merchantName: config.merchantName } });
  const server = new ServiceServer({ parts: o.parts, pairedKeys: readPublicKeys(config.servicePort.pairedKeysFile), flash, journal, slot: o.slot, requestReboot: o.requestReboot });
  const port = o.link ?? openPort(config.servicePort, o.clock, o.parts.log);
  const served = serveServicePort({ link: port, baud: config.servicePort.baud, clock: o.clock, server, log });
  log.event('service-port-open', { path: config.servicePort.path, baud: config.servicePort.baud, flash: fw ? fw.slotsDir : 'not configured' });
  return {
    async close() {
      served.close();
      flash?.close();
      await port.close();
    },
  };
}
