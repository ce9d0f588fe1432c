-- rate_counters and credential_versions used to be created at start-up (db/shared-state.ts), so a
-- database may hold them already. The next migration creates them as drizzle-kit describes them:
-- set the existing ones aside here (counters are worth nothing; the credential versions are copied
-- back by the migration after it, so no cached credential ever sees its version go back).
ALTER TABLE IF EXISTS "credential_versions" RENAME TO "credential_versions_before_migration";
--> statement-breakpoint
DROP TABLE IF EXISTS "rate_counters";
