// Reading an API key: typed at a terminal without echo (the terminal in raw mode, each key
// answered with nothing), or one line of piped stdin (`--api-key-stdin`, or `echo $KEY | coffer login`).
import { createInterface } from 'node:readline/promises';

/** One line; `prompt` (on stderr) only when stdin is a terminal. */
export async function readSecret(prompt: string | null): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    const rl = createInterface({ input: stdin, terminal: false });
    try {
      for await (const line of rl) return line.trim();
      return '';
    } finally {
      rl.close();
    }
  }
  // Raw mode (no echo) before the prompt shows, so nothing typed ahead of it is echoed either.
  stdin.setRawMode(true);
  if (prompt) process.stderr.write(prompt);
  stdin.resume();
  stdin.setEncoding('utf8');
  try {
    return await new Promise<string>((resolve, reject) => {
      let value = '';
      const onData = (chunk: string) => {
        for (const c of chunk) {
          if (c === '\r' || c === '\n' || c === '\u0004') { stdin.off('data', onData); resolve(value.trim()); return; }
          if (c === '\u0003') { stdin.off('data', onData); reject(Object.assign(new Error('interrupted'), { name: 'AbortError' })); return; }
          if (c === '\u007f' || c === '\b') value = value.slice(0, -1);
          else value += c;
        }
      };
      stdin.on('data', onData);
    });
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
    process.stderr.write('\n');
  }
}
