#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { WhiteBoxError } from '@whitebox/core';
import { register as registerExportGradients } from './commands/export-gradients.js';
import { register as registerExplain } from './commands/explain.js';
import { register as registerTrain } from './commands/train.js';
import { register as registerEvaluateModel } from './commands/evaluate-model.js';
import { register as registerEvaluate } from './commands/evaluate.js';
import { register as registerReport } from './commands/report.js';
import { register as registerRun } from './commands/run.js';
import { register as registerLayers } from './commands/layers.js';
import { USAGE_EXIT_CODE } from './options.js';
import { register as registerWorker } from './commands/worker.js';
import { VERSION } from './version.js';

const program = new Command();
program
  .name('whitebox')
  .description('Explain image classifiers (saliency maps) and measure how trustworthy the explanations are.')
  .version(VERSION)
  // Usage errors are one line ("whitebox: error: option '--steps <n>' argument 'abc' is invalid: ..."), exit code 2.
  .configureOutput({ outputError: (str, write) => write(`whitebox: ${str.trim().replace(/\.\s+(?=\S)/, ': ').replace(/\s*\n\s*/g, ' ')}\n`) })
  .exitOverride();

for (const register of [registerRun, registerExplain, registerTrain, registerEvaluateModel, registerEvaluate, registerReport, registerExportGradients, registerLayers, registerWorker]) {
  register(program);
}

/** Exit code of an error: 2 for usage errors, 1 otherwise. */
function fail(err: unknown): never {
  if (err instanceof CommanderError) {
    // Help and --version end here too, with exit code 0; commander has already printed the message. Help printed
    // because no command was given (commander.help, exit code 1) is a usage error like any other: exit code 2.
    const ok = err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version';
    process.exit(ok ? 0 : USAGE_EXIT_CODE);
  }
  if (err instanceof WhiteBoxError) {
    process.stderr.write(`whitebox: error [${err.code}]: ${err.message.replace(/\s*\n\s*/g, ' ')}\n`);
  } else {
    // Not a named error: a bug in WhiteBox; keep the stack for the report.
    process.stderr.write(`whitebox: internal error (please report it): ${(err as Error)?.stack ?? String(err)}\n`);
  }
  process.exit(1);
}

program.parseAsync(process.argv).catch(fail);
