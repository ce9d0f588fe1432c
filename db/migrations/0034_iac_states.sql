CREATE TABLE "iac_state_versions" (
	"account_id" text NOT NULL,
	"name" text NOT NULL,
	"serial" integer NOT NULL,
	"lineage" text NOT NULL,
	"size" integer NOT NULL,
	"body" text NOT NULL,
	"created_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "iac_state_versions_account_id_name_serial_pk" PRIMARY KEY("account_id","name","serial")
);
--> statement-breakpoint
CREATE TABLE "iac_states" (
	"account_id" text NOT NULL,
	"name" text NOT NULL,
	"serial" integer,
	"lineage" text,
	"lock_id" text,
	"lock_who" text,
	"lock_operation" text,
	"locked_at" timestamp with time zone,
	"locked_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "iac_states_account_id_name_pk" PRIMARY KEY("account_id","name")
);
--> statement-breakpoint
ALTER TABLE "iac_state_versions" ADD CONSTRAINT "iac_state_versions_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "iac_state_versions" ADD CONSTRAINT "iac_state_versions_account_id_name_iac_states_account_id_name_fk" FOREIGN KEY ("account_id","name") REFERENCES "public"."iac_states"("account_id","name") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "iac_states" ADD CONSTRAINT "iac_states_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "iac_states" ADD CONSTRAINT "iac_states_locked_by_users_id_fk" FOREIGN KEY ("locked_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;