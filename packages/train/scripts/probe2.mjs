import { loadMnist } from '@whitebox/datasets';
import { trainSimpleCNN } from '@whitebox/train';
const lr = Number(process.argv[2] ?? 0.01);
const { train } = loadMnist({ trainLimit: 2048 });
await trainSimpleCNN(train, { epochs: 4, batchSize: 64, validationFraction: 0.25, lr, schedule: 'constant', onEpoch: (r) => console.log(JSON.stringify(r)) });
