// Meta-arguments and plan modes with coffer_tag against a live server: count, lifecycle
// prevent_destroy and ignore_changes, -target, -refresh-only, import blocks with
// -generate-config-out, state mv, and sensitive outputs.
import t from 'tap';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestApp } from '../helpers/app.ts';
import { iacDir } from '../helpers/iac.ts';

t.test('count, prevent_destroy, ignore_changes, -target, -refresh-only, import blocks, state mv, sensitive outputs', async (t) => {
  const api = await startTestApp(t);
  const account = await api.signUp();
  const w = await iacDir(t, api, account.key);
  const key = account.key;
  const names = async () => (await api.request('GET', '/v1/tags?limit=100', { key })).body.data.map((x: { name: string }) => x.name).sort();
  const idOf = async (address: string) => {
    const [type, rest] = [address.split('.')[0], address.split('.').slice(1).join('.')];
    const m = /^(\w+)(?:\[(\d+)\])?$/.exec(rest)!;
    const r = (await w.state()).resources.find((x: { type: string; name: string }) => x.type === type && x.name === m[1]);
    return r.instances.find((i: { index_key?: number }) => (m[2] === undefined ? i.index_key === undefined : i.index_key === Number(m[2]))).attributes.id as string;
  };
  await w.write({
    'main.tf': `
resource "coffer_tag" "shard" {
  count = 2
  name  = "shard-\${count.index}"
}

resource "coffer_tag" "keep" {
  name = "keep"
  lifecycle {
    prevent_destroy = true
    ignore_changes  = [name]
  }
}

output "secret" {
  value     = coffer_tag.keep.id
  sensitive = true
}
`,
  });

  // -target: only the targeted instance (and what it depends on).
  const targeted = await w.run('apply', '-auto-approve', '-target=coffer_tag.shard[1]');
  t.equal(targeted.code, 0, targeted.stderr);
  t.same(await names(), ['shard-1']);
  const applied = await w.run('apply', '-auto-approve');
  t.equal(applied.code, 0, applied.stderr);
  t.match(applied.stdout, /secret = <sensitive>/, 'a sensitive output is not printed');
  t.same(await names(), ['keep', 'shard-0', 'shard-1']);
  t.match((await w.run('output', '-raw', 'secret')).stdout, /^tag_\w+$/, 'but can be read by name');

  // ignore_changes: a rename through the API is left alone.
  const keepId = await idOf('coffer_tag.keep');
  await api.request('PATCH', `/v1/tags/${keepId}`, { key, body: { name: 'kept-renamed' } });
  const ignored = await w.run('plan', '-detailed-exitcode');
  t.equal(ignored.code, 0, ignored.stdout);

  // -refresh-only: records the outside change in the state, changes nothing in Coffer.
  const refreshOnly = await w.run('plan', '-refresh-only', '-detailed-exitcode');
  t.equal(refreshOnly.code, 2);
  t.match(refreshOnly.stdout, /# coffer_tag\.keep has changed\n +~ name = "keep" -> "kept-renamed"/);
  t.equal((await w.run('refresh')).code, 0);
  const stored = (await w.state()).resources.find((r: { name: string }) => r.name === 'keep').instances[0].attributes.name;
  t.equal(stored, 'kept-renamed', 'the state now holds the renamed tag');
  t.equal((await w.run('plan', '-refresh-only', '-detailed-exitcode')).code, 0);

  // prevent_destroy: destroy (and a plan removing it) is refused, nothing destroyed.
  const refused = await w.run('destroy', '-auto-approve');
  t.equal(refused.code, 1);
  t.match(refused.stderr, /main\.tf:7,1: coffer_tag\.keep has lifecycle\.prevent_destroy set, but the plan would destroy it/);
  t.same(await names(), ['kept-renamed', 'shard-0', 'shard-1']);

  // state mv: a renamed block keeps its object.
  const shard0 = await idOf('coffer_tag.shard[0]');
  const moved = await w.run('state', 'mv', 'coffer_tag.shard[0]', 'coffer_tag.first');
  t.equal(moved.code, 0, moved.stderr);
  t.equal(await idOf('coffer_tag.first'), shard0);

  // An import block for an object without a resource block: plan writes its HCL, apply adopts it.
  const outside = await api.request('POST', '/v1/tags', { key, body: { name: 'made-by-hand' } });
  await w.write({
    'main.tf': (await readFile(join(w.dir, 'main.tf'), 'utf8')).replace('count = 2', 'count = 1').replace('"shard-${count.index}"', '"shard-${count.index + 5}"')
      + `\nresource "coffer_tag" "first" {\n  name = "shard-0"\n}\n\nimport {\n  to = coffer_tag.adopted\n  id = "${outside.body.id}"\n}\n`,
  });
  const noBlock = await w.run('plan');
  t.equal(noBlock.code, 1);
  t.match(noBlock.stderr, /no resource block for coffer_tag\.adopted: .*-generate-config-out=FILE/);
  const generated = await w.run('plan', '-generate-config-out=generated.tf', '-detailed-exitcode');
  t.equal(generated.code, 2, generated.stderr);
  t.match(await readFile(join(w.dir, 'generated.tf'), 'utf8'), /resource "coffer_tag" "adopted" \{\n  name = "made-by-hand"\n\}/);
  t.match(generated.stdout, /# coffer_tag\.adopted will be imported/);
  t.match(generated.stdout, /# coffer_tag\.shard\[1\] will be destroyed\n  # \(because its index is no longer in count \/ for_each\)/);
  t.match(generated.stdout, /# coffer_tag\.shard\[0\] will be created\n.*\n.*\n +\+ name += "shard-5"/, 'shard[0] moved away: a new one');
  t.match(generated.stdout, /Plan: 1 to import, 1 to add, 0 to change, 1 to destroy\./);
  const adopted = await w.run('apply', '-auto-approve');
  t.equal(adopted.code, 0, adopted.stderr);
  t.match(adopted.stdout, /Apply complete! Resources: 1 imported, 1 added, 0 changed, 1 destroyed\./);
  t.equal(await idOf('coffer_tag.adopted'), outside.body.id);
  t.same(await names(), ['kept-renamed', 'made-by-hand', 'shard-0', 'shard-5']);
  t.equal((await w.run('plan', '-detailed-exitcode')).code, 0, 'import then plan: no changes');
});
