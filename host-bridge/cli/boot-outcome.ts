// What `posj-bridge flash` and `posj-bridge reboot` say after a reboot: one hello per try over a fresh link
// session, the end of the wait (boot-wait.ts) as a FlashFailed, and the words printed under a failure.
import { systemClock } from '../../protocol/io/clock.js';
import type { ReconnectingPort } from '../../firmware-ts/devices/reconnecting-port.js';
import { serviceRtoMs, SERVICE_WINDOW } from '../../firmware-ts/service/service-port.js';
import type { BootOutcome, Hello } from '../service/boot-wait.js';
import { FlashFailed } from '../service/flash-client.js';
import { ServiceClient } from '../service/service-client.js';

/**
 * Default bound on the wait after a reboot, in seconds: past the launcher's own deadline for a slot under
 * test (`posj boot --confirm-within`, 90 s), with room for the boot of the slot it goes back to.
 */
export const WAIT_FOR_S = 180;

/** What the terminal does after each failure, in the words the bench prints under the error. */
export function afterWords(code: FlashFailed['code'], port: string): string {
  if (code === 'FLASH_ROLLED_BACK') return 'the terminal went back to its confirmed firmware and runs it again.';
  if (code === 'FLASH_NOT_CONFIRMED') return `the terminal may still be trying the new slot: ask it with posj-bridge hello --port ${port} (firmware.trying, firmware.rolledBack).`;
  if (code === 'FLASH_SLOT_UNDER_TEST') return `the terminal keeps running its current firmware; reboot it first: posj-bridge reboot --port ${port}`;
  return 'the terminal keeps running its current firmware.';
}

/** One hello over a fresh link session on `port`; rejects when nothing answers within `ms`. */
export async function helloOnce(port: ReconnectingPort, baud: number, ms: number): Promise<Hello & Record<string, unknown>> {
  const client = new ServiceClient(port, systemClock, { window: SERVICE_WINDOW, rtoMs: serviceRtoMs(baud), maxRetries: 3 });
  try {
    const { ok: _ok, ...hello } = (await client.request({ op: 'hello' }, Buffer.alloc(0), ms)).head;
    return hello as Hello & Record<string, unknown>;
  } finally {
    client.close();
  }
}

/** The end of a wait after a reboot as a FlashFailed, or null when the slot confirmed itself (or the terminal came back). */
export function bootFailure(b: BootOutcome, version: string | null): FlashFailed | null {
  if (b.kind === 'rolled-back') {
    const why = b.reason === 'confirm-deadline' ? "did not confirm itself within the launcher's deadline (hung at startup?)" : b.reason === 'max-boots' ? `failed ${b.boots} boots without confirming itself` : `was given up (${b.reason})`;
    return new FlashFailed('FLASH_ROLLED_BACK', `the terminal rolled back from slot ${b.from} to slot ${b.to}: the build in slot ${b.from} ${why}; it runs ${b.hello.firmware.version ?? '?'} from slot ${b.to} again`);
  }
  if (b.kind === 'not-confirmed') return new FlashFailed('FLASH_NOT_CONFIRMED', `no confirmation${version ? ` of ${version}` : ''} within the wait (${b.detail}); the terminal may still confirm it or roll back`);
  return null;
}
