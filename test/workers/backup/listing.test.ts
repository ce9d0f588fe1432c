// A member's backup lists only the member's own namespace: team folders mounted in the member's
// home are backed up once, as their own entities, never again inside every member who sees them.
// The emulator does not model mounted folders, so the test checks what Coffer asks Dropbox for.
import t from 'tap';
import { startBackupFixture } from '../../helpers/backup-fixture.ts';
import { requestUrl } from '../../../workers/dropbox/transport.ts';

t.test('a backup lists without mounted folders (include_mounted_folders: false on every list_folder)', async (t) => {
  const f = await startBackupFixture(t);
  const bob = f.emu.state.addMember({ email: 'bob@coffer-emu.test' });
  f.emu.state.putFile(bob, '/a.txt', 'a');
  const entityId = await f.memberEntity(bob);
  const listings: Record<string, unknown>[] = [];
  const recording = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    if (requestUrl(input).endsWith('/2/files/list_folder')) listings.push(JSON.parse(String(init?.body)));
    return fetch(input, init);
  };
  const r = await f.backup(entityId, { fetch: recording });
  t.equal(r.outcome, 'succeeded');
  t.equal(listings.length, 1, 'one listing from the root');
  t.match(listings[0], { path: '', recursive: true, include_deleted: false });
  t.equal(listings[0]!.include_mounted_folders, false, 'mounted team and shared folders are not listed inside the member');
});
