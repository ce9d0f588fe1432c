// Fails when openapi/openapi.json or the SDK's generated files are not what the code renders now.
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OPENAPI_PATH, readCommitted, renderOpenApi, renderSdk } from './contract.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const openapi = await renderOpenApi();
const expected = { [OPENAPI_PATH]: openapi, ...(await renderSdk(openapi)) };
const stale = Object.entries(expected).filter(([path, text]) => readCommitted(path) !== text).map(([path]) => relative(root, path));
if (stale.length) {
  console.error(`stale generated files: ${stale.join(', ')} — run \`npm run generate\` and commit the result`);
  process.exit(1);
}
console.log(`generated files are up to date: ${Object.keys(expected).map((p) => relative(root, p)).join(', ')}`);
