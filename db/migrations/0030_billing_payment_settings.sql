CREATE TABLE "billing_payment_settings" (
	"account_id" text PRIMARY KEY NOT NULL,
	"auto_pay" boolean DEFAULT true NOT NULL,
	"payment_day" integer,
	"version" integer DEFAULT 1 NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "billing_payment_settings" ADD CONSTRAINT "billing_payment_settings_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE cascade ON UPDATE no action;