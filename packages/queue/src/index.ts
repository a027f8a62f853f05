/**
 * Run WhiteBox ROAR/KAR retrainings and dataset-scale map shards as BullMQ jobs on Redis, with a content-addressed payload store.
 *
 * @packageDocumentation
 * @module @whitebox/queue
 */
export * from './store.js';
export * from './codec.js';
export * from './redis.js';
export * from './protocol.js';
export * from './session.js';
export * from './worker.js';
export * from './redis-server.js';
