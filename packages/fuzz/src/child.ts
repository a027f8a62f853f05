/** The runner's child: runs one JS case (argv[2], JSON) and prints its result after RESULT_MARKER. */
import { executeCase, type FuzzCase } from './cases.js';
import { RESULT_MARKER } from './marker.js';

const c = JSON.parse(process.argv[2]!) as FuzzCase;
const started = Date.now();
executeCase(c)
  .catch((err: unknown) => ({ outcome: 'other-exception' as const, what: 'harness', code: (err as Error)?.name, message: String((err as Error)?.stack ?? err) }))
  .then((r) => {
    const maxRssMb = process.resourceUsage().maxRSS / 1024;
    process.stdout.write(`\n${RESULT_MARKER}${JSON.stringify({ ...r, ms: Date.now() - started, maxRssMb })}\n`, () => process.exit(0));
  });
