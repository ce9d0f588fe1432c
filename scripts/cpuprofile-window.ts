// Where a benchmark phase's CPU went: the functions that used the most time in a V8 .cpuprofile,
// counting only samples inside a window of CLOCK_MONOTONIC microseconds (as `BENCH_WINDOWS=1 npm
// run bench -- backup` prints per phase). Every process and worker thread writes its own profile.
//
//   BENCH_WINDOWS=1 NODE_OPTIONS="--cpu-prof --cpu-prof-dir=/tmp/prof" npm run bench -- backup
//   node scripts/cpuprofile-window.ts /tmp/prof/CPU….cpuprofile <from µs> <to µs> [top=30] [self|inclusive]
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

const [file, fromArg, toArg, topArg = '30', mode = 'self'] = process.argv.slice(2);
if (!file || !fromArg || !toArg) {
  console.error('usage: node scripts/cpuprofile-window.ts <profile> <from µs> <to µs> [top] [self|inclusive]');
  process.exit(2);
}
const from = Number(fromArg);
const to = Number(toArg);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

// Microseconds per node, samples inside the window only.
const perNode = new Map<number, number>();
let at = profile.startTime;
let total = 0;
for (const [i, node] of profile.samples.entries()) {
  const dt = profile.timeDeltas[i] ?? 0;
  at += dt;
  if (at < from || at > to) continue;
  perNode.set(node, (perNode.get(node) ?? 0) + dt);
  total += dt;
}

const label = (id: number) => {
  const f = byId.get(id)!.callFrame;
  return `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(node_modules|work\/[^/]+)\//, '')}:${f.lineNumber + 1}`;
};
const sums = new Map<string, number>();
for (const [id, us] of perNode) {
  if (mode === 'self') {
    sums.set(label(id), (sums.get(label(id)) ?? 0) + us);
    continue;
  }
  const seen = new Set<string>(); // a recursive function counts once per sample
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const l = label(cur);
    if (seen.has(l)) continue;
    seen.add(l);
    sums.set(l, (sums.get(l) ?? 0) + us);
  }
}
console.log(`${file}: ${(total / 1e6).toFixed(2)} s of samples in the window (${mode})`);
for (const [l, us] of [...sums].sort((a, b) => b[1] - a[1]).slice(0, Number(topArg))) console.log(`${(us / 1e6).toFixed(3).padStart(8)} s  ${l}`);
