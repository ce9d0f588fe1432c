CREATE TABLE "credential_versions" (
	"account_id" text PRIMARY KEY NOT NULL,
	"version" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "rate_counters" (
	"key" text PRIMARY KEY NOT NULL,
	"count" integer NOT NULL,
	"reset_ms" bigint NOT NULL
);
--> statement-breakpoint
CREATE INDEX "rate_counters_reset_ms_idx" ON "rate_counters" USING btree ("reset_ms");