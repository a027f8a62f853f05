// Integrated Gradients for an ONNX classifier, in the browser: onnxruntime-web (WebAssembly) through
// @whitebox/backend-web, the model loaded (and its gradient graph derived) by @whitebox/onnx.
import '@whitebox/backend-web'; // registers the 'web' backend
import { loadModel } from '@whitebox/onnx';
import { IntegratedGradients } from '@whitebox/integrated-gradients';
import { Tensor } from '@whitebox/core';

const status = document.getElementById('status');
const show = (id, values, w, h, color) => {
  const canvas = document.getElementById(id);
  const small = new ImageData(w, h);
  for (let i = 0; i < w * h; i++) small.data.set([...color(values[i]), 255], i * 4);
  const tmp = new OffscreenCanvas(w, h);
  tmp.getContext('2d').putImageData(small, 0, 0);
  const ctx = canvas.getContext('2d');
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(tmp, 0, 0, canvas.width, canvas.height);
};

try {
  // public/model.onnx: any ONNX image classifier taking NCHW float32 pixels in [0, 1].
  const bytes = new Uint8Array(await (await fetch('./model.onnx')).arrayBuffer());
  const model = await loadModel(bytes, { backend: 'web', device: 'wasm', threads: 1 });
  const [, c, h, w] = model.inputShape;

  // The input: a digit "7" drawn on a canvas (white on black, as MNIST).
  const draw = new OffscreenCanvas(w, h).getContext('2d');
  draw.fillStyle = 'black';
  draw.fillRect(0, 0, w, h);
  draw.strokeStyle = 'white';
  draw.lineWidth = Math.max(2, w / 10);
  draw.beginPath();
  draw.moveTo(w * 0.25, h * 0.25);
  draw.lineTo(w * 0.75, h * 0.25);
  draw.lineTo(w * 0.45, h * 0.8);
  draw.stroke();
  const rgba = draw.getImageData(0, 0, w, h).data;
  const pixels = new Float32Array(c * h * w);
  for (let ch = 0; ch < c; ch++) for (let i = 0; i < h * w; i++) pixels[ch * h * w + i] = rgba[i * 4 + Math.min(ch, 2)] / 255;
  const input = new Tensor(pixels, [1, c, h, w]);

  const { predictions, probabilities } = await model.forward(input);
  const target = predictions[0];
  const ig = new IntegratedGradients(model);
  const { attributions, delta } = await ig.attributeWithDelta(input, target, { steps: 32 });

  // Show the input and |attribution| summed over channels.
  const map = new Float32Array(h * w);
  for (let ch = 0; ch < c; ch++) for (let i = 0; i < h * w; i++) map[i] += Math.abs(attributions.data[ch * h * w + i]);
  const max = Math.max(...map) || 1;
  show('input', pixels, w, h, (v) => [255 * v, 255 * v, 255 * v]);
  show('map', map, w, h, (v) => [255 * Math.min(1, (2 * v) / max), 255 * Math.max(0, (2 * v) / max - 1), 0]);

  let sum = 0;
  for (const v of attributions.data) sum += v;
  status.textContent = `class ${target} (p = ${probabilities.data[target].toFixed(3)}); completeness gap ${delta[0].toExponential(2)}`;
  window.__whitebox = { ok: true, target, probability: probabilities.data[target], dims: attributions.dims, sum, delta: delta[0], nonzero: map.filter((v) => v > 0).length, backend: model.backendName, device: model.executionProvider };
  await model.dispose();
} catch (err) {
  status.textContent = `failed: ${err?.message ?? err}`;
  window.__whitebox = { ok: false, error: String(err?.stack ?? err) };
}
