// Explain a PNG with Grad-CAM on onnxruntime-node and write the map as a heat-map overlay PNG.
//   node explain.mjs <model.onnx> <input.png> <overlay.png> [class]
// The model: any ONNX image classifier taking NCHW float32 pixels in [0, 1] (normalization inside the graph).
import { readFileSync, writeFileSync } from 'node:fs';
import '@whitebox/backend-node'; // registers the 'node' backend (onnxruntime-node, CPU)
import { loadModel } from '@whitebox/onnx'; // reads the ONNX model and derives its gradient graph
import { GradCam } from '@whitebox/grad-cam';
import { Tensor } from '@whitebox/core'; // the tensor type (a dependency of every WhiteBox package)
import pngjs from 'pngjs';

const [modelPath, inputPath, outPath, target] = process.argv.slice(2);
if (!modelPath || !inputPath || !outPath) {
  console.error('usage: node explain.mjs <model.onnx> <input.png> <overlay.png> [class]');
  process.exit(2);
}

const model = await loadModel(modelPath, { threads: 1 });
const [, channels, height, width] = model.inputShape;

// PNG -> [1, C, H, W] in [0, 1], nearest-neighbour resized to the model's input.
const png = pngjs.PNG.sync.read(readFileSync(inputPath));
const pixels = new Float32Array(channels * height * width);
for (let y = 0; y < height; y++) {
  for (let x = 0; x < width; x++) {
    const sx = Math.floor((x * png.width) / width), sy = Math.floor((y * png.height) / height);
    const o = (sy * png.width + sx) * 4;
    for (let c = 0; c < channels; c++) {
      // one channel: the mean of R, G and B
      const v = channels === 1 ? (png.data[o] + png.data[o + 1] + png.data[o + 2]) / 3 : png.data[o + c];
      pixels[(c * height + y) * width + x] = v / 255;
    }
  }
}
const input = new Tensor(pixels, [1, channels, height, width]);

const { predictions, probabilities } = await model.forward(input);
const cls = target === undefined ? predictions[0] : Number(target);
// Grad-CAM at the model's default layer (the last conv block), upsampled to the input and scaled to [0, 1].
const cam = await new GradCam(model).attribute(input, cls);

// Overlay at the PNG's own size: the map (nearest) through a blue-red ramp, blended at alpha 0.5.
const out = new pngjs.PNG({ width: png.width, height: png.height });
for (let y = 0; y < png.height; y++) {
  for (let x = 0; x < png.width; x++) {
    const m = cam.data[Math.floor((y * height) / png.height) * width + Math.floor((x * width) / png.width)];
    const heat = [255 * Math.min(1, 2 * m), 255 * (1 - Math.abs(2 * m - 1)), 255 * Math.min(1, 2 * (1 - m))];
    const o = (y * png.width + x) * 4;
    for (let c = 0; c < 3; c++) out.data[o + c] = Math.round(0.5 * png.data[o + c] + 0.5 * heat[c]);
    out.data[o + 3] = 255;
  }
}
writeFileSync(outPath, pngjs.PNG.sync.write(out));

let max = 0, sum = 0;
for (const v of cam.data) { max = Math.max(max, v); sum += v; }
console.log(JSON.stringify({
  model: modelPath, input: inputPath, overlay: outPath, class: cls,
  probability: probabilities.data[cls], mapDims: cam.dims, mapMax: max, mapMean: sum / cam.size,
  layer: model.defaultCamLayer,
}));
await model.dispose();
