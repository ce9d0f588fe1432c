CREATE TABLE "jobs" (
	"id" text PRIMARY KEY NOT NULL,
	"account_id" text NOT NULL,
	"type" text NOT NULL,
	"state" text NOT NULL,
	"service" text DEFAULT 'dropbox' NOT NULL,
	"initiator_id" text,
	"initiator_email" text,
	"task_id" text NOT NULL,
	"entity_id" text NOT NULL,
	"snapshot_id" text NOT NULL,
	"snapshot_at" timestamp with time zone NOT NULL,
	"source" jsonb NOT NULL,
	"destination" jsonb NOT NULL,
	"destination_secret" text,
	"items_total" integer DEFAULT 0 NOT NULL,
	"items_done" integer DEFAULT 0 NOT NULL,
	"items_failed" integer DEFAULT 0 NOT NULL,
	"bytes_total" bigint DEFAULT 0 NOT NULL,
	"bytes_done" bigint DEFAULT 0 NOT NULL,
	"errors" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"reason" text,
	"checkpoint" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"cancel_requested" boolean DEFAULT false NOT NULL,
	"data_transport_calls" integer DEFAULT 0 NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"result_key" text,
	"result_size" bigint,
	"result_secret" text,
	"expires_at" timestamp with time zone,
	"created_at" timestamp with time zone NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"heartbeat_at" timestamp with time zone,
	"version" integer DEFAULT 1 NOT NULL
);
--> statement-breakpoint
CREATE TABLE "search_documents" (
	"item_version_id" text PRIMARY KEY NOT NULL,
	"account_id" text NOT NULL,
	"entity_id" text NOT NULL,
	"tsv" "tsvector" NOT NULL,
	"content_indexed" boolean DEFAULT false NOT NULL
);
--> statement-breakpoint
ALTER TABLE "jobs" ADD CONSTRAINT "jobs_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "jobs_account_idx" ON "jobs" USING btree ("account_id","created_at","id");--> statement-breakpoint
CREATE INDEX "jobs_active_idx" ON "jobs" USING btree ("state") WHERE state in ('pending', 'in_progress');--> statement-breakpoint
CREATE INDEX "search_documents_tsv_idx" ON "search_documents" USING gin ("tsv");--> statement-breakpoint
CREATE INDEX "search_documents_entity_idx" ON "search_documents" USING btree ("entity_id");