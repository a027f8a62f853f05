import { Tensor, WhiteBoxError, type ReluRule, type ModelWithExternalData, type TensorData, type WhiteBoxErrorCode, RELU_RULES } from '@whitebox/core';
import { attrToProto, graphToModelBytes, graphToSessionModel, type Attrs, type GraphProtoParts } from './builder.js';
import { consumers, initsToProto, nodesToProto, outputOpset, pruneGraph, type ImportOptions, type IrGraph, type IrNode } from './graph.js';
import { getOp, isFloatType, nodeError, readInt, readInts, readString, type GradContext } from './ops/index.js';
import { prepareModel, type PreparedModel } from './prepare.js';
import { DataType, makeValueInfo, type INodeProto } from './proto.js';
import { GraphShapes } from './shapes.js';

export type { PreparedModel } from './prepare.js';
export { prepareModel } from './prepare.js';

/** Options of gradient-graph export: ReLU rule, layers, input gradient and MaxPool backward. */
export interface GradientGraphOptions {
  /** ReLU backward rule (default 'gradient'). */
  rule?: ReluRule;
  /** Intermediate tensors whose activation and gradient become outputs `<name>:activation`, `<name>:grad`. */
  layers?: readonly string[];
  /** Output `input_grad` (default true); when false the backward pass stops at the deepest needed layer. */
  inputGradient?: boolean;
  /**
   * ReLU rule of the layers' gradients when it differs from `rule` (Guided Grad-CAM: 'guided' input gradient,
   * 'gradient' at the CAM layer): the graph then holds two backward chains sharing one forward pass, the second one
   * stopping at the deepest requested layer. Default: `rule`.
   */
  layerRule?: ReluRule;
  /**
   * MaxPool backward. 'auto' (default, exact: the first maximum of each window gets the gradient, as in MaxPool's
   * Indices and PyTorch): for non-overlapping square windows, first-max indices built from max-pools of the leading
   * window slots + MaxUnpool; else a scatter through MaxPool's Indices output. 'indices': always the scatter. 'mask':
   * faster, but every tied maximum gets the gradient (only used after a ReLU under the 'gradient'/'guided' rules).
   */
  maxPoolBackward?: 'auto' | 'indices' | 'mask';
  /**
   * Emit the backward of 4-D convnets in ops that ONNX Runtime's CPU NCHWc transformer (level 'all') keeps in its
   * blocked layout, so the backward chain is not reordered to NCHW and back around every ReLU: the ReLU mask as
   * 1 − Relu(1 − 2¹²⁷·y) (two BatchNormalizations, which the transformer turns into blocked depthwise convs),
   * GlobalAveragePool's backward as a depthwise Conv that spreads each value over the window (windows of up to 64
   * pixels, such as a classifier's final 7×7; squeeze-excitation pools over larger maps keep the Expand), and an
   * identity depthwise Conv after each ConvTranspose (which has no blocked kernel). Same values: the mask is exactly [y > 0] for
   * y = 0 and every y ≥ 2⁻¹²⁷; only a subnormal ReLU output below 2⁻¹²⁷ (≈ 5.9e-39) gets a fractional mask. Default
   * false; the node backend's CPU sessions at 'all' turn it on (other backends have no NCHWc transformer, and there
   * the compare-and-cast mask is fewer passes).
   */
  blockedLayout?: boolean;
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

  tensor(base: string, t: Tensor<TensorData>): string {
    const name = this.fresh(base);
    this.inits.set(name, t);
    return name;
  }

  cached(key: string, make: () => string): string {
    let n = this.constCache.get(key);
    if (!n) { n = make(); this.constCache.set(key, n); }
    return n;
  }
}

/**
 * Reverse-mode differentiation of a prepared graph. Each op's rule comes from the operator registry (`ops/`); this
 * class holds what every rule shares: which tensors carry gradient, the sum of contributions per tensor, collision-free
 * emission, shapes at run time and broadcasting reductions.
 */
class GradBuilder {
  private readonly e: Emitter;
  private readonly producers = new Map<string, IrNode>();
  private readonly cons: Map<string, IrNode[]>;
  private readonly active = new Set<string>();
  private readonly contribs = new Map<string, string[]>();
  private readonly done = new Set<IrNode>();
  /** Forward nodes, possibly with extra outputs (MaxPool Indices, LayerNormalization statistics). */
  readonly forward: IrNode[];
  readonly opset: number;

  /**
   * `shared` (another builder of the same graph): emit into its node list and reuse its forward nodes, so that a second
   * backward chain (another rule) reads the same forward pass.
   */
  constructor(
    private readonly g: IrGraph,
    private readonly shapes: GraphShapes,
    private readonly rule: ReluRule,
    private readonly layers: readonly string[],
    private readonly maxPoolMode: 'auto' | 'indices' | 'mask',
    private readonly blocked: boolean,
    shared?: GradBuilder,
  ) {
    this.e = shared?.e ?? new Emitter(g);
    this.cons = consumers(g);
    this.forward = shared?.forward ?? g.nodes.map((n) => ({ ...n, outputs: [...n.outputs] }));
    for (const n of this.forward) for (const o of n.outputs) this.producers.set(o, n);
    this.opset = outputOpset(g);
  }

  private isFloat(name: string): boolean {
    const i = this.shapes.a.get(name);
    return !!i && isFloatType(i.dtype);
  }

  private differentiable(n: IrNode, i: number): boolean {
    return !(getOp(n.op)?.nondifferentiable ?? []).includes(i);
  }

  run(sources: readonly string[]): Map<string, string> {
    for (const s of sources) this.active.add(s);
    for (const n of this.forward) {
      if (n.inputs.some((name, i) => this.active.has(name) && this.differentiable(n, i))) {
        for (const o of n.outputs) if (o && this.isFloat(o)) this.active.add(o);
      }
    }
    if (!this.active.has(this.g.output)) {
      throw new WhiteBoxError('INVALID_ARGUMENT', `the model output '${this.g.output}' does not depend on ${sources.map((s) => `'${s}'`).join(', ')}`, { layer: sources[0] });
    }
    this.contribs.set(this.g.output, ['cotangent']);
    for (let i = this.forward.length - 1; i >= 0; i--) {
      const n = this.forward[i]!;
      if (this.done.has(n) || !n.outputs.some((o) => this.active.has(o) && this.contribs.has(o))) continue;
      const schema = getOp(n.op)!;
      if (!schema.backward) {
        throw nodeError(n, this.g, 'UNSUPPORTED_OP', `${n.op} has no gradient rule, and the gradient has to pass through it here`);
      }
      schema.backward(this.context(n));
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
    const s = this.e.node('Sum', c)[0]!;
    this.contribs.set(name, [s]);
    return s;
  }

  private addTo(name: string, grad: string): void {
    if (!this.active.has(name)) return;
    const l = this.contribs.get(name) ?? [];
    l.push(grad);
    this.contribs.set(name, l);
  }

  private scalar(v: number): string {
    return this.e.cached(`f:${v}`, () => this.e.tensor('c', new Tensor(Float32Array.of(v), [])));
  }

  private ints(values: readonly number[]): string {
    return this.e.cached(`i:${values.join(',')}`, () => this.e.tensor('i', new Tensor(BigInt64Array.from(values.map((v) => BigInt(v))), [values.length])));
  }

  private one(op: string, inputs: string[], attrs?: Attrs): string {
    return this.e.node(op, inputs, attrs)[0]!;
  }

  /** The run-time shape of a tensor: a constant when no dim depends on the batch, else one cached Shape node. */
  private shapeOf(name: string): string {
    if (this.shapes.batchDependent(name) === 'none') return this.ints(this.shapes.dims(name));
    return this.e.cached(`shape:${name}`, () => this.one('Shape', [name]));
  }

  /** See GradContext.expandTo. */
  private expandTo(grad: string, gradLike: string, like: string): string {
    const dims = this.shapes.dims(like);
    const dep = this.shapes.batchDependent(like);
    if (dep === 'dim0' && this.shapes.batchDependent(gradLike) === 'dim0') return this.one('Expand', [grad, this.ints([1, ...dims.slice(1)])]);
    return this.one('Expand', [grad, this.shapeOf(like)]);
  }

  /** Reduces a gradient of shape `outDims` over the axes `input` was broadcast along, back to its shape. */
  private unbroadcast(grad: string, outDims: number[], input: string): string {
    const inA = this.shapes.dims(input);
    const inB = this.shapes.b.get(input)!.dims;
    const offset = outDims.length - inA.length;
    const axes: number[] = [];
    for (let i = 0; i < outDims.length; i++) {
      const j = i - offset;
      // Reduce the leading axes, and the axes where the input is a static 1 and the output is not.
      if (j < 0 || (inA[j] === 1 && inB[j] === 1 && outDims[i] !== 1)) axes.push(i);
    }
    if (axes.length === 0) return grad;
    let r = this.one('ReduceSum', [grad, this.ints(axes)], { keepdims: 1 });
    if (offset > 0) r = this.one('Reshape', [r, this.shapeOf(input)]);
    return r;
  }

  /** Reshape to `like`'s shape: static, with the batch copied (0) when both are batch-major, else at run time. */
  private reshapeLike(grad: string, like: string, from?: string): string {
    const dep = this.shapes.batchDependent(like);
    const s = this.shapes.dims(like);
    if (dep === 'none') return this.one('Reshape', [grad, this.ints(s)]);
    if (dep === 'dim0' && (!from || this.shapes.batchDependent(from) === 'dim0')) return this.one('Reshape', [grad, this.ints([0, ...s.slice(1)])]);
    return this.one('Reshape', [grad, this.shapeOf(like)]);
  }

  private context(n: IrNode): GradContext {
    const where = { source: this.g.source };
    const activeInput = (i: number) => !!n.inputs[i] && this.active.has(n.inputs[i]!) && this.differentiable(n, i);
    const self = this;
    return {
      node: n,
      graph: this.g,
      rule: this.rule,
      opset: this.opset,
      layers: this.layers,
      maxPoolBackward: this.maxPoolMode,
      blockedLayout: this.blocked,
      gy: (i = 0) => (n.outputs[i] ? this.total(n.outputs[i]!) : undefined),
      active: activeInput,
      add: (i, grad) => { if (activeInput(i)) this.addTo(n.inputs[i]!, grad); },
      addTo: (t, grad) => this.addTo(t, grad),
      info: (name) => this.shapes.info(name),
      dims: (name) => this.shapes.dims(name),
      batchDependent: (name) => this.shapes.batchDependent(name),
      varies: (name, axis) => this.shapes.varies(name, axis),
      constant: (name) => this.g.inits.get(name),
      producer: (name) => this.producers.get(name),
      consumers: (name) => this.cons.get(name) ?? [],
      markDone: (m) => {
        // The fused node is the original IR node; mark its forward copy.
        const copy = this.forward.find((f) => f.name === m.name) ?? m;
        this.done.add(copy);
      },
      emit: (op, inputs, attrs, outputs) => this.e.node(op, inputs, attrs, outputs),
      one: (op, inputs, attrs) => this.one(op, inputs, attrs),
      scalar: (v) => this.scalar(v),
      vector: (v, length) => this.e.cached(`v:${v}:${length}`, () => this.e.tensor('v', new Tensor(new Float32Array(length).fill(v), [length]))),
      ints: (v) => this.ints(v),
      tensor: (base, t) => this.e.tensor(base, t),
      shapeOf: (name) => this.shapeOf(name),
      expandTo: (grad, gradLike, like) => this.expandTo(grad, gradLike, like),
      unbroadcast: (grad, outDims, input) => this.unbroadcast(grad, outDims, input),
      reshapeLike: (grad, like, from) => this.reshapeLike(grad, like, from),
      fail(code: WhiteBoxErrorCode, message: string, details?: Record<string, unknown>): never {
        throw nodeError(n, where, code, message, details);
      },
      forwardOutput(i, base) {
        if (n.outputs[i]) return n.outputs[i]!;
        while (n.outputs.length < i) n.outputs.push('');
        n.outputs[i] = self.e.fresh(base);
        return n.outputs[i]!;
      },
      int: (name, def) => readInt(n, name, def, where),
      float: (name, def) => readInt(n, name, def, where),
      attrInts: (name) => readInts(n, name, where),
      string: (name, def) => readString(n, name, def, where),
    };
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

  /** Value-info dims of a tensor: numbers where static, a symbolic name where they change with the batch. */
  valueDims(name: string, symbolic: string): (number | string)[] {
    const a = this.shapes.dims(name);
    const b = this.shapes.b.get(name)!.dims;
    return a.map((d, i) => (d === b[i] ? d : i === 0 && this.shapes.batchDependent(name) === 'dim0' ? symbolic : `${symbolic}_${name}_${i}`));
  }
}

/** Builds the gradient graph from a prepared model. */
export function gradientGraphFromPrepared(p: PreparedModel, options: GradientGraphOptions = {}): Uint8Array {
  const { graph, opset } = gradientGraphParts(p, options);
  return graphToModelBytes(graph, { opset, producer: 'whitebox' });
}

/** The gradient graph for a session: bytes, or bytes with external data above `maxInlineBytes` of weights (graphToSessionModel). */
export function gradientSessionModel(p: PreparedModel, options: GradientGraphOptions & { maxInlineBytes?: number; dataFilePrefix?: string } = {}): Uint8Array | ModelWithExternalData {
  const { graph, opset } = gradientGraphParts(p, options);
  return graphToSessionModel(graph, { opset, producer: 'whitebox', maxInlineBytes: options.maxInlineBytes, dataFilePrefix: options.dataFilePrefix });
}

function gradientGraphParts(p: PreparedModel, options: GradientGraphOptions): { graph: GraphProtoParts; opset: number } {
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
    const info = p.shapes.a.get(l);
    if (!info || !isFloatType(info.dtype)) throw new WhiteBoxError('INVALID_ARGUMENT', `layer '${l}' is a ${info?.dtype ?? 'unknown'} tensor; only float tensors have gradients`, { layer: l });
  }
  const layerRule = options.layerRule ?? rule;
  if (!RELU_RULES.includes(layerRule)) throw new WhiteBoxError('INVALID_ARGUMENT', `unknown layerRule '${layerRule}' (known: ${RELU_RULES.join(', ')})`);
  const split = layerRule !== rule && layers.length > 0;
  const sources = [...(inputGradient ? [full.input.name] : []), ...(split ? [] : layers)];
  if (sources.length === 0 && !split) throw new WhiteBoxError('INVALID_ARGUMENT', 'nothing to differentiate: inputGradient is false and no layers were requested');
  const g = pruneGraph(full, [full.output, ...layers]);
  const mode = options.maxPoolBackward ?? 'auto';
  // With two rules, the input chain has no layer outputs (so its ReLU/pool fusions are those of a plain input gradient)
  // and the layers' chain shares the emitter and the forward nodes.
  const blocked = options.blockedLayout ?? false;
  const gb = new GradBuilder(g, p.shapes, rule, split ? [] : layers, mode, blocked);
  const grads = sources.length > 0 ? gb.run(sources) : new Map<string, string>();
  if (split) for (const [k, v] of new GradBuilder(g, p.shapes, layerRule, layers, mode, blocked, gb).run(layers)) grads.set(k, v);
  const outputs: { name: string; dims: (number | string)[] }[] = [];
  const batch = g.input.dims[0]!;
  if (g.output !== 'logits') gb.identity(g.output, 'logits');
  outputs.push({ name: 'logits', dims: [batch, p.numClasses] });
  if (inputGradient) {
    gb.identity(grads.get(g.input.name)!, 'input_grad');
    outputs.push({ name: 'input_grad', dims: g.input.dims });
  }
  for (const l of layers) {
    const dims = gb.valueDims(l, typeof batch === 'string' ? batch : 'N');
    gb.identity(l, `${l}:activation`);
    gb.identity(grads.get(l)!, `${l}:grad`);
    outputs.push({ name: `${l}:activation`, dims }, { name: `${l}:grad`, dims });
  }
  const inits = new Map([...g.inits, ...gb.emittedInits()]);
  const graph: GraphProtoParts = {
    name: `${g.name}_grad_${rule}${split ? `_${layerRule}` : ''}`,
    node: [...nodesToProto(gb.forward), ...gb.emittedNodes()],
    initializer: initsToProto(inits, g.initTypes),
    input: [makeValueInfo(g.input.name, g.input.dims), makeValueInfo('cotangent', [batch, p.numClasses], DataType.FLOAT)],
    output: outputs.map((o) => makeValueInfo(o.name, o.dims)),
  };
  return { graph, opset: gb.opset };
}

/**
 * The exported gradient graph of an ONNX classifier: inputs [<model input>, 'cotangent' [N, numClasses]], outputs
 * 'logits', 'input_grad' (unless `inputGradient: false`) and `<layer>:activation` / `<layer>:grad` per requested layer.
 * Uses only standard ONNX operators (opset ≥ 17). A model that ends in Softmax is differentiated at its pre-softmax
 * logits.
 */
export function buildGradientGraph(modelBytes: Uint8Array, options: GradientGraphOptions & ImportOptions = {}, source?: string): Uint8Array {
  return gradientGraphFromPrepared(prepareModel(modelBytes, source, options), options);
}

export { readInts };
