# A team's administration as code: tags, users, an IP allowlist, notifications and a webhook, with
# the state kept in Coffer itself (backend "coffer"), so a pipeline needs no state file.
#
#   export COFFER_API_URL=https://coffer.example.com COFFER_API_KEY=cfk_…   # needs iac_state:manage
#   coffer iac init
#   coffer iac plan -detailed-exitcode -out=tfplan   # exit 2: changes to apply
#   coffer iac apply tfplan
#   coffer iac plan -detailed-exitcode               # exit 0: No changes.

terraform {
  backend "coffer" {
    name = "admin-example"
  }
}

provider "coffer" {}

variable "office_cidr" {
  type        = string
  description = "The addresses the team (and this pipeline) works from."
  default     = "127.0.0.0/8"
}

variable "hook_url" {
  type    = string
  default = "https://hooks.example.com/coffer"
}

locals {
  teams = toset(["finance", "engineering"])
  people = {
    auditor  = { email = "auditor@example.com", permissions = ["backups:read", "activity:read"] }
    restorer = { email = "restorer@example.com", permissions = ["backups:read", "recovery:restore"] }
  }
}

resource "coffer_tag" "team" {
  for_each = local.teams
  name     = each.key
}

resource "coffer_user" "staff" {
  for_each    = local.people
  email       = each.value.email
  name        = each.key
  role        = "custom"
  permissions = each.value.permissions
}

resource "coffer_ip_allowlist_entry" "office" {
  description = "Office and CI"
  cidr        = var.office_cidr
}

resource "coffer_ip_allowlist" "main" {
  enabled    = true
  depends_on = [coffer_ip_allowlist_entry.office]
}

resource "coffer_notification_settings" "main" {
  frequency       = "weekly"
  only_on_failure = true
}

resource "coffer_notification_recipient" "ops" {
  email        = "ops@example.com"
  display_name = "Operations"
  types        = ["exceptions", "recovery", "smart_alerts"]
}

resource "coffer_webhook_endpoint" "pager" {
  url         = var.hook_url
  events      = ["backup.run_failed", "task.disconnected"]
  description = "Pager"
}

output "webhook_secret" {
  value     = coffer_webhook_endpoint.pager.secret
  sensitive = true
}
