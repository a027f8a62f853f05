import { readFileSync } from 'node:fs';

/** This WhiteBox's version (the CLI package's): queue jobs carry it, and workers of another version refuse them. */
export const VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
