// Onboard a Dropbox team: create a backup task, have a Dropbox team admin approve Coffer, and wait
// until the team is connected and its users and team folders are discovered.
//
//   COFFER_API_URL=https://coffer.example.com COFFER_API_KEY=cfk_… TEAM_NAME="Acme" node onboard-team.mjs
import { Coffer } from '@coffer/sdk';

const coffer = new Coffer({ baseUrl: process.env.COFFER_API_URL, apiKey: process.env.COFFER_API_KEY });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// auto_activate: back up every user and team folder discovery finds, now and later.
const task = await coffer.tasks.create({ name: process.env.TEAM_NAME ?? 'My Dropbox team', auto_activate: true });
console.log(`Open this link as a Dropbox team admin and approve Coffer:\n${task.authorize_url}`);

// The admin's approval lands on Coffer's OAuth callback; poll the task until it is connected.
for (let t = Date.now(); (await coffer.tasks.get(task.id)).connection_status !== 'connected'; await sleep(2000)) {
  if (Date.now() - t > 30 * 60_000) throw new Error('not approved within 30 minutes');
}
console.log(`Connected: ${task.id}`);

// Discovery runs in the background right after connecting; wait until it has found someone.
let entities = [];
while (entities.length === 0) {
  await sleep(1000);
  entities = (await coffer.entities.list({ task_id: task.id, limit: 100 })).data;
}
for (const e of entities) console.log(`  ${e.id}  ${e.kind.padEnd(11)}  ${e.email ?? e.name}  (${e.status})`);
console.log(`TASK_ID=${task.id}`);
