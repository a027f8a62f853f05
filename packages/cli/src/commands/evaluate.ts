import type { Command } from 'commander';
import { STAGES } from '@whitebox/metrics';
import { enumListOption, outDirOption } from '../options.js';
import { evaluateCommand, evaluationOptions, guardEarlyExit, reportFailures, type EvaluationCliOptions } from './run.js';

/** Registers `whitebox evaluate`: chosen evaluations of chosen methods; raw results (JSON/CSV) and their report. */
export function register(program: Command): void {
  evaluationOptions(program.command('evaluate').description('evaluate attribution methods (selectivity, ROAR/KAR, ROAD, sanity check, coherence, and the metrics: faithfulness, robustness, randomization, complexity, localization) on a model and dataset'))
    .option('--stages <list>', `evaluations to run, comma-separated: ${STAGES.join(', ')} (default: all)`, (v: string) => enumListOption('--stages', STAGES)(v).join(','))
    .option('--out <dir>', 'results directory (results.json, CSV, PNG, index.html)', outDirOption('--out'), 'results')
    .action(async (opts: EvaluationCliOptions) => {
      // --metrics alone runs the metrics stage only.
      if (opts.metrics && !opts.stages) opts.stages = 'metrics';
      const stages = opts.stages?.split(',').map((s) => s.trim());
      // ROAR/KAR needs its maps stage.
      if (stages?.includes('roar-kar') && !stages.includes('roar-maps')) opts.stages = [...stages, 'roar-maps'].join(',');
      const { files, results } = await guardEarlyExit(() => evaluateCommand(opts));
      process.stdout.write(`results: ${files.json}\nreport: ${files.html}\n`);
      reportFailures(results.failures);
    });
}
