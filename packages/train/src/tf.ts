import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { WhiteBoxError } from '@whitebox/core';
import { registerWasmTrainingKernels } from './kernels.js';

export { tf };

let ready: Promise<typeof tf> | null = null;

/** Directory of the tfjs wasm binaries (the package's dist/), resolved for Node. */
export function wasmDir(): string {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
}

/**
 * Initializes tfjs on the WebAssembly backend (SIMD, single thread in Node) with WhiteBox's training kernels
 * registered. Idempotent.
 */
export function initTf(): Promise<typeof tf> {
  if (!ready) {
    ready = (async () => {
      const dir = wasmDir() + '/';
      setWasmPaths({
        'tfjs-backend-wasm.wasm': join(dir, 'tfjs-backend-wasm.wasm'),
        'tfjs-backend-wasm-simd.wasm': join(dir, 'tfjs-backend-wasm-simd.wasm'),
        'tfjs-backend-wasm-threaded-simd.wasm': join(dir, 'tfjs-backend-wasm-threaded-simd.wasm'),
      });
      registerWasmTrainingKernels();
      const ok = await tf.setBackend('wasm');
      if (!ok) throw new WhiteBoxError('BACKEND_UNAVAILABLE', `tfjs wasm backend failed to initialize (wasm files in ${dir})`);
      await tf.ready();
      return tf;
    })();
    ready.catch(() => {
      ready = null;
    });
  }
  return ready;
}
