// Model cards (models/<name>.json, written by `whitebox train`; see @whitebox/train's ModelCard), read defensively.

/** One line from a model card (models/<name>.json, written by `whitebox train`: see @whitebox/train's ModelCard). */
export function describeCard(card: Record<string, unknown> | undefined): string {
  if (!card) return '';
  const parts: string[] = [];
  const test = card.test as { accuracy?: unknown; count?: unknown } | undefined;
  if (typeof test?.accuracy === 'number') {
    parts.push(`test accuracy ${(test.accuracy * 100).toFixed(2)}%${typeof test.count === 'number' ? ` on ${test.count.toLocaleString('en-US')} images` : ''}`);
  }
  if (typeof card.status === 'string' && card.status) parts.push(`status: ${card.status}`);
  if (typeof card.parameterCount === 'number') parts.push(`${card.parameterCount.toLocaleString('en-US')} parameters`);
  const norm = card.normalization as { mean?: unknown; std?: unknown } | undefined;
  if (Array.isArray(norm?.mean) && Array.isArray(norm?.std)) {
    const f = (v: unknown[]) => v.map((x) => Number(x).toFixed(3)).join(', ');
    parts.push(`normalization (in the graph) mean [${f(norm.mean)}], std [${f(norm.std)}]`);
  }
  return parts.join(' · ');
}

/** Class names from a model card. */
export function cardClasses(card: Record<string, unknown> | undefined): string[] | undefined {
  const ds = card?.dataset as { classes?: unknown } | undefined;
  const classes = Array.isArray(ds?.classes) ? ds.classes : Array.isArray(card?.classes) ? card.classes : undefined;
  return classes?.map(String);
}
