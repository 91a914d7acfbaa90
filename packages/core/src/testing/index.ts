/** Test support (`@platform/core/testing`): never imported by the services themselves. */
export * from './kubernetes.js';
export * from './processes.js';
export * from './python.js';
export * from './servers.js';
export * from './test-database.js';
