DROP INDEX "invoices_link_token_key";--> statement-breakpoint
ALTER TABLE "invoices" DROP COLUMN "link_token_hash";--> statement-breakpoint
ALTER TABLE "invoices" DROP COLUMN "link_expires_at";