// What the acquirer link last did, for `posj status`: "signed on" alone says the keys are valid, not that
// the acquirer can be reached. The link reports connects and drops; this keeps the latest with its time.
import type { Clock } from '../../protocol/io/clock.js';
import type { LinkEvent } from '../acquirer/index.js';

export interface AcquirerLinkHealth {
  /** `never`: no connection made since the daemon started. */
  state: 'up' | 'down' | 'never';
  /** Epoch ms of the last change. */
  since: number;
  /** Why it went down. */
  detail?: string;
}

export class LinkWatch {
  private h: AcquirerLinkHealth;

  constructor(private readonly clock: Clock) {
    this.h = { state: 'never', since: clock.now() };
  }

  onEvent(e: LinkEvent): void {
    if (e.type === 'connected') this.h = { state: 'up', since: this.clock.now() };
    if (e.type === 'disconnected') this.h = { state: 'down', since: this.clock.now(), detail: e.detail };
  }

  health(): AcquirerLinkHealth {
    return { ...this.h };
  }
}
