import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { OPENAPI_PATH, renderOpenApi } from './contract.ts';

mkdirSync(dirname(OPENAPI_PATH), { recursive: true });
writeFileSync(OPENAPI_PATH, await renderOpenApi());
console.log(`wrote ${OPENAPI_PATH}`);
