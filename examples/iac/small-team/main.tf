# A small team: one Dropbox team backed up daily at 02:00 UTC and kept for a year, and its
# administrator's folder adopted and tagged. From this directory:
#
#   export COFFER_API_URL=https://coffer.example.com COFFER_API_KEY=cfk_…
#   export COFFER_VAR_dropbox_refresh_token=…     # or leave it out and approve authorize_url
#   coffer iac init
#   coffer iac plan -detailed-exitcode -out=tfplan
#   coffer iac apply tfplan

provider "coffer" {
  # api_url, api_key (and account, for a partner acting on a customer) default to
  # COFFER_API_URL, COFFER_API_KEY and the profile saved by `coffer login`.
}

variable "dropbox_refresh_token" {
  description = "A Dropbox refresh token of Coffer's app: the task connects without a browser. Never stored."
  type        = string
  sensitive   = true
}

variable "admin_email" {
  type    = string
  default = "ada.admin@team.test"
}

resource "coffer_task" "team" {
  name                = "Acme"
  refresh_token       = var.dropbox_refresh_token
  wait_for_connection = "2m"
  auto_activate       = false
  frequency           = "daily"
  backup_hour         = 2
  retention           = { unit = "years", value = 1 }
}

resource "coffer_tag" "leadership" {
  name = "leadership"
}

resource "coffer_entity" "admin" {
  task_id = coffer_task.team.id
  email   = var.admin_email
  tags    = [coffer_tag.leadership.id]
}

output "task_id" {
  value = coffer_task.team.id
}

output "admin_status" {
  value = coffer_entity.admin.status
}
