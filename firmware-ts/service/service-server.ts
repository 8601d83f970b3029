// What the terminal answers on its service port. Without authentication only `hello` and `status`; a
// bench proves it holds a paired Ed25519 key by signing a fresh challenge bound to this terminal and this
// link session, and only then may it run control operations (sales, voids, settlement), flash or reboot.
// A new session (bridge restart, cable pull) starts unauthenticated.
import { randomBytes, verify, type KeyObject } from 'node:crypto';
import { keyId } from '../../protocol/firmware/manifest.js';
import { authChallengeBytes, type ServiceMessage } from '../../protocol/service/service-messages.js';
import { ControlRequestError, parseRequest } from '../daemon/control-protocol.js';
import { dispatch, runControlRequest, type DaemonParts } from '../daemon/control-ops.js';
import type { FlashReceiver } from '../firmware/flash-receiver.js';
import type { JournalService } from './journal-service.js';

export class ServiceRequestError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ServiceRequestError';
  }
}

export interface ServiceServerOptions {
  parts: DaemonParts;
  pairedKeys: readonly KeyObject[];
  /** null when the config names no slots directory: flash is refused. */
  flash: FlashReceiver | null;
  journal: JournalService;
  /** The slot this process runs from (the launcher says), or null outside the launcher. */
  slot: string | null;
  requestReboot: () => void;
}

const OPEN_OPS = new Set(['hello', 'status', 'auth-begin', 'auth-prove']);

export class ServiceServer {
  private session = -1;
  private nonce: Buffer | null = null;
  private authenticated: string | null = null;
  /** Random per daemon start: a bench that asked for a reboot sees it change once the new daemon answers. */
  private readonly bootId = randomBytes(8).toString('hex');

  constructor(private readonly o: ServiceServerOptions) {}

  /** A new link session: whatever the previous bench proved no longer holds. */
  newSession(session: number): void {
    this.session = session;
    this.nonce = null;
    this.authenticated = null;
    this.o.flash?.close();
  }

  async handle(m: ServiceMessage): Promise<{ head: Record<string, unknown>; body?: Buffer; after?: () => void }> {
    const op = String(m.head.op);
    if (!OPEN_OPS.has(op) && this.authenticated === null) throw new ServiceRequestError('AUTH_REQUIRED', `"${op}" needs an authenticated bench (auth-begin, auth-prove with a paired key)`);
    const p = this.o.parts;
    switch (op) {
      case 'hello': {
        const s = p.journal.state;
        const fw = this.o.flash?.runningVersion();
        return {
          head: {
            product: 'pos-journal-terminal',
            terminalId: p.config.terminalId,
            merchantId: p.config.merchantId,
            bootId: this.bootId,
            firmware: { version: fw?.version ?? null, buildId: fw?.buildId ?? null, activeSlot: fw?.slot ?? null, runningSlot: this.o.slot, confirmedSlot: fw?.confirmed ?? null, trying: fw?.trying ?? null, rolledBack: fw?.rolledBack ?? null },
            journal: { stan: s.stan, batch: s.batch, pendingReversals: Object.keys(s.reversals).length },
            authenticated: this.authenticated !== null,
          },
        };
      }
      case 'status':
        return { head: (await dispatch(p, { op: 'status' })) as Record<string, unknown> };
      case 'auth-begin':
        this.nonce = randomBytes(32);
        return { head: { nonce: this.nonce.toString('base64'), terminalId: p.config.terminalId, session: this.session } };
      case 'auth-prove': {
        const nonce = this.nonce;
        this.nonce = null;
        const key = this.o.pairedKeys.find((k) => keyId(k) === m.head.keyId);
        const sig = typeof m.head.signature === 'string' ? Buffer.from(m.head.signature, 'base64') : Buffer.alloc(0);
        if (!nonce || !key || !verify(null, authChallengeBytes(p.config.terminalId, this.session, nonce), key, sig)) {
          p.log.event('service-auth-refused', { keyId: String(m.head.keyId ?? '') });
          throw new ServiceRequestError('AUTH_FAILED', nonce ? 'the bench key is not paired with this terminal, or the signature does not match the challenge' : 'no challenge outstanding: auth-begin first');
        }
        this.authenticated = keyId(key);
        p.log.event('service-auth', { keyId: this.authenticated });
        return { head: { authenticated: true } };
      }
      case 'control': {
        let req;
        try {
          req = parseRequest(JSON.stringify(m.head.request ?? null));
        } catch (e) {
          throw new ServiceRequestError((e as ControlRequestError).code ?? 'BAD_REQUEST', (e as Error).message);
        }
        // The same turn-taking as the control socket: money operations one at a time through the daemon's queue.
        return { head: { result: await runControlRequest(p, req) } as Record<string, unknown> };
      }
      case 'flash-begin':
        return { head: this.flash().begin(Buffer.from(String(m.head.manifest ?? ''), 'utf8'), Number(m.head.compressedSize), m.head.allowDowngrade === true) };
      case 'flash-chunk':
        return { head: this.flash().chunk(Number(m.head.offset), m.body) };
      case 'flash-commit': {
        const r = this.flash().commit();
        p.log.event('flash-installed', { slot: r.slot, version: r.version });
        return { head: r };
      }
      case 'journal-manifest':
        return { head: this.o.journal.manifest() };
      case 'journal-hash':
        return { head: this.o.journal.hash(m.head.name, m.head.length) };
      case 'journal-read':
        return this.o.journal.read(m.head.name, m.head.offset, m.head.length);
      case 'journal-export':
        return this.o.journal.export(m.head, new Date(p.clock.now()));
      case 'reboot':
        return { head: { rebooting: true }, after: () => this.o.requestReboot() };
      default:
        throw new ServiceRequestError('UNKNOWN_OP', `unknown service op "${op}"`);
    }
  }

  private flash(): FlashReceiver {
    if (!this.o.flash) throw new ServiceRequestError('FLASH_NOT_CONFIGURED', 'this terminal has no firmware.slotsDir in its config');
    return this.o.flash;
  }
}
