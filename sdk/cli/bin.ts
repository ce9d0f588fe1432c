#!/usr/bin/env node
// The `coffer` executable: runs the command line, maps the outcome to an exit code, and turns
// Ctrl-C into an abort of the request in flight (exit 130).
import { main } from './main.ts';
import { EXIT, exitCodeFor } from './exit-codes.ts';
import { describeError } from './output.ts';

const controller = new AbortController();
process.once('SIGINT', () => {
  controller.abort();
  setTimeout(() => process.exit(EXIT.interrupted), 2_000).unref(); // if something still holds the process
});
try {
  process.exitCode = await main(process.argv.slice(2), controller.signal);
} catch (err) {
  const code = controller.signal.aborted ? EXIT.interrupted : exitCodeFor(err);
  if (code !== EXIT.interrupted) process.stderr.write(describeError(err) + '\n');
  process.exitCode = code;
}
