import type { Command } from 'commander';

/** Registers `whitebox evaluate`. (Not implemented yet: registers nothing.) */
export function register(_program: Command): void {}
