import { initTf, tf, reluMaxPoolBackward, gemm } from '@whitebox/train';
await initTf();
const t = (name, f) => { for (let i = 0; i < 2; i++) tf.tidy(() => f().dataSync()); const t0 = performance.now(); for (let i = 0; i < 5; i++) tf.tidy(() => f().dataSync()); console.log(name, ((performance.now() - t0) / 5).toFixed(1), 'ms'); };
const r = tf.relu(tf.randomNormal([128, 28, 28, 32])); const p = tf.maxPool(r, 2, 2, 'valid'); const dz = tf.randomNormal(p.shape);
for (let k = 0; k < 2; k++) {
t('MaxPoolGrad+step', () => tf.mul(tf.engine().runKernel('MaxPoolGrad', { dy: dz, input: r, output: p }, { filterSize: [2, 2], strides: [2, 2], pad: 'valid' }), tf.step(r)));
t('mask', () => reluMaxPoolBackward(r, p, dz));
t('sum reshape', () => tf.sum(tf.reshape(r, [-1, 32]), 0));
t('sum gemm', () => gemm(tf.ones([1, 128 * 28 * 28]), tf.reshape(r, [-1, 32])));
t('mul', () => tf.mul(r, r));
t('mul bcast', () => tf.mul(r, tf.ones([32])));
}
