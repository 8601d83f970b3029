// The acquirer link's public surface.
export * from './transport.js';
export * from './tcp-connector.js';
export * from './exchange-result.js';
export * from './link.js';
export * from './sign-on.js';
