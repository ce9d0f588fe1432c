// The mutants `npm run mutants` applies (scripts/mutants.ts): one-line breaks of the behaviours
// that matter most, each with the test files that must notice it. `search` must occur exactly once
// in `file`; when the code it names changes, update the entry (the run fails until then).

export interface Mutant {
  name: string;
  file: string;
  search: string;
  replace: string;
  /** Test files that must fail with the mutant applied. */
  tests: string[];
}

export const MUTANTS: Mutant[] = [
  {
    name: 'idempotency: a retry while the first request runs is not refused with 409',
    file: 'api/plugins/idempotency.ts',
    search: 'if (!existing.completed) {',
    replace: 'if (false) {',
    tests: ['test/api/idempotency.test.ts'],
  },
  {
    name: 'restore: the content_hash of a committed file is not compared',
    file: 'workers/recovery/restore.ts',
    search: 'else if (r.contentHash !== f.content_hash)',
    replace: 'else if (false)',
    tests: ['test/api/restores.test.ts'],
  },
  {
    name: 'search: names are indexed with their accents',
    file: 'workers/recovery/search-index.ts',
    search: "translate(unaccent(iv.name), ",
    replace: "translate(iv.name, ",
    tests: ['test/api/items-accents.test.ts'],
  },
  {
    name: 'job items: a restore checkpoints a batch without its files',
    file: 'workers/recovery/restore.ts',
    search: 'await recordItems(tx, items);',
    replace: '',
    tests: ['test/api/job-items.test.ts'],
  },
  {
    name: 'tags: If-Match is not checked',
    file: 'api/resources/tags/service.ts',
    search: 'checkVersion(expected, current.version, `Tag ${id}`);',
    replace: '// checkVersion(expected, current.version, `Tag ${id}`);',
    tests: ['test/api/if-match.test.ts'],
  },
  {
    name: 'API keys: If-Match is not checked',
    file: 'api/resources/api-keys/service.ts',
    search: 'checkVersion(expected, current.version, `API key ${id}`);',
    replace: '// checkVersion(expected, current.version, `API key ${id}`);',
    tests: ['test/api/if-match.test.ts'],
  },
  {
    name: 'storage target: If-Match is not checked',
    file: 'api/resources/storage/service.ts',
    search: "checkVersion(expected, version, 'The storage target');",
    replace: "// checkVersion(expected, version, 'The storage target');",
    tests: ['test/api/if-match.test.ts'],
  },
  {
    name: 'OpenAPI: the If-Match header is not documented',
    file: 'api/plugins/openapi.ts',
    search: "if (config.ifMatch) {\n    extraHeaders['if-match']",
    replace: "if (false) {\n    extraHeaders['if-match']",
    tests: ['test/api/if-match.test.ts'],
  },
  {
    name: 'GC: no clock-skew margin before deleting condemned rows while a backup runs',
    file: 'workers/jobs/retention.ts',
    search: 'Math.min(start, now.getTime()) - CONDEMNED_GRACE_MS',
    replace: 'Math.min(start, now.getTime())',
    tests: ['test/workers/backup/retention.test.ts'],
  },
  {
    name: 'GC: running backups are ignored when deleting condemned rows',
    file: 'workers/jobs/retention.ts',
    search: 'const start = oldest?.started_at ? new Date(oldest.started_at).getTime() : now.getTime();',
    replace: 'const start = now.getTime();',
    tests: ['test/workers/backup/retention.test.ts'],
  },
  {
    name: 'audit: verify does not recompute each event\'s hash',
    file: 'api/resources/audit/service.ts',
    search: ': eventHash(storedPrev, rest) !== hash ? `event',
    replace: ': false ? `event',
    tests: ['test/api/audit.test.ts'],
  },
  {
    name: 'audit: verify does not check the chain ends at its head record',
    file: 'api/resources/audit/service.ts',
    search: '  if (lastSeq < head.seq) {',
    replace: '  if (false) {',
    tests: ['test/api/audit.test.ts'],
  },
  {
    name: 'audit: secrets in before/after are not masked',
    file: 'api/resources/audit/changes.ts',
    search: 'SECRET_FIELD.test(k) && v !== null && v !== undefined ? MASK : maskSecrets(v)',
    replace: 'maskSecrets(v)',
    tests: ['test/api/audit-events-settings.test.ts'],
  },
  {
    name: 'audit: the account purge erases the audit log',
    file: 'workers/jobs/account-purge.ts',
    search: '.filter((t) => !KEPT_AFTER_PURGE.includes(t))',
    replace: '',
    tests: ['test/workers/jobs/account-purge-audit.test.ts'],
  },
  {
    name: 'backup: mounted folders are listed inside member homes',
    file: 'workers/dropbox/files.ts',
    search: 'recursive: true, include_deleted: false, include_mounted_folders: false',
    replace: 'recursive: true, include_deleted: false, include_mounted_folders: true',
    tests: ['test/workers/backup/listing.test.ts'],
  },
  {
    name: 'tenant isolation: an API key is looked up by id alone',
    file: 'api/resources/api-keys/service.ts',
    search: '.select().from(apiKeys).where(and(visible(ctx), eq(apiKeys.id, id)))',
    replace: '.select().from(apiKeys).where(eq(apiKeys.id, id))',
    tests: ['test/api/tenant-isolation.test.ts'],
  },
  {
    name: 'tenant isolation: a tag is looked up by id alone',
    file: 'api/resources/tags/service.ts',
    search: '.select().from(tags).where(and(eq(tags.accountId, ctx.accountId), eq(tags.id, id)))',
    replace: '.select().from(tags).where(eq(tags.id, id))',
    tests: ['test/api/isolation-sweep.test.ts'],
  },
  {
    name: 'a NUL character in a request reaches PostgreSQL (500)',
    file: 'api/app.ts',
    search: 'registerNulCheck(app);',
    replace: '',
    tests: ['test/api/fuzz-regressions.test.ts'],
  },
  {
    name: 'auth: the route\'s permission is not checked',
    file: 'api/plugins/auth.ts',
    search: 'if (needed && !request.ctx.permissions.has(needed)) {',
    replace: 'if (false) {',
    tests: ['test/api/permissions.test.ts'],
  },
  {
    name: 'credential cache: an entry never expires (a change whose notification was lost is never seen)',
    file: 'api/credential-cache.ts',
    search: 'if (now - entry.storedAt >= this.#ttlMs || now < entry.storedAt) {',
    replace: 'if (false) {',
    tests: ['test/api/credential-cache.test.ts'],
  },
  {
    name: 'storage: a block\'s AES-GCM tag is not verified (final() skipped)',
    file: 'workers/storage/block-codec.ts',
    search: 'body = Buffer.concat([decipher.update(stored.subarray(1 + NONCE_BYTES, stored.length - TAG_BYTES)), decipher.final()]);',
    replace: 'body = decipher.update(stored.subarray(1 + NONCE_BYTES, stored.length - TAG_BYTES));',
    tests: ['test/workers/storage/block-codec.test.ts'],
  },
  {
    name: 'keys: a sealed key\'s AES-GCM tag is not verified (final() skipped)',
    file: 'workers/storage/keys.ts',
    search: 'return Buffer.concat([decipher.update(ciphertext), decipher.final()]);',
    replace: 'return decipher.update(ciphertext);',
    tests: ['test/workers/storage/keys.test.ts'],
  },
  {
    name: 'invoice PDF: a line\'s total is drawn below its row',
    file: 'api/resources/billing/pdf.ts',
    search: 'pdf.text(money(line.total), cols[4]!.x + 2, y,',
    replace: 'pdf.text(money(line.total), cols[4]!.x + 2, pdf.y,',
    tests: ['test/api/billing-invoices.test.ts'],
  },
  {
    name: 'tasks: changing the frequency or hour does not reschedule the entities',
    file: 'api/resources/tasks/service.ts',
    search: 'scheduleChanged ? (tx, updated) => rescheduleEntities(tx, updated, deps.clock.now()) : undefined',
    replace: 'undefined',
    tests: ['test/workers/backup/scheduler.test.ts'],
  },
  {
    name: 'scheduler: a paused task is still scheduled',
    file: 'workers/jobs/scheduler.ts',
    search: " and t.paused_at is null",
    replace: '',
    tests: ['test/api/task-operations.test.ts'],
  },
  {
    name: 'API keys: a key created without scopes gets every permission, not its creator\'s',
    file: 'api/resources/api-keys/service.ts',
    search: 'const scopes = ALL_PERMISSIONS.filter((p) => (input.scopes ?? [...owner.held]).includes(p));',
    replace: 'const scopes = ALL_PERMISSIONS.filter((p) => (input.scopes ?? ALL_PERMISSIONS).includes(p));',
    tests: ['test/api/api-keys.test.ts'],
  },
  {
    name: 'idempotency: records are shared by every credential of the account',
    file: 'api/plugins/idempotency.ts',
    search: 'return { scope: `${ctx.accountId}/${ctx.userId}/${ctx.credentialId}`, anonymous: false };',
    replace: 'return { scope: `${ctx.accountId}`, anonymous: false };',
    tests: ['test/api/idempotency.test.ts'],
  },
  {
    name: 'jobs: the export link is shown to callers who may not export',
    file: 'api/resources/jobs/service.ts',
    search: "&& ctx.permissions.has('recovery:export') ? downloadToken(deps, row) : null",
    replace: '? downloadToken(deps, row) : null',
    tests: ['test/api/exports.test.ts'],
  },
  {
    name: 'event stream: no look-back, so an event whose transaction commits late is never sent',
    file: 'api/resources/events/stream.ts',
    search: 'const LOOKBACK_MS = 60_000;',
    replace: 'const LOOKBACK_MS = 0;',
    tests: ['test/api/events-stream.test.ts'],
  },
  {
    name: 'events: one event is read without the account scope',
    file: 'api/resources/events/service.ts',
    search: 'where(and(eq(events.accountId, ctx.accountId), eq(events.id, id)))',
    replace: 'where(and(eq(events.id, id)))',
    tests: ['test/api/events.test.ts'],
  },
];
