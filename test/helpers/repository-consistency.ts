// What a crashed and resumed backup must leave behind in the account's repository: every block
// referenced by some version, every recorded pack written and present in storage, every stored pack
// recorded. Shared by the crash test and the chaos series.
import type { Test } from 'tap';
import type { AppDeps } from '../../api/deps.ts';
import { accountStorage } from '../../workers/backup/storage.ts';

export async function assertRepositoryConsistent(t: Test, deps: AppDeps, accountId: string): Promise<void> {
  const { sql } = deps;
  const [orphans] = await sql<{ n: number }[]>`
    select count(*)::int as n from blocks b where b.account_id = ${accountId} and not exists (
      select 1 from item_versions v, generate_series(0, length(v.blocks) / 32 - 1) i
      where v.account_id = b.account_id and v.blocks is not null and substring(v.blocks from i * 32 + 1 for 32) = b.hash)`;
  t.equal(orphans!.n, 0, 'no orphan block');
  const packs = await sql<{ key: string; state: string }[]>`select key, state from packs where account_id = ${accountId}`;
  t.same(packs.filter((p) => p.state !== 'written'), [], 'no pack left pending');
  const { store } = await accountStorage(deps, accountId);
  const objects: string[] = [];
  for await (const o of store.list('packs/')) objects.push(o.key);
  t.same(objects.sort(), packs.map((p) => p.key).sort(), 'every pack object is recorded, and every recorded pack exists');
}
