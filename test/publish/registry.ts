import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Whether the npm registry answers (the publish tests install from it, and skip what needs it when it does not). */
export async function registryReachable(): Promise<boolean> {
  try {
    await run('npm', ['ping', '--fetch-timeout=10000', '--fetch-retries=0'], { timeout: 30_000 });
    return true;
  } catch {
    return false;
  }
}
