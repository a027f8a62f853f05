import { Tensor, WhiteBoxError, sizeOf, type ReluRule, type TensorData, RELU_RULES } from '@whitebox/core';
import { attrToProto, graphToModelBytes, type Attrs } from './builder.js';
import {
  attrFloat, attrInt, attrInts, attrString, consumers, importModel, initsToProto, inferShapes, intValues, nodesToProto,
  prepareGraph, pruneGraph, spatialAttrs, unsupported, type IrGraph, type IrNode, type Shapes,
} from './graph.js';
import { DataType, makeValueInfo, type INodeProto } from './proto.js';

export interface GradientGraphOptions {
  /** ReLU backward rule (default 'gradient'). */
  rule?: ReluRule;
  /** Intermediate tensors whose activation and gradient become outputs `<name>:activation`, `<name>:grad`. */
  layers?: readonly string[];
  /** Output `input_grad` (default true); when false the backward pass stops at the deepest needed layer. */
  inputGradient?: boolean;
  /**
   * MaxPool backward. 'auto' (default, exact: the first maximum of each window gets the gradient, as in MaxPool's
   * Indices and PyTorch): for non-overlapping square windows, first-max indices built from max-pools of the leading
   * window slots + MaxUnpool; else a scatter through MaxPool's Indices output. 'indices': always the scatter. 'mask': faster, but every tied maximum gets the gradient
   * (only used after a ReLU under the 'gradient'/'guided' rules).
   */
  maxPoolBackward?: 'auto' | 'indices' | 'mask';
}

/** Emits backward nodes and constants with collision-free names. */
class Emitter {
  readonly nodes: INodeProto[] = [];
  readonly inits = new Map<string, Tensor<TensorData>>();
  private readonly used: Set<string>;
  private counter = 0;
  private readonly constCache = new Map<string, string>();

  constructor(g: IrGraph) {
    this.used = new Set([g.input.name, ...g.inits.keys(), ...g.nodes.flatMap((n) => n.outputs)]);
  }

  fresh(base: string): string {
    let n = `wb/${base}`;
    while (this.used.has(n)) n = `wb/${base}_${++this.counter}`;
    this.used.add(n);
    return n;
  }

  claim(name: string): void {
    this.used.add(name);
  }

  node(op: string, inputs: string[], attrs: Attrs = {}, outputs?: string[] | number): string[] {
    const outs = Array.isArray(outputs) ? outputs : Array.from({ length: outputs ?? 1 }, () => this.fresh(op.toLowerCase()));
    this.nodes.push({ opType: op, name: this.fresh(`${op}_node`), input: inputs, output: outs, attribute: Object.entries(attrs).map(([k, v]) => attrToProto(k, v)) });
    return outs;
  }

  one(op: string, inputs: string[], attrs: Attrs = {}): string {
    return this.node(op, inputs, attrs)[0]!;
  }

  tensor(base: string, t: Tensor<TensorData>): string {
    const name = this.fresh(base);
    this.inits.set(name, t);
    return name;
  }

  /** A cached small constant (scalar or int64 vector). */
  scalar(v: number): string {
    const key = `f:${v}`;
    let n = this.constCache.get(key);
    if (!n) { n = this.tensor('c', new Tensor(Float32Array.of(v), [])); this.constCache.set(key, n); }
    return n;
  }

  ints(values: readonly number[]): string {
    const key = `i:${values.join(',')}`;
    let n = this.constCache.get(key);
    if (!n) { n = this.tensor('i', new Tensor(BigInt64Array.from(values.map((v) => BigInt(v))), [values.length])); this.constCache.set(key, n); }
    return n;
  }
}

/** Reverse-mode differentiation of a prepared graph. */
class GradBuilder {
  private readonly e: Emitter;
  private readonly shapes: Shapes;
  private readonly producer = new Map<string, IrNode>();
  private readonly cons: Map<string, IrNode[]>;
  private readonly active = new Set<string>();
  private readonly contribs = new Map<string, string[]>();
  private readonly done = new Set<IrNode>();
  /** Forward nodes, possibly with extra outputs (MaxPool Indices). */
  readonly forward: IrNode[];

  constructor(private readonly g: IrGraph, private readonly rule: ReluRule, private readonly layers: readonly string[], private readonly maxPoolMode: 'auto' | 'indices' | 'mask') {
    this.e = new Emitter(g);
    this.shapes = inferShapes(g, 2);
    this.cons = consumers(g);
    this.forward = g.nodes.map((n) => ({ ...n, outputs: [...n.outputs] }));
    for (const n of this.forward) for (const o of n.outputs) this.producer.set(o, n);
  }

  shape(name: string): number[] {
    const s = this.shapes.get(name);
    if (!s) throw new WhiteBoxError('INVALID_MODEL', `no shape known for tensor '${name}'`);
    return s;
  }

  run(sources: readonly string[]): Map<string, string> {
    for (const s of sources) this.active.add(s);
    for (const n of this.forward) if (n.inputs.some((i) => this.active.has(i))) for (const o of n.outputs) this.active.add(o);
    if (!this.active.has(this.g.output)) {
      throw new WhiteBoxError('INVALID_ARGUMENT', `the model output '${this.g.output}' does not depend on ${sources.map((s) => `'${s}'`).join(', ')}`);
    }
    this.contribs.set(this.g.output, ['cotangent']);
    for (let i = this.forward.length - 1; i >= 0; i--) {
      const n = this.forward[i]!;
      if (this.done.has(n) || !n.outputs.some((o) => this.active.has(o))) continue;
      const gy = this.total(n.outputs[0]!);
      if (!gy) continue;
      this.backward(n, gy);
    }
    const out = new Map<string, string>();
    for (const s of sources) {
      const t = this.total(s);
      if (!t) throw new WhiteBoxError('INVALID_ARGUMENT', `tensor '${s}' does not affect the model output '${this.g.output}'`, { layer: s });
      out.set(s, t);
    }
    return out;
  }

  /** Sum of the gradient contributions to a tensor. */
  private total(name: string): string | undefined {
    const c = this.contribs.get(name);
    if (!c || c.length === 0) return undefined;
    if (c.length === 1) return c[0];
    const s = this.e.one('Sum', c);
    this.contribs.set(name, [s]);
    return s;
  }

  private add(name: string, grad: string): void {
    if (!this.active.has(name)) return;
    const l = this.contribs.get(name) ?? [];
    l.push(grad);
    this.contribs.set(name, l);
  }

  private isInit(name: string): boolean {
    return this.g.inits.has(name);
  }

  /** Reduces a gradient of shape `outShape` over broadcast axes to the shape of `input`. */
  private unbroadcast(grad: string, outShape: number[], input: string): string {
    const inShape = this.shape(input);
    const offset = outShape.length - inShape.length;
    const axes: number[] = [];
    for (let i = 0; i < outShape.length; i++) {
      if (i < offset || (inShape[i - offset] === 1 && outShape[i] !== 1)) axes.push(i);
    }
    if (axes.length === 0) return grad;
    let r = this.e.one('ReduceSum', [grad, this.e.ints(axes)], { keepdims: 1 });
    if (offset > 0) r = this.e.one('Reshape', [r, this.isInit(input) ? this.e.ints(inShape) : this.e.one('Shape', [input])]);
    return r;
  }

  private reshapeLike(grad: string, x: string): string {
    const s = this.shape(x);
    // Static target with the batch dim copied (0) when x's dim 0 is the batch dim; else its runtime shape.
    if (this.batchDependent(x) === 'dim0') return this.e.one('Reshape', [grad, this.e.ints([0, ...s.slice(1)])]);
    return this.e.one('Reshape', [grad, this.e.one('Shape', [x])]);
  }

  private readonly batchCache = new Map<string, 'none' | 'dim0' | 'other'>();
  private otherShapes?: Shapes;
  /** Which dims of a tensor depend on the batch size (compares shape inference at batch 2 and 3). */
  private batchDependent(x: string): 'none' | 'dim0' | 'other' {
    let v = this.batchCache.get(x);
    if (v) return v;
    this.otherShapes ??= inferShapes(this.g, 3);
    const a = this.shape(x);
    const b = this.otherShapes.get(x)!;
    const diff = a.map((d, i) => d !== b[i]);
    v = !diff.some(Boolean) ? 'none' : diff[0] && !diff.slice(1).some(Boolean) ? 'dim0' : 'other';
    this.batchCache.set(x, v);
    return v;
  }

  private denied(n: IrNode, idx: number, what: string): void {
    if (this.active.has(n.inputs[idx] ?? '')) throw unsupported(n, `the gradient with respect to its ${what} input ('${n.inputs[idx]}') is not supported`, this.g);
  }

  private backward(n: IrNode, gy: string): void {
    const e = this.e;
    const [x, w] = n.inputs as [string, string];
    const y = n.outputs[0]!;
    const act = (i: number) => this.active.has(n.inputs[i] ?? '');
    const outShape = this.shape(y);
    switch (n.op) {
      case 'Identity': case 'Dropout':
        this.add(x, gy);
        return;
      case 'Relu': {
        if (this.rule === 'deconvnet') { this.add(x, e.one('Relu', [gy])); return; }
        const g = this.rule === 'guided' ? e.one('Relu', [gy]) : gy;
        // y = relu(x) ≥ 0, so [0 < y] is the mask [x > 0]; Cast to float and Mul (faster than Where, and than Sign(y),
        // on onnxruntime CPU).
        this.add(x, e.one('Mul', [g, e.one('Cast', [e.one('Less', [e.scalar(0), y])], { to: 1 })]));
        return;
      }
      case 'LeakyRelu': {
        const alpha = attrFloat(n, 'alpha', 0.01);
        this.add(x, e.one('Where', [e.one('Greater', [x, e.scalar(0)]), gy, e.one('Mul', [gy, e.scalar(alpha)])]));
        return;
      }
      case 'Clip':
        this.denied(n, 1, 'min'); this.denied(n, 2, 'max');
        this.add(x, e.one('Where', [e.one('Equal', [x, y]), gy, e.scalar(0)]));
        return;
      case 'Sigmoid':
        this.add(x, e.one('Mul', [gy, e.one('Mul', [y, e.one('Sub', [e.scalar(1), y])])]));
        return;
      case 'Tanh':
        this.add(x, e.one('Mul', [gy, e.one('Sub', [e.scalar(1), e.one('Mul', [y, y])])]));
        return;
      case 'Softmax': {
        const axis = attrInt(n, 'axis', n.attrs._legacy ? 1 : -1);
        const gyY = e.one('Mul', [gy, y]);
        const s = e.one('ReduceSum', [gyY, e.ints([axis])], { keepdims: 1 });
        this.add(x, e.one('Sub', [gyY, e.one('Mul', [y, s])]));
        return;
      }
      case 'BatchNormalization': {
        for (let i = 1; i < 5; i++) this.denied(n, i, ['', 'scale', 'bias', 'mean', 'var'][i]!);
        const eps = attrFloat(n, 'epsilon', 1e-5);
        const rank = this.shape(x).length;
        const [gamma, , , variance] = n.inputs.slice(1).map((i) => this.g.inits.get(i));
        let scale: string;
        const c = this.shape(x)[1]!;
        const bshape = [c, ...Array(rank - 2).fill(1)];
        if (gamma && variance) {
          const s = new Float32Array(c);
          for (let i = 0; i < c; i++) s[i] = Number(gamma.data[i]) / Math.sqrt(Number(variance.data[i]) + eps);
          scale = e.tensor('bn_scale', new Tensor(s, bshape));
        } else {
          const s = e.one('Div', [n.inputs[1]!, e.one('Sqrt', [e.one('Add', [n.inputs[4]!, e.scalar(eps)])])]);
          scale = e.one('Reshape', [s, e.ints(bshape)]);
        }
        this.add(x, e.one('Mul', [gy, scale]));
        return;
      }
      case 'Conv':
        this.denied(n, 1, 'weight'); this.denied(n, 2, 'bias');
        this.add(x, this.convInputGrad(n, gy));
        return;
      case 'ConvTranspose': {
        this.denied(n, 1, 'weight'); this.denied(n, 2, 'bias');
        const kernel = attrInts(n, 'kernel_shape', undefined) ?? this.shape(w).slice(2);
        const sa = spatialAttrs(n, this.shape(x), kernel, this.g);
        this.add(x, e.one('Conv', [gy, w], { strides: sa.strides, pads: sa.pads, dilations: sa.dilations, group: attrInt(n, 'group', 1), kernel_shape: kernel }));
        return;
      }
      case 'MaxPool':
        this.maxPoolGrad(n, gy);
        return;
      case 'AveragePool':
        this.add(x, this.avgPoolGrad(n, gy));
        return;
      case 'GlobalAveragePool': {
        const s = this.shape(x);
        const scaled = e.one('Mul', [gy, e.scalar(1 / sizeOf(s.slice(2)))]);
        this.add(x, e.one('Expand', [scaled, e.one('Shape', [x])]));
        return;
      }
      case 'Gemm': {
        const transA = attrInt(n, 'transA', 0);
        const transB = attrInt(n, 'transB', 0);
        const alpha = { type: 'float' as const, value: attrFloat(n, 'alpha', 1) };
        if (act(0)) {
          const ga = transA ? e.one('Gemm', [w, gy], { transA: transB, transB: 1, alpha }) : e.one('Gemm', [gy, w], { transB: 1 - transB, alpha });
          this.add(x, ga);
        }
        if (act(1)) {
          const gb = transB ? e.one('Gemm', [gy, x], { transA: 1, transB: transA, alpha }) : e.one('Gemm', [x, gy], { transA: 1 - transA, alpha });
          this.add(w, gb);
        }
        if (n.inputs[2] && act(2)) {
          const beta = attrFloat(n, 'beta', 1);
          this.add(n.inputs[2], this.unbroadcast(beta === 1 ? gy : e.one('Mul', [gy, e.scalar(beta)]), outShape, n.inputs[2]));
        }
        return;
      }
      case 'MatMul': {
        const swapLast = (name: string): string => {
          const r = this.shape(name).length;
          const t = this.g.inits.get(name);
          if (t && t.dtype === 'float32' && r === 2) {
            const [a, b] = t.dims as [number, number];
            const d = new Float32Array(a * b);
            for (let i = 0; i < a; i++) for (let j = 0; j < b; j++) d[j * a + i] = (t.data as Float32Array)[i * b + j]!;
            return e.tensor('matmul_wT', new Tensor(d, [b, a]));
          }
          const perm = [...Array(r).keys()];
          [perm[r - 1], perm[r - 2]] = [perm[r - 2]!, perm[r - 1]!];
          return e.one('Transpose', [name], { perm });
        };
        if (act(0)) this.add(x, this.unbroadcast(e.one('MatMul', [gy, swapLast(w)]), [...outShape.slice(0, -2), ...this.shape(x).slice(-2)], x));
        if (act(1)) this.add(w, this.unbroadcast(e.one('MatMul', [swapLast(x), gy]), [...outShape.slice(0, -2), ...this.shape(w).slice(-2)], w));
        return;
      }
      case 'Add':
        if (act(0)) this.add(x, this.unbroadcast(gy, outShape, x));
        if (act(1)) this.add(w, this.unbroadcast(gy, outShape, w));
        return;
      case 'Sub':
        if (act(0)) this.add(x, this.unbroadcast(gy, outShape, x));
        if (act(1)) this.add(w, this.unbroadcast(e.one('Neg', [gy]), outShape, w));
        return;
      case 'Mul':
        if (act(0)) this.add(x, this.unbroadcast(e.one('Mul', [gy, w]), outShape, x));
        if (act(1)) this.add(w, this.unbroadcast(e.one('Mul', [gy, x]), outShape, w));
        return;
      case 'Div':
        if (act(0)) this.add(x, this.unbroadcast(e.one('Div', [gy, w]), outShape, x));
        if (act(1)) this.add(w, this.unbroadcast(e.one('Neg', [e.one('Mul', [gy, e.one('Div', [y, w])])]), outShape, w));
        return;
      case 'Flatten': case 'Reshape': case 'Squeeze': case 'Unsqueeze':
        this.add(x, this.reshapeLike(gy, x));
        return;
      case 'Transpose': {
        const r = this.shape(x).length;
        const perm = attrInts(n, 'perm', undefined) ?? [...Array(r).keys()].reverse();
        const inv = Array<number>(r);
        perm.forEach((p, i) => { inv[p] = i; });
        this.add(x, e.one('Transpose', [gy], { perm: inv }));
        return;
      }
      case 'Concat': {
        const r = outShape.length;
        let axis = attrInt(n, 'axis', 0);
        if (axis < 0) axis += r;
        const sizes = n.inputs.map((i) => this.shape(i)[axis]!);
        if (axis === 0 && this.batchDependent(y) !== 'none') throw unsupported(n, 'Concat along the batch axis', this.g);
        const parts = e.node('Split', [gy, e.ints(sizes)], { axis }, n.inputs.length);
        n.inputs.forEach((inp, i) => this.add(inp, parts[i]!));
        return;
      }
      case 'Pad': {
        const mode = attrString(n, 'mode', 'constant');
        if (mode !== 'constant') throw unsupported(n, `Pad mode '${mode}' (only 'constant' is differentiated)`, this.g);
        const xs = this.shape(x);
        const pads = intValues(this.g.inits.get(n.inputs[1]!)!);
        let axes = xs.map((_, i) => i);
        if (n.inputs[3]) axes = intValues(this.g.inits.get(n.inputs[3])!).map((a) => (a < 0 ? a + xs.length : a));
        if (pads.some((p) => p < 0)) throw unsupported(n, 'negative pads (cropping)', this.g);
        const starts = axes.map((_, i) => pads[i]!);
        const ends = axes.map((_, i) => (pads[i + axes.length]! > 0 ? -pads[i + axes.length]! : 2 ** 62));
        this.add(x, e.one('Slice', [gy, e.ints(starts), e.ints(ends), e.ints(axes)]));
        return;
      }
      default:
        throw unsupported(n, 'no gradient rule', this.g);
    }
  }

  /** d conv / d input: Conv with transposed, flipped weights (stride 1) or ConvTranspose. */
  private convInputGrad(n: IrNode, gy: string): string {
    const e = this.e;
    const [x, wName] = n.inputs as [string, string];
    const ws = this.shape(wName);
    const kernel = attrInts(n, 'kernel_shape', undefined) ?? ws.slice(2);
    const xs = this.shape(x);
    const sa = spatialAttrs(n, xs, kernel, this.g);
    const group = attrInt(n, 'group', 1);
    const s = kernel.length;
    const w = this.g.inits.get(wName);
    const backPads = [...kernel.map((k, i) => sa.dilations[i]! * (k - 1) - sa.pads[i]!), ...kernel.map((k, i) => sa.dilations[i]! * (k - 1) - sa.pads[i + s]!)];
    // Measured on onnxruntime CPU: a Conv with transposed, flipped weights beats ConvTranspose when the input has ≥ 8
    // channels; for the first layer (1-3 channels) ConvTranspose (GEMM + col2im) is several times faster.
    if (w && w.dtype === 'float32' && ws[1]! * group >= 8 && sa.strides.every((v) => v === 1) && backPads.every((p) => p >= 0)) {
      // W [Cout, Cin/g, k...] -> W' [Cin, Cout/g, k...] per group, spatially flipped.
      const [cout, cinG] = ws as [number, number];
      const coutG = cout / group;
      const ksz = sizeOf(kernel);
      const src = w.data as Float32Array;
      const dst = new Float32Array(w.size);
      for (let gi = 0; gi < group; gi++) {
        for (let co = 0; co < coutG; co++) {
          for (let ci = 0; ci < cinG; ci++) {
            const sOff = ((gi * coutG + co) * cinG + ci) * ksz;
            const dOff = ((gi * cinG + ci) * coutG + co) * ksz;
            for (let k = 0; k < ksz; k++) dst[dOff + ksz - 1 - k] = src[sOff + k]!;
          }
        }
      }
      const wf = e.tensor('conv_wflip', new Tensor(dst, [cinG * group, coutG, ...kernel]));
      return e.one('Conv', [gy, wf], { pads: backPads, dilations: sa.dilations, group, kernel_shape: kernel });
    }
    const ys = this.shape(n.outputs[0]!);
    const outPad = kernel.map((k, i) => xs[2 + i]! - (sa.strides[i]! * (ys[2 + i]! - 1) + (k - 1) * sa.dilations[i]! + 1 - sa.pads[i]! - sa.pads[i + s]!));
    return e.one('ConvTranspose', [gy, wName], { strides: sa.strides, pads: sa.pads, dilations: sa.dilations, group, kernel_shape: kernel, output_padding: outPad });
  }

  private avgPoolGrad(n: IrNode, gy: string): string {
    const e = this.e;
    const x = n.inputs[0]!;
    const xs = this.shape(x);
    const ys = this.shape(n.outputs[0]!);
    const kernel = attrInts(n, 'kernel_shape', undefined)!;
    const sa = spatialAttrs(n, xs, kernel, this.g);
    const s = kernel.length;
    const floorOut = kernel.map((k, i) => Math.floor((xs[2 + i]! + sa.pads[i]! + sa.pads[i + s]! - sa.dilations[i]! * (k - 1) - 1) / sa.strides[i]!) + 1);
    if (floorOut.some((o, i) => o !== ys[2 + i])) throw unsupported(n, 'ceil_mode=1 where it changes the output size', this.g);
    const includePad = attrInt(n, 'count_include_pad', 0) === 1;
    const ksz = sizeOf(kernel);
    let scaled: string;
    if (includePad || sa.pads.every((p) => p === 0)) {
      scaled = e.one('Mul', [gy, e.scalar(1 / ksz)]);
    } else {
      // Per output position: 1 / (number of window elements inside the unpadded input).
      const outSp = ys.slice(2);
      const inv = new Float32Array(sizeOf(outSp));
      for (let idx = 0; idx < inv.length; idx++) {
        let rem = idx;
        let count = 1;
        for (let d = s - 1; d >= 0; d--) {
          const o = rem % outSp[d]!;
          rem = Math.floor(rem / outSp[d]!);
          let c = 0;
          for (let k = 0; k < kernel[d]!; k++) {
            const p = o * sa.strides[d]! - sa.pads[d]! + k * sa.dilations[d]!;
            if (p >= 0 && p < xs[2 + d]!) c++;
          }
          count *= c;
        }
        inv[idx] = 1 / count;
      }
      scaled = e.one('Mul', [gy, e.tensor('avgpool_invcount', new Tensor(inv, [1, 1, ...outSp]))]);
    }
    const c = xs[1]!;
    const ones = e.tensor('avgpool_ones', new Tensor(new Float32Array(c * ksz).fill(1), [c, 1, ...kernel]));
    const outPad = kernel.map((k, i) => xs[2 + i]! - (sa.strides[i]! * (ys[2 + i]! - 1) + (k - 1) * sa.dilations[i]! + 1 - sa.pads[i]! - sa.pads[i + s]!));
    return e.one('ConvTranspose', [scaled, ones], { strides: sa.strides, pads: sa.pads, dilations: sa.dilations, group: c, kernel_shape: kernel, output_padding: outPad });
  }

  private maxPoolGrad(n: IrNode, gy: string): void {
    const e = this.e;
    const x = n.inputs[0]!;
    const y = n.outputs[0]!;
    const xs = this.shape(x);
    const ys = this.shape(y);
    const kernel = attrInts(n, 'kernel_shape', undefined)!;
    const sa = spatialAttrs(n, xs, kernel, this.g);
    const relu = this.producer.get(x);
    const nonOverlapping = sa.pads.every((p) => p === 0) && sa.dilations.every((d) => d === 1) && kernel.every((k, i) => k === sa.strides[i]) && !attrInt(n, '_storage', 0);
    // A ReLU whose only consumer is this pool (and whose output is not a requested layer): its backward rule runs at the
    // pooled resolution, since every position that receives a gradient holds its window's max, so [x > 0] = [max > 0].
    const fuseRelu = !!relu && relu.op === 'Relu' && (this.cons.get(x) ?? []).length === 1 && !this.layers.includes(x) && nonOverlapping;
    let g = gy;
    if (fuseRelu) {
      if (this.rule === 'deconvnet') g = e.one('Relu', [gy]);
      // [y > 0] as Cast(Less(0, y)): measured faster than Sign(y) on onnxruntime CPU.
      else g = e.one('Mul', [this.rule === 'guided' ? e.one('Relu', [gy]) : gy, e.one('Cast', [e.one('Less', [e.scalar(0), y])], { to: 1 })]);
    }
    const target = fuseRelu ? relu!.inputs[0]! : x;
    if (fuseRelu) this.done.add(relu!);
    const [ho, wo] = [ys[2]!, ys[3]!];
    const square = kernel.length === 2 && kernel[0] === kernel[1] && nonOverlapping && ho * kernel[0]! <= xs[2]! && wo * kernel[0]! <= xs[3]!;
    const k = kernel[0]!;
    const cropped = square && (ho * k !== xs[2] || wo * k !== xs[3]);
    const crop = (t: string) => (cropped ? e.one('Slice', [t, e.ints([0, 0]), e.ints([ho * k, wo * k]), e.ints([2, 3])]) : t);
    const uncrop = (t: string) => (cropped ? e.one('Pad', [t, e.ints([0, 0, 0, 0, 0, 0, xs[2]! - ho * k, xs[3]! - wo * k])]) : t);
    if (square && this.maxPoolMode === 'mask' && fuseRelu && this.rule !== 'deconvnet') {
      // Opt-in approximation: positions equal to their window's (nearest-upsampled) max all get the gradient, so
      // tied maxima (e.g. constant image regions) each receive it. Faster than the exact routes.
      const scales = e.tensor('pool_scales', new Tensor(Float32Array.of(1, 1, k, k), [4]));
      const up = (t: string) => e.one('Resize', [t, '', scales], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' });
      this.add(target, uncrop(e.one('Where', [e.one('Equal', [crop(x), up(y)]), up(g), e.scalar(0)])));
      return;
    }
    const [C, H, W] = xs.slice(1) as [number, number, number];
    if (square && this.maxPoolMode !== 'indices' && C * H * W < 2 ** 24) {
      // Exact for non-overlapping square windows, without MaxPool's slow Indices output: the flat index (MaxPool's
      // Indices layout) of each window's FIRST maximum — the position MaxPool's Indices and PyTorch use — is built at
      // the pooled resolution, and MaxUnpool scatters the pooled gradient there (the only full-resolution op).
      // Slot t of a window (raster order) is the plane x[:, :, i::k, j::k], t = i·k + j. L_t = [max of slots 0..t < y]
      // is 1 exactly for the slots before the first maximum, so the first maximum's offset in its window is
      // Σ_t L_t·(offset(t+1) - offset(t)), offset(i·k + j) = i·W + j. Within-sample indices (origin of the window plus
      // that offset) are exact in float32 below 2^24; the int64 sample offset n·C·H·W is added after the Cast.
      const less = (m: string) => e.one('Less', [m, y]);
      const L: string[] = [];
      if (k === 2) {
        // 2×2: the maxima of the leading slots are max-pools of x (run in onnxruntime's blocked layout without copying
        // x out of it): slot 0 = pool 1×1, slots 0-1 = pool 1×2, and [max(slots 0-2) < y] = L_1 and [pool 2×1 < y].
        const xc = crop(x);
        const pool = (kh: number, kw: number) => e.one('MaxPool', [xc], { kernel_shape: [kh, kw], strides: [2, 2] });
        const l1 = less(pool(1, 2));
        L.push(less(pool(1, 1)), l1, e.one('And', [l1, less(pool(2, 1))]));
      } else {
        let lead = '';
        for (let t = 0; t < k * k - 1; t++) {
          const [i, j] = [Math.floor(t / k), t % k];
          const plane = e.one('Slice', [x, e.ints([i, j]), e.ints([i + ho * k, j + wo * k]), e.ints([2, 3]), e.ints([k, k])]);
          lead = lead ? e.one('Max', [lead, plane]) : plane;
          L.push(less(lead));
        }
      }
      const origin = new Float32Array(C * ho * wo);
      for (let c = 0; c < C; c++) for (let i = 0; i < ho; i++) for (let j = 0; j < wo; j++) origin[(c * ho + i) * wo + j] = (c * H + k * i) * W + k * j;
      let local = e.tensor('pool_origin', new Tensor(origin, [1, C, ho, wo]));
      L.forEach((l, t) => {
        const step = (t + 1) % k === 0 ? W - (k - 1) : 1;
        const c = e.one('Cast', [l], { to: 1 });
        local = e.one('Add', [local, step === 1 ? c : e.one('Mul', [c, e.scalar(step)])]);
      });
      // Shapes from the pooled y: x's Shape would make onnxruntime copy x out of its blocked layout.
      const yShape = e.one('Shape', [y]);
      const batch = e.one('Slice', [yShape, e.ints([0]), e.ints([1])]);
      const chw = e.tensor('pool_chw', new Tensor(BigInt64Array.of(BigInt(C * H * W)), []));
      const zero = e.tensor('pool_zero', new Tensor(BigInt64Array.of(0n), []));
      const sampleOffsets = e.one('Reshape', [e.one('Range', [zero, e.one('Mul', [e.one('Squeeze', [batch, e.ints([0])]), chw]), chw]), e.ints([-1, 1, 1, 1])]);
      const idx = e.one('Add', [e.one('Cast', [local], { to: 7 }), sampleOffsets]);
      const outShape = e.one('Concat', [batch, e.ints([C, H, W])], { axis: 0 });
      this.add(target, e.one('MaxUnpool', [g, idx, outShape], { kernel_shape: kernel, strides: sa.strides }));
      return;
    }
    // Exact: scatter-add through the flattened Indices (first max wins ties; handles overlapping windows and padding).
    if (attrInt(n, '_storage', 0)) throw unsupported(n, 'MaxPool with storage_order=1', this.g);
    let idx = n.outputs[1];
    if (!idx) {
      idx = e.fresh(`${n.name}_indices`);
      n.outputs[1] = idx;
    }
    const flatX = e.one('Reshape', [x, e.ints([-1])]);
    const zeros = e.one('ConstantOfShape', [e.one('Shape', [flatX])], { value: new Tensor(Float32Array.of(0), [1]) });
    const scat = e.one('ScatterElements', [zeros, e.one('Reshape', [idx, e.ints([-1])]), e.one('Reshape', [g, e.ints([-1])])], { axis: 0, reduction: 'add' });
    this.add(target, e.one('Reshape', [scat, e.one('Shape', [x])]));
  }

  emittedNodes(): INodeProto[] {
    return this.e.nodes;
  }

  emittedInits(): Map<string, Tensor<TensorData>> {
    return this.e.inits;
  }

  identity(from: string, to: string): void {
    this.e.claim(to);
    this.e.node('Identity', [from], {}, [to]);
  }
}

export interface PreparedModel {
  graph: IrGraph;
  numClasses: number;
}

/** Imports and prepares a model once (shape checks, unsupported ops raise here). */
export function prepareModel(modelBytes: Uint8Array, source?: string): PreparedModel {
  const g = prepareGraph(importModel(modelBytes, source));
  const shapes = inferShapes(g, 2);
  const os = shapes.get(g.output);
  if (!os || os.length !== 2) {
    throw new WhiteBoxError('INVALID_MODEL', `the model${source ? ` ${source}` : ''} must output logits of shape [N, numClasses]; output '${g.output}' has shape [${os?.join(', ') ?? '?'}]`, { file: source });
  }
  return { graph: g, numClasses: os[1]! };
}

/** Builds the gradient graph from a prepared model. */
export function gradientGraphFromPrepared(p: PreparedModel, options: GradientGraphOptions = {}): Uint8Array {
  const rule = options.rule ?? 'gradient';
  if (!RELU_RULES.includes(rule)) throw new WhiteBoxError('INVALID_ARGUMENT', `unknown rule '${rule}' (known: ${RELU_RULES.join(', ')})`);
  const layers = [...new Set(options.layers ?? [])];
  const inputGradient = options.inputGradient ?? true;
  const full = p.graph;
  const produced = new Set(full.nodes.flatMap((nd) => nd.outputs));
  for (const l of layers) {
    if (!produced.has(l)) {
      const cands = full.nodes.map((nd) => nd.outputs[0]!).slice(0, 30);
      throw new WhiteBoxError('INVALID_ARGUMENT', `layer '${l}' is not a tensor of the model (after BatchNorm folding); candidates: ${cands.join(', ')}`, { layer: l });
    }
  }
  const sources = [...(inputGradient ? [full.input.name] : []), ...layers];
  if (sources.length === 0) throw new WhiteBoxError('INVALID_ARGUMENT', 'nothing to differentiate: inputGradient is false and no layers were requested');
  const g = pruneGraph(full, [full.output, ...layers]);
  const gb = new GradBuilder(g, rule, layers, options.maxPoolBackward ?? 'auto');
  const grads = gb.run(sources);
  const outputs: { name: string; dims: (number | string)[] }[] = [];
  const batch = g.input.dims[0]!;
  const layerShapes = inferShapes(g, 2);
  if (g.output !== 'logits') gb.identity(g.output, 'logits');
  outputs.push({ name: 'logits', dims: [batch, p.numClasses] });
  if (inputGradient) {
    gb.identity(grads.get(g.input.name)!, 'input_grad');
    outputs.push({ name: 'input_grad', dims: g.input.dims });
  }
  for (const l of layers) {
    const dims = [batch, ...layerShapes.get(l)!.slice(1)];
    gb.identity(l, `${l}:activation`);
    gb.identity(grads.get(l)!, `${l}:grad`);
    outputs.push({ name: `${l}:activation`, dims }, { name: `${l}:grad`, dims });
  }
  const inits = new Map([...g.inits, ...gb.emittedInits()]);
  return graphToModelBytes({
    name: `${g.name}_grad_${rule}`,
    node: [...nodesToProto(gb.forward), ...gb.emittedNodes()],
    initializer: initsToProto(inits),
    input: [makeValueInfo(g.input.name, g.input.dims), makeValueInfo('cotangent', [batch, p.numClasses], DataType.FLOAT)],
    output: outputs.map((o) => makeValueInfo(o.name, o.dims)),
  }, { opset: Math.max(17, g.sourceOpset), producer: 'whitebox' });
}

/**
 * The exported gradient graph of an ONNX classifier: inputs [<model input>, 'cotangent' [N, numClasses]], outputs
 * 'logits', 'input_grad' (unless `inputGradient: false`) and `<layer>:activation` / `<layer>:grad` per requested layer.
 * Uses only standard ONNX operators (opset 17). A model that ends in Softmax is differentiated at its pre-softmax logits.
 */
export function buildGradientGraph(modelBytes: Uint8Array, options: GradientGraphOptions = {}, source?: string): Uint8Array {
  return gradientGraphFromPrepared(prepareModel(modelBytes, source), options);
}
