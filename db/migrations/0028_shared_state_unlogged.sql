-- rate_counters is UNLOGGED, as it was when start-up created it (drizzle-kit cannot say so):
-- counters are worth no WAL, and a crash merely resets them.
ALTER TABLE "rate_counters" SET UNLOGGED;
--> statement-breakpoint
-- The credential versions a database held before these tables were migrations (0026 set them aside).
DO $$
BEGIN
  IF to_regclass('credential_versions_before_migration') IS NOT NULL THEN
    INSERT INTO "credential_versions" ("account_id", "version")
      SELECT "account_id", "version" FROM "credential_versions_before_migration";
    DROP TABLE "credential_versions_before_migration";
  END IF;
END $$;
