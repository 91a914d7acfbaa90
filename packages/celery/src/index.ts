export * from './dead-letters.js';
export * from './lua.js';
export * from './protocol.js';
export * from './publisher.js';
export * from './results.js';
export * from './transport.js';
