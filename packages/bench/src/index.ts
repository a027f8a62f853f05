import { writeFileSync, readFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import type { BenchSection, Suite } from './harness.js';
import { loadSuites } from './suites/index.js';

export * from './harness.js';

/**
 * The CPU as precisely as Linux tells it: machines sold under one model name ("AMD EPYC") differ by generation, and
 * throughput with them (a Zen 5 host ran the gradient graphs 1.46× faster than the host of earlier runs).
 */
export function cpuSignature(): string {
  const name = os.cpus()[0]?.model ?? 'unknown CPU';
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const field = (k: string) => new RegExp(`^${k}\\s*:\\s*(.*)$`, 'm').exec(info)?.[1]?.trim();
    const flags = new Set((field('flags') ?? '').split(/\s+/));
    const isa = flags.has('avx512f') ? 'AVX-512' : flags.has('avx2') ? 'AVX2' : 'no AVX2';
    return `${name} (family ${field('cpu family') ?? '?'} model ${field('model') ?? '?'}, ${isa})`;
  } catch {
    return name;
  }
}

function render(sections: BenchSection[], command: string): string {
  const cpu = cpuSignature();
  const lines = [
    '# Benchmarks',
    '',
    `- Machine: ${cpu}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${os.type()} ${os.release()} ${os.arch()}`,
    `- Node ${process.version}`,
    `- Command: \`${command}\`, date: ${new Date().toISOString()} (sections kept from earlier runs name their own run)`,
    '',
  ];
  const stamp = `\`${command}\`, ${new Date().toISOString()}, ${cpu}, 1-min load average ${os.loadavg()[0]!.toFixed(1)}`;
  for (const s of sections) {
    lines.push(`## ${s.suite}`, '', `Run: ${stamp}.`, '');
    for (const t of s.tables) {
      lines.push(`### ${t.title}`, '');
      if (t.notes) lines.push(t.notes, '');
      lines.push(`| ${t.columns.join(' | ')} |`, `| ${t.columns.map(() => '---').join(' | ')} |`);
      for (const r of t.rows) lines.push(`| ${r.join(' | ')} |`);
      lines.push('');
    }
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const only = args.find((a) => a.startsWith('--only='))?.slice(7).split(',');
  const out = args.find((a) => a.startsWith('--out='))?.slice(6) ?? join(process.cwd(), 'BENCHMARKS.md');
  const chosen: Suite[] = (await loadSuites()).filter((s) => !only || only.includes(s.name));
  const sections: BenchSection[] = [];
  for (const suite of chosen) {
    process.stderr.write(`bench: ${suite.name}...\n`);
    sections.push(await suite.run({ quick, args }));
  }
  const shown = args.filter((a) => a !== '--');
  const command = `pnpm bench${shown.length ? ' -- ' + shown.join(' ') : ''}`;
  let text = render(sections, command);
  // Running a subset keeps the other suites' sections from the previous file.
  if (only && existsSync(out)) {
    const prev = readFileSync(out, 'utf8');
    // A suite's own section is the one titled exactly its name: notes such as "methods on the AVX2 host" are kept.
    const kept = prev.split(/^## /m).slice(1).filter((s) => !chosen.some((c) => s.split('\n', 1)[0]!.trim() === sectionTitle(c.name)));
    if (kept.length) text += '\n' + kept.map((s) => '## ' + s.trimEnd()).join('\n\n') + '\n';
  }
  writeFileSync(out, text);
  process.stderr.write(`bench: wrote ${out}\n`);
}

function sectionTitle(name: string): string {
  return name;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
