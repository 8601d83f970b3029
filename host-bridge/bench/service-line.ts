// The bench's end of a terminal's service port (SERVICE_PORT.md), shared by every bench that has one: the
// lab terminal of a bench file, and the simulated terminal when it runs from firmware slots. One serial
// port, one authenticated client kept for control requests and journal pulls, `hello` for what the
// terminal runs, and flashing with fresh sessions on the same port (flash-client.ts).
import type { KeyObject } from 'node:crypto';
import { systemClock } from '../../protocol/io/clock.js';
import { ReconnectingPort } from '../../firmware-ts/devices/reconnecting-port.js';
import { serviceRtoMs, SERVICE_WINDOW } from '../../firmware-ts/service/service-port.js';
import { flash, FlashFailed, type FlashProgress, type FlashReport } from '../service/flash-client.js';
import { ServiceClient } from '../service/service-client.js';
import { untilOpen } from '../service/serial-port-path.js';

const quiet = { info: () => undefined, warn: () => undefined };

/** The firmware part of the terminal's hello. */
export interface FirmwareHello {
  version: string | null;
  buildId: string | null;
  activeSlot: string | null;
  runningSlot: string | null;
  confirmedSlot: string | null;
}

export interface FlashOver {
  manifestBytes: Buffer;
  image: Buffer;
  allowDowngrade: boolean;
  /** Called with each offset the terminal answers; returning true cuts the flash off (the power went). */
  onProgress?: (p: FlashProgress) => boolean;
}

export class BenchServiceLine {
  terminalId = '';
  private port: ReconnectingPort | null = null;
  private client: ServiceClient | null = null;

  constructor(
    readonly path: string,
    private readonly baud: number,
    private readonly key: KeyObject,
  ) {}

  /** The port, open (bounded wait: frames written into a port not yet open are lost and cost a retransmit). */
  private async open(ms: number): Promise<ReconnectingPort> {
    if (!this.port) {
      this.port = new ReconnectingPort({ path: this.path, baudRate: this.baud, clock: systemClock, log: quiet });
      this.port.start();
    }
    await untilOpen(this.port, ms);
    return this.port;
  }

  private async newClient(openMs: number, maxRetries?: number): Promise<ServiceClient> {
    return new ServiceClient(await this.open(openMs), systemClock, { window: SERVICE_WINDOW, rtoMs: serviceRtoMs(this.baud), ...(maxRetries ? { maxRetries } : {}) });
  }

  /** The authenticated client (made on first use, and again after `drop`). */
  async connect(helloMs = 5000): Promise<ServiceClient> {
    if (this.client) return this.client;
    const client = await this.newClient(helloMs, 3);
    try {
      const hello = await client.request({ op: 'hello' }, Buffer.alloc(0), helloMs);
      this.terminalId = String(hello.head.terminalId);
      await client.authenticate(this.key);
    } catch (e) {
      client.close();
      throw e;
    }
    this.client = client;
    return client;
  }

  /** Forgets the session (the line or the terminal went away). */
  drop(): void {
    this.client?.close();
    this.client = null;
  }

  /** What the terminal runs (hello); a loaded machine may take seconds to answer right after a boot. */
  async firmware(ms = 15_000): Promise<FirmwareHello> {
    const client = await this.connect(ms);
    const h = (await client.request({ op: 'hello' }, Buffer.alloc(0), ms)).head;
    return h.firmware as FirmwareHello;
  }

  /**
   * Flashes over fresh sessions, resuming after a lost line as `posj-bridge flash` does, and asks for the
   * reboot into the new slot. Cut off by `onProgress`, it ends FLASH_INTERRUPTED at once.
   */
  async flash(o: FlashOver): Promise<FlashReport> {
    this.drop();
    let current: ServiceClient | null = null;
    let cut = false;
    try {
      return await flash({
        connect: async () => {
          if (cut) throw new FlashFailed('FLASH_INTERRUPTED', 'flash interrupted: the power went off mid-upload');
          current = await this.newClient(5000);
          const c = current;
          return { client: c, close: async () => c.close() };
        },
        key: this.key,
        manifestBytes: o.manifestBytes,
        image: o.image,
        allowDowngrade: o.allowDowngrade,
        clock: systemClock,
        retryForMs: 30_000,
        reboot: true,
        onProgress: (p) => {
          if (cut || !o.onProgress?.(p)) return;
          cut = true;
          current?.close();
        },
      });
    } finally {
      this.drop();
    }
  }

  async close(): Promise<void> {
    this.drop();
    await this.port?.close();
    this.port = null;
  }
}
