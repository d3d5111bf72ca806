// The directory's records: the provider's platforms and resources, its staff (internal and
// outsourced alike), tenants with their approvers, and auditors. Plain values; the
// Directory class (directory.h) validates, stores and ledgers them.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace cloudpact::directory {

// How much harm misuse of a resource can do; approval rules select on it.
enum class Risk { kLow = 0, kMedium = 1, kHigh = 2, kCritical = 3 };
std::string_view RiskName(Risk risk);
bool ParseRisk(std::string_view name, Risk* out);

// One of the provider's cloud platforms (an OpenStack region, a Kubernetes fleet, …).
struct Platform {
  std::string id;
  std::string name;
  std::string kind;  // free text: "openstack", "kubernetes", "aliyun", …
  // Names the platform goes by in logs: a cluster name, an OpenStack region, a cloud
  // account id. None may be another platform's id or alias.
  std::vector<std::string> aliases;
};

// How the gateway reaches a host over SSH. The host key is pinned: the gateway refuses a
// target that presents any other. The credential the gateway logs in with is not here (the
// directory is public evidence); it is set separately and kept sealed (docs/GATEWAY.md).
struct SshEndpoint {
  std::string host;
  int port = 22;
  std::string host_key;  // OpenSSH public key line of the target's host key
};

struct Resource {
  std::string id;
  std::string platform;  // a Platform id
  std::string type;      // "host", "database", "bucket", "cluster", …
  std::map<std::string, std::string> labels;
  std::string tenant;    // owning tenant id; empty: the provider's own
  bool tenant_data = false;  // holds tenant data: access needs the tenant's signed approval
  Risk risk = Risk::kLow;
  std::optional<SshEndpoint> ssh;  // set for hosts reachable through the SSH gateway
  // Names the resource goes by in logs: host names, FQDNs, IP addresses, ARNs, Kubernetes
  // "namespace/name", OpenStack UUIDs. Unique per platform (not across platforms: two
  // platforms may each have a "db01"), and none may be another resource's id there.
  std::vector<std::string> aliases;
};

enum class StaffKind { kInternal, kOutsourced };

struct Staff {
  std::string id;  // also the sign-in name
  std::string name;
  StaffKind kind = StaffKind::kInternal;
  // "provider" for internal staff; the contractor's company for outsourced staff.
  std::string organisation = "provider";
  std::vector<std::string> roles;     // policy role names
  std::vector<std::string> ssh_keys;  // OpenSSH public key lines
  // Accounts that are this person in logs: unix login, IAM user ARN, Kubernetes user name,
  // OpenStack user id. The id always counts and need not be listed. Shared accounts
  // ("root") are refused: logs attribute them through the key fingerprint, sudo's invoking
  // user or the audit login uid instead.
  std::vector<std::string> accounts;
  std::string email;
  bool disabled = false;
};

// A tenant's approver. The private key never leaves the tenant; only the Ed25519 public key
// is registered here, and every lockbox approval must verify under one of them.
struct Approver {
  std::string id;
  std::string name;
  std::string tenant;
  std::string public_key;  // 32 raw bytes (base64 in JSON/YAML)
  std::string email;
};

struct Tenant {
  std::string id;
  std::string name;
  std::string webhook_url;  // empty: no webhook notifications
};

struct Auditor {
  std::string id;
  std::string name;
  std::string organisation;
};

// A whole directory as `cloudpact apply -f` reads it. Applying upserts every record given;
// records not mentioned are left alone unless they are listed under `remove`.
struct DirectorySpec {
  std::vector<Platform> platforms;
  std::vector<Resource> resources;
  std::vector<Staff> staff;
  std::vector<Tenant> tenants;
  std::vector<Approver> approvers;
  std::vector<Auditor> auditors;
};

}  // namespace cloudpact::directory
