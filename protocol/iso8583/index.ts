// The ISO 8583 codec's public surface.
export * from './errors.js';
export * from './field-types.js';
export * from './bitmap.js';
export * from './dialect.js';
export * from './cup-fields.js';
export * from './iso1987-fields.js';
export * from './message.js';
export * from './cup-envelope.js';
export * from './framing.js';
export * from './keys.js';
export * from './mac.js';
export * from './cup-messages.js';
export * from './pin-block.js';
