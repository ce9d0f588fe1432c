// The wall time of each test file of a run, read from the results tap keeps under .tap/test-results
// (one `<file>.tap` per test file, ending with `# time=<ms>ms`).
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';

const RESULTS = '.tap/test-results';

/** The `most` slowest files whose results were written since `sinceMs`, slowest first. */
export async function slowestFiles(sinceMs: number, most: number): Promise<{ file: string; ms: number }[]> {
  const out: { file: string; ms: number }[] = [];
  for (const entry of await readdir(RESULTS, { recursive: true })) {
    if (!entry.endsWith('.tap')) continue;
    const path = join(RESULTS, entry);
    if ((await stat(path)).mtimeMs < sinceMs) continue;
    const times = [...(await readFile(path, 'utf8')).matchAll(/^# time=([\d.]+)ms$/gm)];
    const last = times.at(-1);
    if (last) out.push({ file: relative(RESULTS, path).replace(/\.tap$/, ''), ms: Number(last[1]) });
  }
  return out.sort((a, b) => b.ms - a.ms).slice(0, most);
}
