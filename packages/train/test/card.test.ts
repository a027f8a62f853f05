// The shipped model cards say one consistent thing: epochs run, the exported checkpoint's epoch, the curve.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { modelCardMarkdown, type ModelCard } from '@whitebox/train';

const models = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', '..', 'models');
const card = (name: string) => JSON.parse(readFileSync(join(models, `${name}.json`), 'utf8')) as ModelCard;

describe('shipped model cards', () => {
  it('CIFAR-10: 30 epochs run, the best-validation checkpoint of epoch 27 exported, curve of 27; text and fields agree', () => {
    const c = card('cifar10-simplecnn');
    expect(c.training).toMatchObject({ epochs: 27, epochsPlanned: 30, epochsRun: 30, checkpointEpoch: 27, checkpoint: 'best validation accuracy' });
    expect(c.curve).toHaveLength(c.training.checkpointEpoch!);
    expect(c.validation.bestEpoch).toBe(c.training.checkpointEpoch);
    const md = readFileSync(join(models, 'cifar10-simplecnn.md'), 'utf8');
    expect(md).toContain('30 of 30 planned epochs run; exported checkpoint: best validation accuracy, from epoch 27');
    expect(md).not.toMatch(/status: complete: 30 of 30 planned epochs\)/);
  });

  it('each markdown card is exactly what modelCardMarkdown makes of its JSON card', () => {
    for (const name of ['cifar10-simplecnn', 'mnist-simplecnn']) {
      expect(modelCardMarkdown(card(name)), name).toBe(readFileSync(join(models, `${name}.md`), 'utf8'));
    }
  });
});
