import type { Command } from 'commander';

/** Registers `whitebox train`. (Not implemented yet: registers nothing.) */
export function register(_program: Command): void {}
