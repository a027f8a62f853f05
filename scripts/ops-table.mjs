#!/usr/bin/env node
// Regenerates the operator table in packages/onnx/README.md from the registry (after `pnpm build`).
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { supportedOpsTable } = await import(join(root, 'packages/onnx/dist/index.js'));
const file = join(root, 'packages/onnx/README.md');
const readme = readFileSync(file, 'utf8');
const [head, rest] = readme.split('<!-- ops:start -->\n');
const tail = rest.split('\n<!-- ops:end -->')[1];
writeFileSync(file, `${head}<!-- ops:start -->\n${supportedOpsTable()}\n<!-- ops:end -->${tail}`);
