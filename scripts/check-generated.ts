// Fails when openapi/openapi.json or sdk/schema.d.ts is not what the code renders now.
import { OPENAPI_PATH, SDK_TYPES_PATH, readCommitted, renderOpenApi, renderSdkTypes } from './contract.ts';

const openapi = await renderOpenApi();
const stale: string[] = [];
if (readCommitted(OPENAPI_PATH) !== openapi) stale.push('openapi/openapi.json');
if (readCommitted(SDK_TYPES_PATH) !== (await renderSdkTypes(openapi))) stale.push('sdk/schema.d.ts');
if (stale.length) {
  console.error(`stale generated files: ${stale.join(', ')} — run \`npm run generate\` and commit the result`);
  process.exit(1);
}
console.log('generated files are up to date: openapi/openapi.json, sdk/schema.d.ts');
