// pino-roll ships no types: the part of its API the daemon log uses.
declare module 'pino-roll' {
  import type { DestinationStream } from 'pino';
  interface RollOptions {
    file: string;
    size?: number | string;
    frequency?: number | string;
    extension?: string;
    mkdir?: boolean;
    limit?: { count?: number; removeOtherLogFiles?: boolean };
  }
  export default function build(options: RollOptions): Promise<DestinationStream & { flushSync(): void; end(): void }>;
}
