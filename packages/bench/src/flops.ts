import { readFileSync } from 'node:fs';
import os from 'node:os';
import { defaultCamLayerOf, type PreparedModel } from '@whitebox/onnx';

/** FLOPs per image: the forward pass, and each gradient graph of the methods bench (forward + its backward chains). */
export interface GraphFlops {
  forward: number;
  graphs: Record<string, number>;
}

/**
 * Multiply-adds per image of each Conv / Gemm / MatMul of a prepared graph (BatchNorm already folded), from the shapes
 * inferred at batch 2 and 3 (their difference: one image).
 */
function macsPerImage(p: PreparedModel): Map<string, number> {
  const g = p.graph;
  const out = new Map<string, number>();
  const prod = (d: readonly number[]) => d.reduce((a, b) => a * b, 1);
  for (const n of g.nodes) {
    const at = (s: typeof p.shapes.a) => {
      const dims = (name: string) => s.get(name)!.dims;
      const y = dims(n.outputs[0]!);
      if (n.op === 'Conv') return prod(y) * prod(dims(n.inputs[1]!).slice(1));
      if (n.op === 'Gemm') { const a = dims(n.inputs[0]!); return prod(y) * (n.attrs.transA === 1 ? a[0]! : a[1]!); }
      if (n.op === 'MatMul') return prod(y) * dims(n.inputs[0]!).at(-1)!;
      return 0;
    };
    if (!['Conv', 'Gemm', 'MatMul'].includes(n.op)) continue;
    out.set(n.name, at(p.shapes.b) - at(p.shapes.a));
  }
  return out;
}

/**
 * Nodes downstream of `source` (those a gradient from the output to `source` passes through), each with how many of
 * its inputs depend on `source`: a backward product per such input (attention's Q·Kᵀ and P·V need two, a layer with
 * constant weights one).
 */
function downstream(p: PreparedModel, source: string): Map<string, number> {
  const live = new Set([source]);
  const nodes = new Map<string, number>();
  for (const n of p.graph.nodes) {
    const k = n.inputs.filter((i) => live.has(i)).length;
    if (k > 0) { nodes.set(n.name, k); for (const o of n.outputs) live.add(o); }
  }
  return nodes;
}

/**
 * FLOPs (2 × multiply-adds) per image of the graphs the benches time: forward; input gradient (forward +
 * backward-data of every Conv/Gemm/MatMul, once per input that depends on the image); Grad-CAM (forward + backward-data of the Conv/Gemms after its layer); Guided
 * Grad-CAM (forward + both chains).
 */
export function flopsOf(p: PreparedModel): GraphFlops {
  const macs = macsPerImage(p);
  const sum = (only?: Map<string, number>) => 2 * [...macs].reduce((a, [name, m]) => a + (!only ? m : (only.get(name) ?? 0) * m), 0);
  const forward = sum();
  const layer = defaultCamLayerOf(p.graph, p.shapes);
  const input = sum(downstream(p, p.graph.input.name));
  const cam = layer ? sum(downstream(p, layer)) : 0;
  return {
    forward,
    graphs: {
      'input gradient': forward + input,
      'guided input gradient': forward + input,
      'Grad-CAM (stops at the CAM layer)': forward + cam,
      'Guided Grad-CAM (two chains)': forward + input + cam,
    },
  };
}

/**
 * The clock a busy core actually runs at, in GHz: a chain of dependent one-cycle integer ops (xor, add; every x86
 * core since the 486 retires one per cycle on the critical path) timed for about 0.2 s, best of 3. In a VM "cpu MHz"
 * is the nominal clock; this sees the boost clock (on the Zen 5 host of 2026-12-02: 2.60 nominal, ≈ 3.5 measured).
 */
export function measuredClockGHz(): number {
  const chain = (n: number) => {
    let x = 0;
    for (let i = 0; i < n; i++) x = ((((x ^ i) + 1) ^ 7) + 3) | 0;
    return x;
  };
  chain(1e6); // optimize before timing
  let best = 0;
  let sink = 0;
  for (let r = 0; r < 3; r++) {
    const n = 2e8;
    const t0 = process.hrtime.bigint();
    sink ^= chain(n);
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    best = Math.max(best, (4 * n) / s / 1e9);
  }
  return sink === 0.5 ? 0 : best; // sink keeps the loop's result live
}

/**
 * The FP32 FMA peak of one core, from its ISA and clock, and the assumption behind it: AMD family ≥ 26 (Zen 5) or
 * Intel with AVX-512: 2 × 512-bit FMA per cycle = 64 FLOP/cycle; AMD family 25 (Zen 3/4, Zen 4's AVX-512 runs on
 * 256-bit units) and other AVX2+FMA cores: 2 × 256-bit FMA = 32 FLOP/cycle. Clock: the measured one
 * ({@link measuredClockGHz}) when it is above /proc/cpuinfo's "cpu MHz" (a VM reports the nominal clock).
 */
export function corePeak(): { gflops: number; note: string } | undefined {
  let info: string;
  try { info = readFileSync('/proc/cpuinfo', 'utf8'); } catch { return undefined; }
  const field = (k: string) => new RegExp(`^${k}\\s*:\\s*(.*)$`, 'm').exec(info)?.[1]?.trim();
  const flags = new Set((field('flags') ?? '').split(/\s+/));
  const vendor = field('vendor_id') ?? '';
  const family = Number(field('cpu family') ?? 0);
  const mhz = Number(field('cpu MHz') ?? 0) || (os.cpus()[0]?.speed ?? 0);
  if (!mhz) return undefined;
  let perCycle: number;
  let why: string;
  if (flags.has('avx512f') && (vendor !== 'AuthenticAMD' || family >= 26)) { perCycle = 64; why = 'AVX-512, 2 × 512-bit FMA units'; }
  else if (flags.has('avx2') && flags.has('fma')) { perCycle = 32; why = flags.has('avx512f') ? 'AVX-512 on 256-bit FMA units (Zen 4)' : 'AVX2, 2 × 256-bit FMA units'; }
  else { perCycle = 16; why = 'SSE/AVX without FMA, assumed 16 FLOP/cycle'; }
  const measured = measuredClockGHz();
  const ghz = Math.max(mhz / 1000, measured);
  const gflops = perCycle * ghz;
  const clock = measured > mhz / 1000
    ? `${ghz.toFixed(2)} GHz (measured: a dependent integer-op chain, one op per cycle; /proc/cpuinfo "cpu MHz" says ${(mhz / 1000).toFixed(2)}, the VM's nominal clock)`
    : `${ghz.toFixed(2)} GHz ("cpu MHz" in /proc/cpuinfo; the measured clock, ${measured.toFixed(2)} GHz, is not above it)`;
  return { gflops, note: `${perCycle} FP32 FLOP/cycle/core (${why}; family ${family}) × ${clock} = ${gflops.toFixed(0)} GFLOP/s per core, × threads for the 2-thread rows` };
}
