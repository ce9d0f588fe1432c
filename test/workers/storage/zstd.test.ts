// zstd: the native backend (zstd-napi, optional) and Node's fallback write frames either side reads,
// and a reused native context carries nothing from one block into the next.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { zstdDecompressSync } from 'node:zlib';
import { zstdBackend, zstdCompress, type ZstdBackend } from '#workers/storage/zstd.ts';

const text = (seed: string, size: number) => Buffer.from(`${seed} Coffer backs up Dropbox teams. `.repeat(Math.ceil(size / 40))).subarray(0, size);

// zstd-napi is optional: where it did not build, backups are slower, not wrong, so its tests skip.
const nativeBuilt = zstdBackend() === 'zstd-napi';

for (const backend of ['zstd-napi', 'node:zlib'] as ZstdBackend[]) {
  const skip = backend === 'zstd-napi' && !nativeBuilt ? 'zstd-napi did not build at install' : false;
  t.test(`${backend}: frames round-trip through node:zlib, one block after another`, { skip }, async (t) => {
    const inputs = [text('a', 10_240), randomBytes(5_000), Buffer.alloc(0), text('b', 4 * 1024 * 1024), text('c', 10_240)];
    for (const input of inputs) {
      const frame = zstdCompress(input, 3, backend);
      t.ok(zstdDecompressSync(frame).equals(input), `${input.length} bytes`);
    }
    // Same input again after other blocks: no state leaks between frames of a reused context.
    t.ok(zstdCompress(inputs[0]!, 3, backend).equals(zstdCompress(inputs[0]!, 3, backend)), 'deterministic per input');
    t.ok(zstdCompress(text('a', 10_240), 3, backend).length < 2_500, 'text compresses');
  });
}

t.test('COFFER_ZSTD=node forces the fallback', async (t) => {
  const child = spawnSync(process.execPath, ['-e', `import('${new URL('../../../workers/storage/zstd.ts', import.meta.url).href}').then((m) => console.log(m.zstdBackend()))`], {
    env: { ...process.env, COFFER_ZSTD: 'node' },
    encoding: 'utf8',
  });
  t.equal(child.stdout.trim(), 'node:zlib', child.stderr);
});
