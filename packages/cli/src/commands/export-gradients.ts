import type { Command } from 'commander';

/** Registers `whitebox export-gradients`. (Not implemented yet: registers nothing.) */
export function register(_program: Command): void {}
