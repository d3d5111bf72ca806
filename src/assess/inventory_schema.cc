// The normalized types. Columns are what checks need across platforms: an OpenStack server
// and a row from another cloud's NDJSON both become `compute_instance` with `public_ip`, so
// one check covers both (art. 2: one standard on every platform).
#include <string>

#include "assess/inventory.h"
#include "crypto/sha256.h"

namespace cloudpact::assess {
namespace {

using T = ColumnType;

std::vector<TypeSpec> MakeTypes() {
  return {
      {"compute_instance", "virtual machines and bare-metal servers",
       {{"status", T::kText, "lower-case state, e.g. active, shutoff"},
        {"image_id", T::kText, "image it was booted from"},
        {"public_ip", T::kBool, "reachable at a public address"},
        {"key_name", T::kText, "SSH key pair injected at boot"},
        {"security_groups", T::kInteger, "number of security groups attached"},
        {"flavor", T::kText, "size"},
        {"host", T::kText, "hypervisor or node it runs on"}}},
      {"firewall_rule", "one rule of a security group, network ACL or firewall",
       {{"group_uid", T::kText, "uid of the security group it belongs to"},
        {"direction", T::kText, "ingress or egress"},
        {"protocol", T::kText, "tcp, udp, icmp, or any"},
        {"port_min", T::kInteger, "first port (NULL: all)"},
        {"port_max", T::kInteger, "last port (NULL: all)"},
        {"remote_cidr", T::kText, "source/destination prefix; 0.0.0.0/0 or ::/0 means anywhere"},
        {"remote_group", T::kText, "remote security group instead of a prefix"}}},
      {"security_group", "a security group as a whole",
       {{"rules", T::kInteger, "number of rules"}, {"description", T::kText, "its description"}}},
      {"volume", "block storage volumes",
       {{"encrypted", T::kBool, "encrypted at rest"},
        {"attached", T::kBool, "attached to a server"},
        {"bootable", T::kBool, "bootable"},
        {"size_gb", T::kInteger, "size in GiB"},
        {"status", T::kText, "lower-case state"},
        {"backup_policy", T::kText, "backup or snapshot policy name, if any"}}},
      {"image", "machine images and snapshots",
       {{"visibility", T::kText, "public, private, shared or community"},
        {"protected", T::kBool, "protected from deletion"},
        {"signed", T::kBool, "carries a signature that is verified at boot"},
        {"checksum", T::kText, "content hash as reported"},
        {"status", T::kText, "lower-case state"},
        {"is_snapshot", T::kBool, "a snapshot of an instance rather than a base image"}}},
      {"identity_user", "user accounts of the platform's identity service",
       {{"enabled", T::kBool, "can sign in"},
        {"mfa", T::kBool, "second factor enrolled"},
        {"password_expires_unix", T::kInteger, "password expiry (NULL: never)"},
        {"last_login_unix", T::kInteger, "last sign-in"},
        {"domain", T::kText, "identity domain"}}},
      {"role_assignment", "a role held by a user, group or service account on a scope",
       {{"principal", T::kText, "user, group or service account id"},
        {"principal_kind", T::kText, "user, group or service_account"},
        {"role", T::kText, "role name"},
        {"scope", T::kText, "project, domain, namespace, cluster or system"},
        {"privileged", T::kBool, "an administrative role (admin, cluster-admin, …)"}}},
      {"workload", "Kubernetes pods and the controllers that create them",
       {{"kind", T::kText, "Pod, Deployment, StatefulSet, DaemonSet, Job, CronJob"},
        {"privileged", T::kBool, "a container runs privileged"},
        {"host_network", T::kBool, "uses the node's network namespace"},
        {"host_pid", T::kBool, "uses the node's PID namespace"},
        {"run_as_non_root", T::kBool, "every container must run as non-root"},
        {"allow_privilege_escalation", T::kBool, "a container allows privilege escalation"},
        {"image_latest", T::kBool, "an image has no tag or the tag latest"},
        {"limits_set", T::kBool, "every container has CPU and memory limits"},
        {"service_account", T::kText, "service account it runs as"},
        {"images", T::kText, "images, comma-separated, in container order"}}},
      {"namespace", "Kubernetes namespaces and OpenStack projects",
       {{"network_policies", T::kInteger, "NetworkPolicy objects in it (NULL: not collected)"},
        {"status", T::kText, "lower-case state"}}},
      {"cp_staff", "cloudpact: a person in the directory",
       {{"kind", T::kText, "employee or outsourced"},
        {"organisation", T::kText, "employer"},
        {"standing_privileged", T::kInteger, "privileged roles held without a grant"},
        {"allowed_window", T::kText, "the hours they may work, if restricted"},
        {"mfa", T::kBool, "second factor enrolled"},
        {"last_access_review_unix", T::kInteger, "newest access-review decision about them (NULL: never)"}}},
      {"cp_grant", "cloudpact: an access request and its grant",
       {{"staff", T::kText, "who asked"},
        {"state", T::kText, "pending, approved, denied, expired, revoked"},
        {"break_glass", T::kBool, "break-glass"},
        {"approvals", T::kInteger, "approvals given"},
        {"approvals_required", T::kInteger, "approvals needed"},
        {"tenants_required", T::kInteger, "tenants whose signed approval is needed"},
        {"tenants_approved", T::kInteger, "tenants that signed"},
        {"self_approved", T::kBool, "an approver approved their own request"},
        {"duration_s", T::kInteger, "length of the grant"},
        {"reviewed", T::kBool, "break-glass: reviewed afterwards"}}},
      {"cp_session", "cloudpact: a gateway session",
       {{"staff", T::kText, "who"},
        {"target", T::kText, "host"},
        {"state", T::kText, "open, closed, terminated"},
        {"recording_complete", T::kBool, "its recording is complete and ledgered"},
        {"commands", T::kInteger, "commands recorded"}}},
      {"cp_finding", "cloudpact: a finding of the audit-log correlation",
       {{"kind", T::kText, "privileged_without_grant, tenant_data_without_tenant_approval, …"},
        {"severity", T::kText, "critical or high"},
        {"state", T::kText, "open or closed"},
        {"principal", T::kText, "who"},
        {"time_unix", T::kInteger, "when the operation happened"}}},
      {"cp_source", "cloudpact: an audit-log source",
       {{"format", T::kText, "parser"},
        {"last_event_unix", T::kInteger, "newest event received (NULL: none yet)"},
        {"events", T::kInteger, "events received"}}},
      {"cp_platform", "cloudpact: a platform in the directory",
       {{"service_model", T::kText, "iaas, paas or saas"},
        {"gateway_fronted", T::kInteger, "resources reachable only through the gateway"},
        {"resources", T::kInteger, "resources in the directory"},
        {"inventory_resources", T::kInteger, "resources imported into the inventory"},
        {"last_import_unix", T::kInteger, "newest import (NULL: never)"},
        {"last_assessed_unix", T::kInteger, "newest assessment run covering it"}}},
      {"cp_target", "cloudpact: a host reached through the SSH gateway",
       {{"target_platform", T::kText, "the platform it belongs to"},
        {"host_key_pinned", T::kBool, "the gateway verifies its host key against a pinned one"},
        {"credential_kind", T::kText, "key or password"}}},
      {"cp_tenant", "cloudpact: a tenant in the directory",
       {{"service_model", T::kText, "iaas, paas or saas: what it buys"},
        {"approvers", T::kInteger, "tenant approvers enrolled"},
        {"responsibility_report_unix", T::kInteger, "last shared-responsibility report delivered (NULL: never)"}}},
      {"cp_ledger", "cloudpact: the transparency ledger",
       {{"size", T::kInteger, "entries"},
        {"witnesses", T::kInteger, "witness keys configured"},
        {"cosigned_size", T::kInteger, "largest checkpoint cosigned by a witness (NULL: none)"}}},
  };
}

}  // namespace

const std::vector<TypeSpec>& Types() {
  static const std::vector<TypeSpec> types = MakeTypes();
  return types;
}

const TypeSpec* FindType(std::string_view type) {
  for (const auto& t : Types()) {
    if (t.type == type) return &t;
  }
  return nullptr;
}

std::string SchemaFingerprint() {
  std::string all;
  for (const auto& t : Types()) {
    all.append(t.type).push_back('(');
    for (const auto& c : t.columns) {
      all.append(c.name).push_back(':');
      all.push_back(static_cast<char>('0' + static_cast<int>(c.type)));
      all.push_back(',');
    }
    all.push_back(')');
  }
  return crypto::Sha256Hex(all).substr(0, 16);
}

}  // namespace cloudpact::assess
