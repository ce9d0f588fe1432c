// Deterministic sample teams for tests, demos and benchmarks.
import type { Member, TeamFolder, TeamState } from './state.ts';

export interface SampleTeam {
  admin: Member;
  members: Member[];
  removed: Member;
  suspended: Member;
  teamFolders: TeamFolder[];
  fileCount: number;
}

const CLIENT_MODIFIED = '2024-01-15T10:00:00Z';

/** Deterministic text: the path repeated, so every file differs and sizes vary. */
export function sampleContent(path: string, i: number): Buffer {
  return Buffer.from(`${path}\n`.repeat(1 + (i % 7)), 'utf8');
}

export function seedSampleTeam(state: TeamState, opts: { filesPerMember?: number; filesPerTeamFolder?: number } = {}): SampleTeam {
  const perMember = opts.filesPerMember ?? 40;
  const perFolder = opts.filesPerTeamFolder ?? 30;
  const admin = state.addMember({ email: 'ada.admin@coffer-emu.test', givenName: 'Ada', surname: 'Admin', admin: true });
  const bob = state.addMember({ email: 'bob@coffer-emu.test', givenName: 'Bob', surname: 'Builder' });
  const chloe = state.addMember({ email: 'chloe@coffer-emu.test', givenName: 'Chloé', surname: 'Ünïcode' });
  const suspended = state.addMember({ email: 'sam.suspended@coffer-emu.test', givenName: 'Sam', surname: 'Suspended', status: 'suspended' });
  const removed = state.addMember({ email: 'rita.removed@coffer-emu.test', givenName: 'Rita', surname: 'Removed' });
  state.addMember({ email: 'ivan.invited@coffer-emu.test', givenName: 'Ivan', surname: 'Invited', status: 'invited' });
  const active = [admin, bob, chloe];

  let fileCount = 0;
  for (const m of [...active, suspended, removed]) {
    for (let i = 0; i < perMember; i++) {
      const path = i % 4 === 0 ? `/Documents/report-${i}.txt`
        : i % 4 === 1 ? `/Photos/2024/img-${i}.jpg`
        : i % 4 === 2 ? `/Projects/alpha/src/deep/nested/file-${i}.ts`
        : `/Ünïcode Földer/naïve café ${i}.txt`;
      state.putFile(m, path, sampleContent(`${m.email}${path}`, i), { clientModified: CLIENT_MODIFIED });
      fileCount++;
    }
    state.mkdir(m, '/Empty Folder');
  }
  state.removeMember(removed);

  const teamFolders = [state.addTeamFolder('Engineering'), state.addTeamFolder('Marketing'), state.addTeamFolder('Old Projects')];
  teamFolders.forEach((tf, t) => {
    for (let i = 0; i < perFolder; i++) {
      const author = active[(i + t) % active.length]!;
      const path = i % 3 === 0 ? `/Specs/spec-${i}.md` : i % 3 === 1 ? `/Designs/v${i % 5}/mock-${i}.png` : `/résumé-${i}.txt`;
      state.putFile(tf.id, path, sampleContent(`${tf.name}${path}`, i), { clientModified: CLIENT_MODIFIED, modifiedBy: author.accountId });
      fileCount++;
    }
  });
  state.archiveTeamFolder(teamFolders[2]!.id);
  return { admin, members: state.members.slice(), removed, suspended, teamFolders, fileCount };
}

/** Many members/team folders (one small file each) for discovery/paging tests. Every 10th member is removed. */
export function seedLargeTeam(state: TeamState, opts: { members: number; teamFolders: number }): { admin: Member; members: Member[]; teamFolders: TeamFolder[] } {
  const admin = state.members.find((m) => m.roles.includes('team_admin') && m.status === 'active')
    ?? state.addMember({ email: 'admin@large-emu.test', givenName: 'Large', surname: 'Admin', admin: true });
  const members: Member[] = [];
  for (let i = 1; i <= opts.members; i++) {
    const n = String(i).padStart(4, '0');
    const m = state.addMember({ email: `user${n}@large-emu.test`, givenName: `User${n}`, surname: 'Large' });
    state.putFile(m, '/hello.txt', `hello from user ${n}\n`, { clientModified: CLIENT_MODIFIED });
    if (i % 10 === 0) state.removeMember(m);
    members.push(m);
  }
  const teamFolders: TeamFolder[] = [];
  for (let i = 1; i <= opts.teamFolders; i++) {
    const tf = state.addTeamFolder(`Team Folder ${String(i).padStart(3, '0')}`);
    state.putFile(tf.id, '/README.txt', `team folder ${i}\n`, { clientModified: CLIENT_MODIFIED, modifiedBy: admin.accountId });
    teamFolders.push(tf);
  }
  return { admin, members, teamFolders };
}
