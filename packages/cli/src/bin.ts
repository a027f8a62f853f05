#!/usr/bin/env node
import { Command } from 'commander';
import { WhiteBoxError } from '@whitebox/core';
import { register as registerExportGradients } from './commands/export-gradients.js';
import { register as registerExplain } from './commands/explain.js';
import { register as registerTrain } from './commands/train.js';
import { register as registerEvaluateModel } from './commands/evaluate-model.js';
import { register as registerEvaluate } from './commands/evaluate.js';
import { register as registerReport } from './commands/report.js';
import { register as registerRun } from './commands/run.js';

const program = new Command();
program
  .name('whitebox')
  .description('Explain image classifiers (saliency maps) and measure how trustworthy the explanations are.')
  .version('0.1.0')
  .showHelpAfterError();

for (const register of [registerRun, registerExplain, registerTrain, registerEvaluateModel, registerEvaluate, registerReport, registerExportGradients]) {
  register(program);
}

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof WhiteBoxError) {
    process.stderr.write(`whitebox: error [${err.code}]: ${err.message}\n`);
  } else {
    process.stderr.write(`whitebox: ${(err as Error)?.stack ?? String(err)}\n`);
  }
  process.exit(1);
});
