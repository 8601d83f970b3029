// The acquirer simulator's public surface.
export * from './ledger.js';
export * from './ledger-state.js';
export * from './rules.js';
export * from './host.js';
export * from './tcp-server.js';
export * from './ledger-report.js';
export * from './memory-connector.js';
