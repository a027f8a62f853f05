// Long-lived child process of startWorker: runs exported functions on request, one at a time, keeping module state
// (loaded models, sessions) between calls; every reply carries the process's peak RSS.
process.on('message', async (msg: { id: number; moduleUrl: string; exportName: string; args: unknown }) => {
  try {
    const mod = (await import(msg.moduleUrl)) as Record<string, (a: unknown) => Promise<unknown>>;
    const fn = mod[msg.exportName];
    if (!fn) throw new Error(`${msg.moduleUrl} has no export ${msg.exportName}`);
    const result = await fn(msg.args);
    process.send!({ id: msg.id, ok: true, result, maxRssKiB: process.resourceUsage().maxRSS });
  } catch (err) {
    process.send!({ id: msg.id, ok: false, error: (err as Error).stack ?? String(err), maxRssKiB: process.resourceUsage().maxRSS });
  }
});
