// Nightly: back up every active user and team folder now (or only ENTITY_IDS, comma-separated)
// and wait for the runs to finish; exit 1 if any failed. Schedule it with cron or CI.
//
//   COFFER_API_URL=… COFFER_API_KEY=… node nightly-backup.mjs
import { Coffer } from '@coffer/sdk';

const coffer = new Coffer({ baseUrl: process.env.COFFER_API_URL, apiKey: process.env.COFFER_API_KEY });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let ids = process.env.ENTITY_IDS?.split(',').filter(Boolean);
if (!ids) {
  ids = [];
  // `for await` walks every page; `status: 'active'` means everything backed up on schedule.
  for await (const e of coffer.entities.list({ status: 'active' })) ids.push(e.id);
}

if (!ids.length) {
  console.log('nothing to back up');
  process.exit(0);
}

// The newest run of each entity before asking, so we can tell the run our request starts.
const before = new Map();
for (const id of ids) before.set(id, (await coffer.runs.list(id, { limit: 1 })).data[0]?.id ?? '');

const asked = await coffer.entities.applyAction({ action: 'backup_now', entity_ids: ids });
for (const r of asked.results.filter((r) => !r.ok)) console.error(`${r.entity_id}: not backed up (${r.error.code}: ${r.error.detail})`);

// Poll each entity's runs until a run newer than `before` has finished.
const pending = new Set(asked.results.filter((r) => r.ok).map((r) => r.entity_id));
let failed = asked.failed;
while (pending.size) {
  await sleep(2000);
  for (const id of pending) {
    const run = (await coffer.runs.list(id, { limit: 1 })).data[0];
    if (!run || run.id <= before.get(id) || run.state === 'running') continue;
    pending.delete(id);
    if (run.state === 'failed') failed++;
    console.log(`${id}: ${run.state} (${run.total_items ?? 0} items, ${run.bytes_downloaded} bytes downloaded)${run.error ? ` — ${run.error}` : ''}`);
  }
}
process.exitCode = failed ? 1 : 0;
