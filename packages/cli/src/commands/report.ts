import type { Command } from 'commander';
import { writeReportFromDir } from '@whitebox/metrics';
import { ensureOutDir, nonEmptyOption, outDirOption } from '../options.js';

/** Registers `whitebox report`: (re)writes report/index.html from a results directory. */
export function register(program: Command): void {
  program
    .command('report')
    .description('write a self-contained HTML report (PNG grids, SVG charts, tables) plus JSON/CSV from the results of `evaluate` or `run`')
    .option('--results <dir>', 'directory with results.json (from `whitebox evaluate` / `whitebox run`)', nonEmptyOption('--results'), 'results')
    .option('--out <dir>', 'report directory', outDirOption('--out'), 'report')
    .action(async (opts: { results: string; out: string }) => {
      ensureOutDir(opts.out, '--out');
      const files = await writeReportFromDir(opts.results, opts.out);
      process.stdout.write(`report: ${files.html}\n`);
    });
}
