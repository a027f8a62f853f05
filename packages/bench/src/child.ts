// Child process of runIsolated: runs one exported function, reports result and peak RSS.
process.once('message', async (msg: { moduleUrl: string; exportName: string; args: unknown }) => {
  try {
    const mod = (await import(msg.moduleUrl)) as Record<string, (a: unknown) => Promise<unknown>>;
    const fn = mod[msg.exportName];
    if (!fn) throw new Error(`${msg.moduleUrl} has no export ${msg.exportName}`);
    const result = await fn(msg.args);
    process.send!({ ok: true, result, maxRssKiB: process.resourceUsage().maxRSS });
  } catch (err) {
    process.send!({ ok: false, error: (err as Error).stack ?? String(err), maxRssKiB: process.resourceUsage().maxRSS });
  }
});
