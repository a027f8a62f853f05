import type { Command } from 'commander';

/** Registers `whitebox evaluate-model`. (Not implemented yet: registers nothing.) */
export function register(_program: Command): void {}
