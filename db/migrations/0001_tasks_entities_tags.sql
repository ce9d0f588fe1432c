CREATE TABLE "entities" (
	"id" text PRIMARY KEY NOT NULL,
	"account_id" text NOT NULL,
	"task_id" text NOT NULL,
	"kind" text NOT NULL,
	"dropbox_id" text NOT NULL,
	"name" text NOT NULL,
	"email" text,
	"namespace_id" text,
	"dropbox_status" text NOT NULL,
	"status" text NOT NULL,
	"state" text DEFAULT 'active' NOT NULL,
	"deleted_at" timestamp with time zone,
	"purge_at" timestamp with time zone,
	"archived_at" timestamp with time zone,
	"size_bytes" bigint DEFAULT 0 NOT NULL,
	"item_count" integer DEFAULT 0 NOT NULL,
	"first_backup_at" timestamp with time zone,
	"last_backup_at" timestamp with time zone,
	"next_backup_at" timestamp with time zone,
	"version" integer DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "entity_tags" (
	"entity_id" text NOT NULL,
	"tag_id" text NOT NULL,
	"account_id" text NOT NULL,
	CONSTRAINT "entity_tags_entity_id_tag_id_pk" PRIMARY KEY("entity_id","tag_id")
);
--> statement-breakpoint
CREATE TABLE "tags" (
	"id" text PRIMARY KEY NOT NULL,
	"account_id" text NOT NULL,
	"name" text NOT NULL,
	"version" integer DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "tasks" (
	"id" text PRIMARY KEY NOT NULL,
	"account_id" text NOT NULL,
	"name" text NOT NULL,
	"plan" text NOT NULL,
	"connection_status" text NOT NULL,
	"connection_error" text,
	"refresh_token" text,
	"oauth_state_hash" text,
	"oauth_state_expires_at" timestamp with time zone,
	"dropbox_team_id" text,
	"dropbox_team_name" text,
	"dropbox_admin_member_id" text,
	"index_for_search" boolean DEFAULT true NOT NULL,
	"auto_activate" boolean DEFAULT true NOT NULL,
	"retain_archived_days" integer,
	"retention" jsonb DEFAULT '{"unit":"unlimited"}'::jsonb NOT NULL,
	"frequency" text DEFAULT 'daily' NOT NULL,
	"backup_hour" integer DEFAULT 3 NOT NULL,
	"upload_limit" integer,
	"upload_calls" integer DEFAULT 0 NOT NULL,
	"upload_calls_month" text,
	"last_discovery_at" timestamp with time zone,
	"state" text DEFAULT 'active' NOT NULL,
	"deleted_at" timestamp with time zone,
	"purge_at" timestamp with time zone,
	"version" integer DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "activity_events" (
	"id" text PRIMARY KEY NOT NULL,
	"account_id" text NOT NULL,
	"type" text NOT NULL,
	"service" text DEFAULT 'dropbox' NOT NULL,
	"sub_service" text,
	"status" text NOT NULL,
	"task_id" text,
	"task_name" text,
	"entity_id" text,
	"item" text,
	"job_id" text,
	"description" text NOT NULL,
	"duration_ms" integer,
	"size_bytes" bigint,
	"counts" jsonb,
	"details" jsonb,
	"occurred_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "entities" ADD CONSTRAINT "entities_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "entities" ADD CONSTRAINT "entities_task_id_tasks_id_fk" FOREIGN KEY ("task_id") REFERENCES "public"."tasks"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "entity_tags" ADD CONSTRAINT "entity_tags_entity_id_entities_id_fk" FOREIGN KEY ("entity_id") REFERENCES "public"."entities"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "entity_tags" ADD CONSTRAINT "entity_tags_tag_id_tags_id_fk" FOREIGN KEY ("tag_id") REFERENCES "public"."tags"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "entity_tags" ADD CONSTRAINT "entity_tags_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tags" ADD CONSTRAINT "tags_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tasks" ADD CONSTRAINT "tasks_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "activity_events" ADD CONSTRAINT "activity_events_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "entities_task_dropbox_key" ON "entities" USING btree ("task_id","kind","dropbox_id");--> statement-breakpoint
CREATE INDEX "entities_account_idx" ON "entities" USING btree ("account_id","id");--> statement-breakpoint
CREATE INDEX "entities_due_idx" ON "entities" USING btree ("next_backup_at") WHERE state = 'active';--> statement-breakpoint
CREATE INDEX "entity_tags_tag_idx" ON "entity_tags" USING btree ("tag_id");--> statement-breakpoint
CREATE UNIQUE INDEX "tags_account_name_key" ON "tags" USING btree ("account_id",lower("name"));--> statement-breakpoint
CREATE INDEX "tags_account_idx" ON "tags" USING btree ("account_id","id");--> statement-breakpoint
CREATE INDEX "tasks_account_idx" ON "tasks" USING btree ("account_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "tasks_oauth_state_key" ON "tasks" USING btree ("oauth_state_hash");--> statement-breakpoint
CREATE INDEX "activity_events_account_idx" ON "activity_events" USING btree ("account_id","id");--> statement-breakpoint
CREATE INDEX "activity_events_entity_idx" ON "activity_events" USING btree ("entity_id","id");