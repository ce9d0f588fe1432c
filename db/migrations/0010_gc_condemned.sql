ALTER TABLE "blocks" ADD COLUMN "condemned_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "contents" ADD COLUMN "condemned_at" timestamp with time zone;