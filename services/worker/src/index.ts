export * from './app.js';
export * from './config.js';
export * from './engine/catalog.js';
export * from './engine/worker.js';
