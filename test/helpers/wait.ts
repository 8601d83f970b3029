import { afterEach } from 'vitest';

/** Polls `cond` until it holds; fails naming `what` after `ms`. For real-time tests over ptys and sockets. */
export async function until(cond: () => boolean, what: string, ms = 3000, stepMs = 10): Promise<void> {
  for (let t = 0; !cond(); t += stepMs) {
    if (t > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** A stack of cleanups run after each test, newest first (close ports before the ptys under them). */
export function cleanupsAfterEach(): Array<() => Promise<void> | void> {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });
  return cleanups;
}
