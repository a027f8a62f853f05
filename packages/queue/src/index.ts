export * from './store.js';
export * from './codec.js';
export * from './redis.js';
export * from './protocol.js';
export * from './session.js';
export * from './worker.js';
export * from './redis-server.js';
