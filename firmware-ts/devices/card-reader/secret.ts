// Holds card data that may live in memory only (full PAN, expiry, track 2, PIN block): JSON, string
// conversion and console.log all print "[secret]", and the value is in a private field that object walks
// (findSensitive, structured clone into a journal record) cannot see. Reading it takes an explicit reveal().
import { inspect } from 'node:util';

export class Secret<T extends string | Buffer> {
  #value: T | undefined;

  constructor(value: T) {
    this.#value = value;
  }

  /** The value, for building the online request; throws once wiped. */
  reveal(): T {
    if (this.#value === undefined) throw new Error('secret was wiped after use');
    return this.#value;
  }

  /** Zeroes a Buffer value and forgets the reference (strings cannot be zeroed, only dropped). */
  wipe(): void {
    if (Buffer.isBuffer(this.#value)) this.#value.fill(0);
    this.#value = undefined;
  }

  toJSON(): string {
    return '[secret]';
  }

  toString(): string {
    return '[secret]';
  }

  [inspect.custom](): string {
    return 'Secret([secret])';
  }
}
