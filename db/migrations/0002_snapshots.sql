CREATE TABLE "backup_runs" (
	"id" text PRIMARY KEY NOT NULL,
	"account_id" text NOT NULL,
	"task_id" text NOT NULL,
	"entity_id" text NOT NULL,
	"state" text NOT NULL,
	"reason" text NOT NULL,
	"mode" text NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"finished_at" timestamp with time zone,
	"new_count" integer DEFAULT 0 NOT NULL,
	"changed_count" integer DEFAULT 0 NOT NULL,
	"deleted_count" integer DEFAULT 0 NOT NULL,
	"failed_count" integer DEFAULT 0 NOT NULL,
	"unchanged_count" integer DEFAULT 0 NOT NULL,
	"downloaded_count" integer DEFAULT 0 NOT NULL,
	"bytes_downloaded" bigint DEFAULT 0 NOT NULL,
	"bytes_stored" bigint DEFAULT 0 NOT NULL,
	"total_items" integer,
	"total_size" bigint,
	"errors" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"error" text,
	"start_cursor" text,
	"cursor" text,
	"pages" integer DEFAULT 0 NOT NULL,
	"dropbox_calls" integer DEFAULT 0 NOT NULL,
	"resumes" integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE "blocks" (
	"account_id" text NOT NULL,
	"hash" "bytea" NOT NULL,
	"pack_id" text NOT NULL,
	"offset" bigint NOT NULL,
	"length" integer NOT NULL,
	"plain_size" integer NOT NULL,
	"stored_size" integer NOT NULL,
	"compressed" boolean NOT NULL,
	CONSTRAINT "blocks_account_id_hash_pk" PRIMARY KEY("account_id","hash")
);
--> statement-breakpoint
CREATE TABLE "contents" (
	"account_id" text NOT NULL,
	"content_hash" text NOT NULL,
	"size" bigint NOT NULL,
	"blocks" "bytea" NOT NULL,
	CONSTRAINT "contents_account_id_content_hash_pk" PRIMARY KEY("account_id","content_hash")
);
--> statement-breakpoint
CREATE TABLE "item_versions" (
	"id" text PRIMARY KEY NOT NULL,
	"account_id" text NOT NULL,
	"entity_id" text NOT NULL,
	"path_lower" text NOT NULL,
	"path_display" text NOT NULL,
	"parent_lower" text NOT NULL,
	"name" text NOT NULL,
	"kind" text NOT NULL,
	"dropbox_id" text,
	"rev" text,
	"size" bigint DEFAULT 0 NOT NULL,
	"content_hash" text,
	"server_modified" timestamp with time zone,
	"client_modified" timestamp with time zone,
	"modified_by" text,
	"blocks" "bytea",
	"valid_from_run" text NOT NULL,
	"valid_until_run" text,
	"seen_run" text
);
--> statement-breakpoint
CREATE TABLE "packs" (
	"id" text PRIMARY KEY NOT NULL,
	"account_id" text NOT NULL,
	"key" text NOT NULL,
	"size" bigint DEFAULT 0 NOT NULL,
	"state" text NOT NULL,
	"run_id" text,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "backup_runs" ADD CONSTRAINT "backup_runs_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "backup_runs_entity_idx" ON "backup_runs" USING btree ("entity_id","id");--> statement-breakpoint
CREATE INDEX "backup_runs_account_idx" ON "backup_runs" USING btree ("account_id","id");--> statement-breakpoint
CREATE INDEX "backup_runs_running_idx" ON "backup_runs" USING btree ("state") WHERE state = 'running';--> statement-breakpoint
CREATE INDEX "item_versions_alive_idx" ON "item_versions" USING btree ("entity_id","path_lower") WHERE valid_until_run is null;--> statement-breakpoint
CREATE INDEX "item_versions_parent_idx" ON "item_versions" USING btree ("entity_id","parent_lower","valid_from_run");--> statement-breakpoint
CREATE INDEX "packs_account_idx" ON "packs" USING btree ("account_id","state");