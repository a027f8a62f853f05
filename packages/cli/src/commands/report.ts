import type { Command } from 'commander';
import { writeReportFromDir } from '@whitebox/metrics';

/** Registers `whitebox report`: (re)writes report/index.html from a results directory. */
export function register(program: Command): void {
  program
    .command('report')
    .description('write a self-contained HTML report (PNG grids, SVG charts, tables) plus JSON/CSV from the results of `evaluate` or `run`')
    .option('--results <dir>', 'directory with results.json (from `whitebox evaluate` / `whitebox run`)', 'results')
    .option('--out <dir>', 'report directory', 'report')
    .action(async (opts: { results: string; out: string }) => {
      const files = await writeReportFromDir(opts.results, opts.out);
      process.stdout.write(`report: ${files.html}\n`);
    });
}
