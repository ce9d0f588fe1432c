// Find a file in the backups by name and restore its latest backed-up version next to the
// original, in a new folder (nothing in Dropbox is overwritten). Waits for the restore.
//
//   COFFER_API_URL=… COFFER_API_KEY=… FILE_NAME="budget.xlsx" node find-and-restore.mjs
import { Coffer } from '@coffer/sdk';

const coffer = new Coffer({ baseUrl: process.env.COFFER_API_URL, apiKey: process.env.COFFER_API_KEY });
const name = process.env.FILE_NAME;
if (!name) throw new Error('set FILE_NAME');

// Search looks through names, paths (and, if the task indexes data, file contents); results are
// item versions with the snapshots that hold them, newest first.
const found = await coffer.items.search({ q: name, kind: 'file', limit: 5 });
const item = found.data.find((i) => i.name === name) ?? found.data[0];
if (!item) {
  console.error(`nothing named ${name} in the backups`);
  process.exit(4);
}
console.log(`found ${item.path} (${item.size} bytes) of ${item.entity_name}`);

const job = await coffer.restores.create({
  source: { snapshot_id: item.snapshot_ids[0], items: [item.id] },
  destination: { mode: 'non_destructive' },
});
// jobs.wait polls with back-off; onProgress sees each state. A failed job throws JobFailedError.
const done = await coffer.jobs.wait(job.id, { onProgress: (j) => console.log(`${j.state}: ${j.items_done}/${j.items_total} files`) });
console.log(`restored into ${done.destination.path} (${done.state})`);
