import { initTf, tf, gemm } from '@whitebox/train';
await initTf();
const t = (name, f) => { for (let i = 0; i < 2; i++) tf.tidy(() => { f(); }); const t0 = performance.now(); for (let i = 0; i < 4; i++) tf.tidy(() => { f().dataSync(); }); console.log(name, ((performance.now() - t0) / 4).toFixed(1), 'ms'); };
function patchesGrad(x, dy) {
  const [n, h, w, ci] = x.shape; const co = dy.shape[3];
  const xp = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]);
  const parts = [];
  for (let kh = 0; kh < 3; kh++) for (let kw = 0; kw < 3; kw++) parts.push(tf.slice(xp, [0, kh, kw, 0], [n, h, w, ci]));
  const patches = tf.reshape(tf.concat(parts, 3), [n * h * w, 9 * ci]);
  const dyT = tf.transpose(tf.reshape(dy, [n * h * w, co]));
  const r = gemm(dyT, patches); // [co, 9ci]
  return tf.reshape(tf.transpose(r), [3, 3, ci, co]);
}
for (const [h, ci, co] of [[28, 1, 32], [14, 32, 64], [7, 64, 128], [32, 3, 32], [16, 32, 64], [8, 64, 128]]) {
  const x = tf.randomNormal([128, h, h, ci]); const dy = tf.randomNormal([128, h, h, co]);
  const a = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: [1, 1], pad: 1, dataFormat: 'NHWC', filterShape: [3, 3, ci, co] });
  const b = patchesGrad(x, dy);
  const diff = tf.max(tf.abs(tf.sub(a, b))).dataSync()[0];
  t(`${h}x${ci}->${co} conv-form`, () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: [1, 1], pad: 1, dataFormat: 'NHWC', filterShape: [3, 3, ci, co] }));
  t(`${h}x${ci}->${co} patches  (diff ${diff.toExponential(1)})`, () => patchesGrad(x, dy));
}
