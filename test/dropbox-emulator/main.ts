// Standalone emulator: `node test/dropbox-emulator/main.ts [--port N]`.
// First stdout line is the base URL (scripts read it); then a short summary.
import { startEmulator } from './server.ts';
import { seedSampleTeam } from './seed.ts';

// `tap test/dropbox-emulator/` runs every .ts in the folder (the package.json include only applies without
// path arguments); a server that never exits would hang that run until tap's timeout, so skip under tap.
if (process.env.TAP === '1' && process.env.TAP_CHILD_ID !== undefined) {
  console.log('1..0 # SKIP dropbox emulator entry point, not a test');
  process.exit(0);
}

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const port = Number(argValue('--port') ?? 0);
const emulator = await startEmulator({ port, appKey: argValue('--app-key'), appSecret: argValue('--app-secret') });
const sample = seedSampleTeam(emulator.state);
const { accessToken, refreshToken } = emulator.state.issueTeamTokens();

console.log(emulator.url);
console.log(`team: ${emulator.state.team.name} (${emulator.state.team.id}), ${sample.members.length} members, ${sample.teamFolders.length} team folders, ${sample.fileCount} files`);
console.log(`admin: ${sample.admin.email} (${sample.admin.teamMemberId})`);
console.log(`app key/secret: ${argValue('--app-key') ? 'only the configured pair' : 'any accepted'}; OAuth authorize auto-approves as the admin`);
console.log(`ready-made team tokens: access=${accessToken} refresh=${refreshToken}`);
console.log(`control API: ${emulator.url}/_emulator/team`);

let closing = false;
const shutdown = () => {
  if (closing) return;
  closing = true;
  emulator.close().then(() => process.exit(0));
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
