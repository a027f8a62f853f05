// The page's side of the worker protocol: promises for requests, callbacks for maps and progress.
import type { Device } from '@whitebox/core';
import type { ExplainOptions, ExplainTask, MapResult, MethodId, ModelInfo, PredictResult, Request, Response, ShippedModel, WorkerErrorInfo, Ensemble } from './protocol.js';

export class WorkerError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

type Pending = {
  resolve(v: unknown): void;
  reject(e: Error): void;
  onMap?: (m: MapResult) => void;
  onMapError?: (method: MethodId, ensemble: Ensemble, e: WorkerErrorInfo) => void;
  onProgress?: (done: number, total: number, stage?: string) => void;
};

type Omit2<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export class ExplainerClient {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor() {
    this.worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
    this.worker.onmessage = (ev: MessageEvent<Response>) => this.receive(ev.data);
    this.worker.onerror = (ev) => {
      const err = new WorkerError('RUNTIME_ERROR', `the explanation worker failed: ${ev.message || 'unknown error'}`);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
  }

  private receive(msg: Response): void {
    const p = this.pending.get(msg.id);
    if (!p) return;
    switch (msg.type) {
      case 'done':
        this.pending.delete(msg.id);
        p.resolve(msg.result);
        break;
      case 'error':
        this.pending.delete(msg.id);
        p.reject(new WorkerError(msg.error.code, msg.error.message));
        break;
      case 'progress':
        p.onProgress?.(msg.done, msg.total, msg.stage);
        break;
      case 'map':
        p.onMap?.(msg.map);
        break;
      case 'map-error':
        p.onMapError?.(msg.method, msg.ensemble, msg.error);
        break;
    }
  }

  private send<T>(req: Omit2<Request, 'id'>, extra: Partial<Pending> = {}, transfer: Transferable[] = []): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, ...extra });
      this.worker.postMessage({ ...req, id }, transfer);
    });
  }

  load(model: ShippedModel, device: Device): Promise<ModelInfo> {
    return this.send({ type: 'load', model, device });
  }

  loadCustom(bytes: ArrayBuffer, fileName: string, device: Device): Promise<ModelInfo> {
    return this.send({ type: 'load-custom', bytes, fileName, device }, {}, [bytes]);
  }

  predict(modelKey: string, device: Device, pixels: Float32Array): Promise<PredictResult> {
    return this.send({ type: 'predict', modelKey, device, pixels: pixels.slice() });
  }

  explain(
    args: { modelKey: string; device: Device; pixels: Float32Array; target: number | null; tasks: ExplainTask[]; options: ExplainOptions },
    on: Pick<Pending, 'onMap' | 'onMapError' | 'onProgress'>,
  ): Promise<{ cancelled: boolean }> {
    return this.send({ type: 'explain', ...args, pixels: args.pixels.slice() }, on);
  }

  cancel(): Promise<void> {
    return this.send({ type: 'cancel' });
  }
}
