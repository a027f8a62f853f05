import type { Device } from '@whitebox/core';
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { ExplainerClient } from './client.js';
import { DrawingPad, PixelCanvas, ProbabilityBars, Slider } from './components.js';
import { EvaluationView } from './evaluation.js';
import { type InputImage, InputError, type SampleSet, adaptPixels, frameDigit, imageFileToPixels, rgbaToPixels, samplePixels } from './image.js';
import {
  type Baseline, CAM_METHOD_IDS, ENSEMBLE_LABELS, type Ensemble, type ExplainOptions, METHOD_IDS, METHOD_LABELS, type MapResult, type MethodId, type ModelInfo,
  type PredictResult, type ShippedModel,
} from './protocol.js';
import { COLORMAPS, type ColormapName, DIVERGING, mapToRgba, pixelsToRgba } from './render.js';

type ModelChoice = ShippedModel | 'custom';
// receivedAt: performance.now() when the page got the map (the measurement script reads it).
type Cell = { map?: MapResult; error?: string; receivedAt?: number };
const ENSEMBLES: Ensemble[] = ['smoothgrad', 'smoothgrad-squared', 'vargrad'];
const MAX_ONNX_BYTES = 200 * 2 ** 20;

let sharedClient: ExplainerClient | undefined;
/** One worker for the page (models and gradient graphs are cached there). */
const getClient = () => (sharedClient ??= new ExplainerClient());

/** WebGPU is usable when the browser has navigator.gpu *and* hands out an adapter (headless or blocklisted GPUs do not). */
async function webGpuStatus(): Promise<string | null> {
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (!gpu) return 'this browser has no WebGPU (navigator.gpu)';
  try {
    return (await gpu.requestAdapter()) ? null : 'WebGPU is present but no GPU adapter is available';
  } catch (e) {
    return `WebGPU adapter request failed: ${(e as Error).message}`;
  }
}

export function App() {
  const [tab, setTab] = useState<'explain' | 'evaluation'>('explain');
  return (
    <div className="app">
      <header>
        <h1>WhiteBox</h1>
        <p className="tagline">Why did the classifier decide that? Fifteen saliency methods, live in your browser.</p>
        <nav>
          <button type="button" className={tab === 'explain' ? 'active' : ''} onClick={() => setTab('explain')} data-testid="tab-explain">Explain</button>
          <button type="button" className={tab === 'evaluation' ? 'active' : ''} onClick={() => setTab('evaluation')} data-testid="tab-evaluation">Evaluation</button>
        </nav>
      </header>
      {/* Both views stay mounted so switching tabs keeps the loaded model and maps. */}
      <div hidden={tab !== 'explain'}><ExplainView /></div>
      <div hidden={tab !== 'evaluation'}><EvaluationView /></div>
    </div>
  );
}

function ExplainView() {
  const client = getClient();
  const [device, setDevice] = useState<Device>('wasm');
  const [choice, setChoice] = useState<ModelChoice>('mnist');
  const [customFile, setCustomFile] = useState<File | null>(null);
  const [info, setInfo] = useState<ModelInfo | null>(null);
  const [loading, setLoading] = useState<string | null>('Loading the model…');
  const [modelError, setModelError] = useState<string | null>(null);
  const [inputError, setInputError] = useState<string | null>(null);
  const [samples, setSamples] = useState<Record<string, SampleSet>>({});
  const [input, setInput] = useState<InputImage | null>(null);
  const [prediction, setPrediction] = useState<PredictResult | null>(null);
  // The input the prediction belongs to: until the new input's prediction arrives, nothing is explained with the old one's class.
  const [predictedFor, setPredictedFor] = useState<InputImage | null>(null);
  const [target, setTarget] = useState<number | null>(null); // null: the predicted class
  const [options, setOptions] = useState<ExplainOptions>({ igSteps: 32, igBaseline: 'black', sgSigma: 0.15, sgSamples: 16, camLayer: undefined });
  const [ensembles, setEnsembles] = useState<Ensemble[]>([]);
  const [cmap, setCmap] = useState<ColormapName>('inferno');
  const [overlay, setOverlay] = useState(0.8);
  const [cells, setCells] = useState<Record<string, Cell>>({});
  const [progress, setProgress] = useState<{ done: number; total: number; stage?: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const [webGpuMissing, setWebGpuMissing] = useState<string | null>('checking for WebGPU…');
  useEffect(() => void webGpuStatus().then(setWebGpuMissing), []);
  const explainSeq = useRef(0);

  // Bundled sample images.
  useEffect(() => {
    for (const name of ['mnist', 'cifar10']) {
      fetch(`${import.meta.env.BASE_URL}samples/${name}.json`)
        .then((r) => (r.ok ? r.json() : Promise.reject(new Error(`HTTP ${r.status}`))))
        .then((s: SampleSet) => setSamples((old) => ({ ...old, [name]: s })))
        .catch((e) => setInputError(`could not load the bundled ${name} samples: ${(e as Error).message}`));
    }
  }, []);

  // (Re)load the model when the choice or the device changes; the worker caches loaded models.
  useEffect(() => {
    let stale = false;
    setModelError(null);
    setCells({});
    setPrediction(null);
    if (choice === 'custom' && !customFile) {
      setLoading(null);
      return;
    }
    void client.cancel(); // stop maps of the previous model at the next method boundary
    setLoading(choice === 'custom' ? `Loading ${customFile!.name} and building its gradient graphs…` : `Loading the ${choice === 'mnist' ? 'MNIST' : 'CIFAR-10'} model on ${device === 'wasm' ? 'WebAssembly' : 'WebGPU'}…`);
    const load = async (): Promise<ModelInfo> => {
      if (choice !== 'custom') return client.load(choice, device);
      const f = customFile!;
      if (f.size > MAX_ONNX_BYTES) throw new Error(`${f.name} is ${(f.size / 2 ** 20).toFixed(0)} MB: models up to ${MAX_ONNX_BYTES / 2 ** 20} MB are accepted`);
      return client.loadCustom(await f.arrayBuffer(), f.name, device);
    };
    load()
      .then((m) => {
        if (stale) return;
        setInfo((old) => {
          if (!old || old.channels !== m.channels || old.height !== m.height || old.width !== m.width || old.key !== m.key) setInput(null);
          return m;
        });
        setOptions((o) => ({ ...o, camLayer: m.defaultCamLayer ?? m.layers.at(-1)?.name }));
        setTarget(null);
      })
      .catch((e: Error) => {
        if (stale) return;
        setModelError(e.message);
        if (choice === 'custom') setInfo(null);
      })
      .finally(() => !stale && setLoading(null));
    return () => {
      stale = true;
    };
  }, [client, choice, customFile, device]);

  const sampleSet = info ? samples[info.channels === 1 ? 'mnist' : 'cifar10'] : undefined;

  // Pick the first sample when a model is ready and there is no input yet.
  useEffect(() => {
    if (info && !input && sampleSet) pickSample(0);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [info, input, sampleSet]);

  function pickSample(i: number) {
    if (!info || !sampleSet) return;
    const s = sampleSet.images[i]!;
    setInputError(null);
    setTarget(null);
    setInput({
      pixels: samplePixels(sampleSet, i, info.channels, info.height, info.width),
      source: `${sampleSet.dataset === 'mnist' ? 'MNIST' : 'CIFAR-10'} test image #${s.index}${info.key === sampleSet.dataset ? '' : ` (a ${sampleSet.classes[s.label]})`}`,
      label: info.key === sampleSet.dataset ? s.label : undefined,
      sample: i,
    });
  }

  async function onUpload(file: File) {
    if (!info) return;
    setInputError(null);
    try {
      const img = await imageFileToPixels(file, info.channels, info.height, info.width, info.key === 'mnist');
      setTarget(null);
      setInput(img);
    } catch (e) {
      setInputError(e instanceof InputError ? e.message : `could not read ${file.name}: ${(e as Error).message}`);
    }
  }

  function onDrawn(canvas: HTMLCanvasElement) {
    if (!info) return;
    const ctx = canvas.getContext('2d')!;
    const rgba = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    const gray = rgbaToPixels(rgba, 1, canvas.height, canvas.width);
    const framed = frameDigit(gray, canvas.height, canvas.width, info.height, info.width);
    setInputError(null);
    setTarget(null);
    setInput({ pixels: adaptPixels(framed, 1, info.height, info.width, info.channels, info.height, info.width), source: 'your drawing' });
  }

  // Predict when the input changes (a layout effect: the request leaves before the browser paints the new input).
  useLayoutEffect(() => {
    if (!info || !input) return;
    let stale = false;
    setPrediction(null);
    client
      .predict(info.key, device, input.pixels)
      .then((p) => {
        if (!stale) {
          setPrediction(p);
          setPredictedFor(input);
        }
      })
      .catch((e: Error) => !stale && setInputError(`prediction failed: ${e.message}`));
    return () => {
      stale = true;
    };
  }, [client, info, input, device]);

  const effectiveTarget = target ?? (prediction && predictedFor === input ? prediction.predicted : null);

  // Explain (all seven methods, plus each enabled ensemble) when anything that matters changes.
  const explain = useCallback(() => {
    if (!info || !input) return;
    const seq = ++explainSeq.current;
    // The plain gradient methods, then the CAM family (plain only), then each enabled ensemble of the gradient methods.
    const tasks = [
      ...METHOD_IDS.map((method) => ({ method, ensemble: 'none' as Ensemble })),
      ...CAM_METHOD_IDS.map((method) => ({ method, ensemble: 'none' as Ensemble })),
      ...ensembles.flatMap((ensemble) => METHOD_IDS.map((method) => ({ method, ensemble }))),
    ];
    setCells({});
    setBusy(true);
    setProgress({ done: 0, total: tasks.length });
    client
      .explain(
        { modelKey: info.key, device, pixels: input.pixels, target, tasks, options },
        {
          onMap: (map) => seq === explainSeq.current && setCells((c) => ({ ...c, [`${map.ensemble}:${map.method}`]: { map, receivedAt: performance.now() } })),
          onMapError: (method, ensemble, error) => seq === explainSeq.current && setCells((c) => ({ ...c, [`${ensemble}:${method}`]: { error: error.message } })),
          onProgress: (done, total, stage) => seq === explainSeq.current && setProgress({ done, total, stage }),
        },
      )
      .catch((e: Error) => seq === explainSeq.current && setInputError(`explanation failed: ${e.message}`))
      .finally(() => {
        if (seq === explainSeq.current) {
          setBusy(false);
          setProgress(null);
        }
      });
  }, [client, info, input, target, ensembles, options, device]);

  // Slider drags (option changes) are debounced; a new image, target, model or device is explained at once.
  const explainedOptions = useRef(options);
  useLayoutEffect(() => {
    setCells({}); // maps of other settings must not linger as if they were these
    const delay = explainedOptions.current === options ? 0 : 150;
    explainedOptions.current = options;
    if (delay === 0) {
      explain();
      return undefined;
    }
    const t = setTimeout(explain, delay);
    return () => clearTimeout(t);
  }, [explain, options]);

  // What the page computed, for tests and curious visitors (window.__whitebox in the console).
  useEffect(() => {
    (window as unknown as { __whitebox: unknown }).__whitebox = { info, input, prediction, target: effectiveTarget, options, cells, device };
  }, [info, input, prediction, effectiveTarget, options, cells, device]);

  const inputRgba = useMemo(() => (info && input ? pixelsToRgba(input.pixels, info.channels, info.height, info.width) : null), [info, input]);
  const rows: Ensemble[] = ['none', ...ensembles];
  const pending = rows.length * METHOD_IDS.length + CAM_METHOD_IDS.length - Object.keys(cells).length;
  // 'ready' means: every map on screen belongs to the current input, target and settings.
  const status = loading ? 'loading' : !info || !input ? 'idle' : busy || !prediction || pending > 0 ? 'explaining' : 'ready';

  return (
    <main className="explain">
      <section className="panel controls">
        <h2>Model</h2>
        <div className="choices" role="radiogroup">
          {(['mnist', 'cifar10', 'custom'] as ModelChoice[]).map((c) => (
            <label key={c}>
              <input type="radio" name="model" checked={choice === c} onChange={() => setChoice(c)} data-testid={`model-${c}`} />
              {c === 'mnist' ? 'MNIST' : c === 'cifar10' ? 'CIFAR-10' : 'Your ONNX model'}
            </label>
          ))}
        </div>
        {choice === 'custom' && (
          <label className="file">
            ONNX image classifier (.onnx):
            <input
              type="file"
              accept=".onnx,application/octet-stream"
              data-testid="onnx-upload"
              onChange={(e) => {
                const f = e.target.files?.[0];
                if (f) setCustomFile(f);
                e.target.value = '';
              }}
            />
            {!customFile && <small className="hint"> An image classifier taking [N, 1 or 3, H, W] pixels in [0, 1]; until you pick one, the previous model stays loaded.</small>}
          </label>
        )}
        {info && !modelError && (
          <p className={`model-note ${info.shipped ? '' : 'warning'}`} data-testid="model-note">
            <b>{info.title}</b> — input {info.channels}×{info.height}×{info.width}, {info.numClasses} classes, on {info.executionProvider}, loaded in {info.loadMs.toFixed(0)} ms.
            {info.note && <><br />{info.note}</>}
          </p>
        )}
        {loading && <p className="loading" data-testid="loading">{loading}</p>}
        {modelError && <p className="error" role="alert" data-testid="model-error">{modelError}</p>}

        <h2>Backend</h2>
        <div className="choices">
          <label><input type="radio" name="device" checked={device === 'wasm'} onChange={() => setDevice('wasm')} data-testid="device-wasm" /> WebAssembly</label>
          <label title={webGpuMissing ?? ''}>
            <input type="radio" name="device" checked={device === 'webgpu'} disabled={!!webGpuMissing} onChange={() => setDevice('webgpu')} data-testid="device-webgpu" /> WebGPU
          </label>
        </div>
        {webGpuMissing && <p className="hint" data-testid="webgpu-missing">{webGpuMissing}</p>}
        <div>
        </div>

        <h2>Methods</h2>
        <Slider label="IG steps" min={4} max={128} step={4} value={options.igSteps} onChange={(v) => setOptions({ ...options, igSteps: v })} testId="ig-steps" />
        <label className="select">
          <span>IG baseline</span>
          <select value={options.igBaseline} onChange={(e) => setOptions({ ...options, igBaseline: e.target.value as Baseline })} data-testid="ig-baseline">
            <option value="black">black (zeros)</option>
            <option value="white">white (ones)</option>
            <option value="gray">gray (0.5)</option>
            <option value="noise">uniform noise</option>
          </select>
        </label>
        <label className="select">
          <span>CAM layer</span>
          <select value={options.camLayer ?? ''} onChange={(e) => setOptions({ ...options, camLayer: e.target.value })} data-testid="cam-layer">
            {(info?.layers ?? []).filter((l) => l.shape.length === 4).map((l) => (
              <option key={l.name} value={l.name}>{l.name} ({l.op}{l.name === info?.defaultCamLayer ? ', default' : ''})</option>
            ))}
          </select>
        </label>
        <div className="choices">
          {ENSEMBLES.map((e) => (
            <label key={e}>
              <input type="checkbox" checked={ensembles.includes(e)} data-testid={`ensemble-${e}`}
                onChange={(ev) => setEnsembles(ev.target.checked ? ENSEMBLES.filter((x) => x === e || ensembles.includes(x)) : ensembles.filter((x) => x !== e))} />
              {ENSEMBLE_LABELS[e]}
            </label>
          ))}
        </div>
        <Slider label="SmoothGrad σ" min={0.01} max={0.5} step={0.01} value={options.sgSigma} onChange={(v) => setOptions({ ...options, sgSigma: v })} format={(v) => v.toFixed(2)} testId="sg-sigma" />
        <Slider label="SmoothGrad samples" min={2} max={64} step={2} value={options.sgSamples} onChange={(v) => setOptions({ ...options, sgSamples: v })} testId="sg-samples" />

        <h2>Display</h2>
        <label className="select">
          <span>Colormap</span>
          <select value={cmap} onChange={(e) => setCmap(e.target.value as ColormapName)} data-testid="colormap">
            {COLORMAPS.map((c) => <option key={c} value={c}>{c}{DIVERGING.has(c) ? ' (signed)' : ''}</option>)}
          </select>
        </label>
        <Slider label="Overlay strength" min={0} max={1} step={0.05} value={overlay} onChange={setOverlay} format={(v) => v.toFixed(2)} testId="overlay" />
      </section>

      <section className="panel input">
        <h2>Input</h2>
        {info && sampleSet && (
          <div className="gallery" data-testid="gallery">
            {sampleSet.images.map((s, i) => (
              <SampleThumb key={i} set={sampleSet} index={i} selected={input?.sample === i} onPick={() => pickSample(i)} />
            ))}
          </div>
        )}
        <div className="input-row">
          <div>
            <h3>Draw</h3>
            <DrawingPad size={196} onDone={onDrawn} />
          </div>
          <div>
            <h3>Upload an image</h3>
            <input type="file" accept="image/*" data-testid="image-upload" onChange={(e) => {
              const f = e.target.files?.[0];
              if (f) void onUpload(f);
              e.target.value = '';
            }} />
          </div>
        </div>
        {inputError && <p className="error" role="alert" data-testid="input-error">{inputError}</p>}
        {info && input && (
          <div className="prediction">
            <div>
              <PixelCanvas rgba={inputRgba} width={info.width} height={info.height} size={140} testId="input-canvas" />
              <p className="source">{input.source}{input.label !== undefined && <> — true class <b>{info.classes[input.label]}</b></>}{input.note && <><br /><small>{input.note}</small></>}</p>
            </div>
            <div className="probs">
              {prediction ? (
                <>
                  <p data-testid="prediction">
                    Prediction: <b>{info.classes[prediction.predicted]}</b> ({(prediction.probabilities[prediction.predicted]! * 100).toFixed(1)}%)
                    <small> in {prediction.ms.toFixed(1)} ms</small>
                  </p>
                  <ProbabilityBars probabilities={prediction.probabilities} classes={info.classes} predicted={prediction.predicted} target={effectiveTarget ?? -1} onPick={setTarget} />
                  <label className="select">
                    <span>Explain class</span>
                    <select value={target ?? ''} onChange={(e) => setTarget(e.target.value === '' ? null : Number(e.target.value))} data-testid="target">
                      <option value="">predicted ({info.classes[prediction.predicted]})</option>
                      {info.classes.map((c, i) => <option key={i} value={i}>{c}</option>)}
                    </select>
                  </label>
                </>
              ) : (
                <p>Predicting…</p>
              )}
            </div>
          </div>
        )}
      </section>

      <section className="panel maps">
        <h2>
          Explanations {info && effectiveTarget !== null && <>of class <b data-testid="explained-class">{info.classes[effectiveTarget]}</b></>}
          <span className="status" data-testid="status" data-status={status}>{status}</span>
          {status === 'ready' && (
            <small className="total" data-testid="total-time">
              {Object.keys(cells).length} maps in {(Object.values(cells).reduce((a, c) => a + (c.map?.ms ?? 0), 0) / 1000).toFixed(2)} s on {device === 'wasm' ? 'WebAssembly' : 'WebGPU'}
            </small>
          )}
        </h2>
        {progress && (
          <div className="progress" data-testid="progress">
            <progress max={progress.total} value={progress.done} /> {Math.floor(progress.done)}/{progress.total} {progress.stage ? METHOD_LABELS[progress.stage as MethodId] ?? progress.stage : ''}
          </div>
        )}
        {info && input && (
          <table className="map-grid">
            <thead>
              <tr><th />{METHOD_IDS.map((m) => <th key={m}>{METHOD_LABELS[m]}</th>)}</tr>
            </thead>
            <tbody>
              {rows.map((ens) => (
                <tr key={ens}>
                  <th>{ENSEMBLE_LABELS[ens]}</th>
                  {METHOD_IDS.map((m) => {
                    const cell = cells[`${ens}:${m}`];
                    return (
                      <td key={m}>
                        <MapCell cell={cell} info={info} pixels={input.pixels} cmap={cmap} overlay={overlay} testId={`map-${ens}-${m}`} />
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {info && input && (
          <table className="map-grid" data-testid="cam-grid">
            <thead>
              <tr><th />{CAM_METHOD_IDS.map((m) => <th key={m}>{METHOD_LABELS[m]}</th>)}</tr>
            </thead>
            <tbody>
              <tr>
                <th>CAM family</th>
                {CAM_METHOD_IDS.map((m) => (
                  <td key={m}>
                    <MapCell cell={cells[`none:${m}`]} info={info} pixels={input.pixels} cmap={cmap} overlay={overlay} testId={`map-none-${m}`} />
                  </td>
                ))}
              </tr>
            </tbody>
          </table>
        )}
      </section>
    </main>
  );
}

function SampleThumb(props: { set: SampleSet; index: number; selected: boolean; onPick(): void }) {
  const s = props.set.images[props.index]!;
  const rgba = useMemo(() => pixelsToRgba(samplePixels(props.set, props.index, props.set.channels, props.set.height, props.set.width), props.set.channels, props.set.height, props.set.width), [props.set, props.index]);
  return (
    <button type="button" className={props.selected ? 'thumb selected' : 'thumb'} onClick={props.onPick} title={`${props.set.classes[s.label]} (test #${s.index})`} data-testid={`sample-${props.index}`}>
      <PixelCanvas rgba={rgba} width={props.set.width} height={props.set.height} size={36} />
    </button>
  );
}

function MapCell(props: { cell: Cell | undefined; info: ModelInfo; pixels: Float32Array; cmap: ColormapName; overlay: number; testId: string }) {
  const { cell, info } = props;
  const rgba = useMemo(
    () => (cell?.map ? mapToRgba(cell.map, props.pixels, info.channels, info.height, info.width, props.cmap, props.overlay) : null),
    [cell, props.pixels, info, props.cmap, props.overlay],
  );
  if (cell?.error) return <div className="map-error" role="alert" data-testid={`${props.testId}-error`}>{cell.error}</div>;
  return (
    <figure className="map">
      <PixelCanvas rgba={rgba} width={info.width} height={info.height} size={112} testId={props.testId} />
      <figcaption title={cell?.map?.fallback}>{cell?.map ? `${cell.map.ms.toFixed(0)} ms${cell.map.fallback ? ' (wasm)' : ''}` : '…'}</figcaption>
    </figure>
  );
}
