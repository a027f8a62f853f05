export * from './cases.js';
export * from './runner.js';
export { MUTATION_NAMES, BUILT_NAMES } from './models.js';
export { CLI_SETUPS } from './cli-cases.js';
