import t from 'tap';
import type { files } from 'dropbox';
import { harness } from './sdk-harness.ts';
import { seedSampleTeam, type SampleTeam } from './seed.ts';

t.test('sample team is deterministic and browsable through the SDK', async (t) => {
  let sample!: SampleTeam;
  const h = await harness(t, {}, (emu) => { sample = seedSampleTeam(emu.state); });
  t.equal(sample.fileCount, 290);
  t.equal(sample.members.length, 6);
  t.equal(sample.admin.email, 'ada.admin@coffer-emu.test');

  const visible = (await h.team.teamMembersListV2({})).result.members.map((m) => `${m.profile.email}:${m.profile.status['.tag']}`);
  t.same(visible, [
    'ada.admin@coffer-emu.test:active', 'bob@coffer-emu.test:active', 'chloe@coffer-emu.test:active',
    'sam.suspended@coffer-emu.test:suspended', 'ivan.invited@coffer-emu.test:invited',
  ]);
  const folders = (await h.team.teamTeamFolderList({})).result.team_folders.map((f) => `${f.name}:${f.status['.tag']}`);
  t.same(folders, ['Engineering:active', 'Marketing:active', 'Old Projects:archived']);

  // The admin can read the removed member's home through Select-Admin + Path-Root.
  const removedHome = h.asAdmin(sample.admin.teamMemberId, sample.removed.homeNsId);
  let res = await removedHome.filesListFolder({ path: '', recursive: true, limit: 25 });
  let fileCount = res.result.entries.filter((e) => e['.tag'] === 'file').length;
  while (res.result.has_more) {
    res = await removedHome.filesListFolderContinue({ cursor: res.result.cursor });
    fileCount += res.result.entries.filter((e) => e['.tag'] === 'file').length;
  }
  t.equal(fileCount, 40);

  const eng = await h.asAdmin(sample.admin.teamMemberId, sample.teamFolders[0]!.id).filesListFolder({ path: '', recursive: true });
  const authors = new Set(eng.result.entries.filter((e) => e['.tag'] === 'file').map((e) => (e as files.FileMetadataReference).sharing_info?.modified_by));
  t.same([...authors].sort(), sample.members.filter((m) => m.status === 'active').map((m) => m.accountId).sort());
  t.ok(eng.result.entries.some((e) => e.name === 'résumé-2.txt'));
});
