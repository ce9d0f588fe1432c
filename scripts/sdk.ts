import { readFileSync, writeFileSync } from 'node:fs';
import { OPENAPI_PATH, SDK_TYPES_PATH, renderSdkTypes } from './contract.ts';

writeFileSync(SDK_TYPES_PATH, await renderSdkTypes(readFileSync(OPENAPI_PATH, 'utf8')));
console.log(`wrote ${SDK_TYPES_PATH}`);
