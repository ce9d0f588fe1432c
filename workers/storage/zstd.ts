// zstd compression of one block. Node's own zstdCompressSync builds a zlib stream object and a
// fresh compression context for every call: for a 10 KB block that set-up cost as much as the
// compression (≈64 µs a block, a third of a first backup's encoder time). zstd-napi keeps one
// context per thread and reuses it (≈32 µs). It is an optional dependency built from source at
// install (no prebuilt binary is reachable here), so where it did not build, Node's zstd is used:
// same format, same level, only slower. Decompression stays on node:zlib (bounded output size).
import { createRequire } from 'node:module';
import { constants as zlibConstants, zstdCompressSync } from 'node:zlib';

export type ZstdBackend = 'zstd-napi' | 'node:zlib';

interface NativeCompressor {
  setParameters(parameters: { compressionLevel?: number }): void;
  compress(data: Uint8Array): Buffer;
}

/** One reusable native compressor per thread and level (module state is per worker thread). */
const native = new Map<number, NativeCompressor>();
let nativeModule: { Compressor: new () => NativeCompressor } | null | undefined;

function loadNative(): { Compressor: new () => NativeCompressor } | null {
  if (nativeModule === undefined) {
    try {
      nativeModule = createRequire(import.meta.url)('zstd-napi') as { Compressor: new () => NativeCompressor };
    } catch {
      nativeModule = null;
    }
  }
  return nativeModule;
}

let backend: ZstdBackend | undefined;

/** Which implementation `zstdCompress` uses in this process (`COFFER_ZSTD=node` forces Node's). */
export function zstdBackend(): ZstdBackend {
  // Decided once: reading process.env on every block is a call into C++.
  backend ??= process.env.COFFER_ZSTD !== 'node' && loadNative() ? 'zstd-napi' : 'node:zlib';
  return backend;
}

/** One zstd frame of `data` at `level`, with the content size in the frame header. */
export function zstdCompress(data: Buffer, level: number, use: ZstdBackend = zstdBackend()): Buffer {
  if (use === 'zstd-napi') {
    const mod = loadNative();
    if (!mod) throw new Error('zstd-napi is not installed');
    let compressor = native.get(level);
    if (!compressor) {
      compressor = new mod.Compressor();
      compressor.setParameters({ compressionLevel: level });
      native.set(level, compressor);
    }
    return compressor.compress(data);
  }
  // pledgedSrcSize: zstd sizes its context to the input (test/bench/README.md, gotcha 1).
  return zstdCompressSync(data, { params: { [zlibConstants.ZSTD_c_compressionLevel]: level }, pledgedSrcSize: data.length });
}
