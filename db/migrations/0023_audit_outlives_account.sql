ALTER TABLE "audit_events" DROP CONSTRAINT "audit_events_account_id_accounts_id_fk";
--> statement-breakpoint
ALTER TABLE "audit_heads" DROP CONSTRAINT "audit_heads_account_id_accounts_id_fk";
