// Fuzzing, part 3 of 5 of the OpenAPI document's operations (test/helpers/openapi-fuzz.ts says
// what is generated and asserted; FUZZ_SEED replays a run).
import t from 'tap';
import { fuzzOperations, shard } from '../helpers/openapi-fuzz.ts';

t.test('malformed, out-of-schema and valid-shaped requests: no 5xx, problem documents, refused writes change nothing', async (t) => {
  await fuzzOperations(t, shard(2, 5));
});
