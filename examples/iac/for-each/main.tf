# One tag per department and every listed person adopted with their department's tag, from a
# single map: adding a line adds a person, removing one releases them (back to not_active).
#
#   coffer iac plan -var-file=people.tfvars

variable "dropbox_refresh_token" {
  type      = string
  sensitive = true
}

variable "people" {
  description = "Email → department."
  type        = map(string)
  default = {
    "ada.admin@team.test" = "leadership"
    "bob@team.test"       = "engineering"
  }
}

locals {
  departments = toset(values(var.people))
}

resource "coffer_task" "team" {
  name                = "Acme (for_each)"
  refresh_token       = var.dropbox_refresh_token
  wait_for_connection = "2m"
  auto_activate       = false
}

resource "coffer_tag" "department" {
  for_each = local.departments
  name     = each.key
}

resource "coffer_entity" "person" {
  for_each = var.people
  task_id  = coffer_task.team.id
  email    = each.key
  tags     = [coffer_tag.department[each.value].id]
}

output "people" {
  value = { for email, e in coffer_entity.person : email => e.status }
}
