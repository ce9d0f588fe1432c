import { readFileSync, writeFileSync } from 'node:fs';
import { OPENAPI_PATH, renderSdk } from './contract.ts';

for (const [path, text] of Object.entries(await renderSdk(readFileSync(OPENAPI_PATH, 'utf8')))) {
  writeFileSync(path, text);
  console.log(`wrote ${path}`);
}
