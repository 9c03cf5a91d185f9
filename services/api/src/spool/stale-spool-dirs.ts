import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Logger } from '@apg/platform';
import { pidAlive } from './spool-lock';

const PID_DIR = /^api-pid-(\d+)$/;

/**
 * Removes the `api-pid-<pid>` spool directories (the default of an api on an ephemeral port, PORT=0) that a dead
 * process left empty — a killed test api leaves one per run. A directory whose owner is alive is not touched; one
 * that still holds reports is kept and named in a warning: no later process will find it by itself, so an
 * operator drains it by starting an api with REPORT_SPOOL_DIR pointing at it. Returns the directories removed.
 */
export async function removeStaleSpoolDirs(root: string, log: Logger, self = process.pid): Promise<string[]> {
  const entries = await fs.readdir(root).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of entries) {
    const pid = Number(PID_DIR.exec(name)?.[1] ?? Number.NaN);
    if (!Number.isInteger(pid) || pid === self || pidAlive(pid)) continue;
    const dir = path.join(root, name);
    if (await holdsReports(dir)) {
      log.warn({ dir }, 'a dead api left reports in this spool; start an api with REPORT_SPOOL_DIR set to it to drain them');
      continue;
    }
    await fs.rm(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}

/** Whether the segments hold bytes past the cursor (conservative: anything unreadable counts as holding reports). */
async function holdsReports(dir: string): Promise<boolean> {
  try {
    const names = (await fs.readdir(dir)).filter((n) => n.startsWith('seg-') && n.endsWith('.log')).sort();
    const sizes = await Promise.all(names.map(async (n) => (await fs.stat(path.join(dir, n))).size));
    const total = sizes.reduce((a, b) => a + b, 0);
    if (total === 0) return false;
    if (names.length !== 1) return true;
    const cursor = JSON.parse(await fs.readFile(path.join(dir, 'cursor.json'), 'utf8')) as { seq?: unknown; offset?: unknown };
    return !(cursor.seq === Number(names[0]!.slice(4, -4)) && typeof cursor.offset === 'number' && cursor.offset >= total);
  } catch {
    return true;
  }
}
