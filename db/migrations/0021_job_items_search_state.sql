CREATE TABLE "job_items" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"job_id" text NOT NULL,
	"account_id" text NOT NULL,
	"path" text NOT NULL,
	"destination" text,
	"size" bigint NOT NULL,
	"status" text NOT NULL,
	"error" text
);
--> statement-breakpoint
ALTER TABLE "backup_runs" ADD COLUMN "search_indexed_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "jobs" ADD COLUMN "task_name" text;--> statement-breakpoint
ALTER TABLE "jobs" ADD COLUMN "entity_name" text;--> statement-breakpoint
ALTER TABLE "job_items" ADD CONSTRAINT "job_items_job_id_jobs_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."jobs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "job_items_job_idx" ON "job_items" USING btree ("job_id","id");