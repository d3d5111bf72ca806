// The directory: one register of the provider's platforms, resources, staff, tenants with
// their approvers, and auditors, across every platform (convention art. 2). Every change is
// a ledger entry before it is stored, so a tenant can later check which approver keys the
// provider registered for it and when.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/json.h"
#include "core/result.h"
#include "core/yaml.h"
#include "directory/model.h"
#include "ledger/ledger.h"
#include "storage/storage.h"

namespace cloudpact::directory {

// An immutable view of the whole directory; readers keep the shared_ptr they got, writers
// publish a new one.
//
// The Resolve* lookups map the names records go by in logs to records, for correlating
// audit logs: exact matches only, O(1) on average, no allocation. Their indexes are built
// by Reindex(), which Directory runs for every snapshot it publishes. A copy of a snapshot
// starts with empty indexes (they would point into the original) until it is reindexed.
struct Snapshot {
  std::unordered_map<std::string, Platform> platforms;
  std::unordered_map<std::string, Resource> resources;
  std::unordered_map<std::string, Staff> staff;
  std::unordered_map<std::string, Tenant> tenants;
  std::unordered_map<std::string, Approver> approvers;
  std::unordered_map<std::string, Auditor> auditors;
  std::unordered_map<std::string, std::vector<std::string>> approvers_by_tenant;
  // Tenant → ledger indexes, ascending, of every entry that set one of its approvers' public
  // keys: "directory.approver" entries that created an approver or changed its key, and
  // "directory.approver_key" entries (SetApproverKey). The tenant's access log lists them so
  // that every key change is among the tenant's verified records. Changes made before
  // these were kept are not listed (the ledger still holds them).
  std::unordered_map<std::string, std::vector<uint64_t>> key_events;

  const Resource* FindResource(const std::string& id) const;
  const Staff* FindStaff(const std::string& id) const;
  const Approver* FindApprover(const std::string& id) const;
  const Tenant* FindTenant(const std::string& id) const;
  // What kind of principal an id names: "staff", "approver", "auditor", or "" if unknown.
  std::string PrincipalKind(const std::string& id) const;

  // The platform whose id or one of whose aliases is `name`; nullptr if none.
  const Platform* ResolvePlatform(std::string_view name) const;
  // The resource whose id or alias is `name`. With a `platform_id` (a Platform id, not an
  // alias), aliases match only on that platform, and such a match wins over a resource of
  // another platform whose id is `name`; an id matches on any platform. Without one, an
  // alias that resources on two or more platforms share is ambiguous: nullptr.
  const Resource* ResolveResource(std::string_view name, std::string_view platform_id = {}) const;
  // The staff member whose id or one of whose accounts is `account`; nullptr if none.
  // Disabled staff resolve too: the caller decides what that means.
  const Staff* ResolveStaff(std::string_view account) const;
  // The staff member with an ssh_keys entry of this fingerprint ("SHA256:" + unpadded
  // base64, as `ssh-keygen -l` and sshd print it); nullptr if none, or if two staff
  // members registered the same key.
  const Staff* StaffByKeyFingerprint(std::string_view fingerprint) const;

  // Rebuilds approvers_by_tenant and the lookup indexes from the records above.
  void Reindex();

 private:
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  template <typename V>
  using NameMap = std::unordered_map<std::string, V, NameHash, std::equal_to<>>;
  // Pointers into the maps above. Moving a snapshot keeps them valid (the nodes move with
  // the maps); copying does not, so a copy starts empty.
  struct Indexes {
    NameMap<const Platform*> platforms;  // id or alias; nullptr: ambiguous
    NameMap<const Resource*> resource_ids;
    // alias → the resources that carry it, at most one per platform
    NameMap<std::vector<const Resource*>> resource_aliases;
    NameMap<const Staff*> staff;         // id or account; nullptr: ambiguous
    NameMap<const Staff*> fingerprints;  // nullptr: a key two people registered

    Indexes() = default;
    Indexes(Indexes&&) = default;
    Indexes& operator=(Indexes&&) = default;
    Indexes(const Indexes&) {}
    Indexes& operator=(const Indexes&) {
      *this = Indexes();
      return *this;
    }
  };
  Indexes index_;
};

// JSON forms, as the REST API and the ledger show them (public keys in base64).
Json ToJson(const Platform& v);
Json ToJson(const Resource& v);
Json ToJson(const Staff& v);
Json ToJson(const Tenant& v);
Json ToJson(const Approver& v);
Json ToJson(const Auditor& v);

// Parses a directory document: top-level keys platforms, resources, staff, tenants (with
// nested approvers), auditors. Every problem is reported, each with its line when the
// document came from YAML. See docs/ACCESS.md for the format.
Result<DirectorySpec> ParseDirectory(const YamlDocument& doc);

// One approver's public key changed by SetApproverKey.
struct ApproverKeyChange {
  std::string approver;
  std::string tenant;
  std::string public_key;    // 32 raw bytes
  std::string previous_key;  // 32 raw bytes; empty if the approver had none
  uint64_t ledger_index = 0;
};

struct ApplyResult {
  int created = 0;
  int updated = 0;
  int unchanged = 0;
  std::vector<uint64_t> ledger_indexes;
};

class Directory {
 public:
  // Checks a staff record against rules the directory does not own (the access policy's
  // roles and separation-of-duty constraints); the server wires it in.
  using StaffValidator = std::function<Status(const Staff&)>;

  static Result<std::unique_ptr<Directory>> Load(storage::Storage& store, ledger::Ledger& ledger);

  std::shared_ptr<const Snapshot> snapshot() const;

  // Upserts every record in `spec`: validated as a whole against the resulting directory
  // (references, unique ids across principals, keys), each changed record ledgered as
  // "directory.<kind>" with its full public content, then stored in one transaction.
  // Nothing is stored if validation or the ledger fails.
  Result<ApplyResult> Apply(const DirectorySpec& spec, const std::string& actor);

  // Replaces one approver's Ed25519 public key (32 raw bytes), e.g. when the approver
  // registers a key they proved they hold. Ledgered first as "directory.approver_key"
  // {approver, tenant, public_key, previous_key (base64; "" if none)} plus the members of
  // `evidence` (an object; e.g. the proof of possession), then stored; nothing is stored if
  // the ledger refuses. kNotFound for an unknown approver, kInvalidArgument for a key that
  // is not 32 bytes or an `evidence` that is not an object or reuses those member names.
  Result<ApproverKeyChange> SetApproverKey(const std::string& approver, const std::string& public_key,
                                           const std::string& actor, const Json& evidence = Json::object());

  void SetStaffValidator(StaffValidator validator);

 private:
  Directory(storage::Storage& store, ledger::Ledger& ledger) : store_(store), ledger_(ledger) {}

  storage::Storage& store_;
  ledger::Ledger& ledger_;
  std::mutex write_mu_;  // one Apply at a time
  mutable std::shared_mutex mu_;
  std::shared_ptr<const Snapshot> snapshot_;  // GUARDED_BY(mu_)
  StaffValidator staff_validator_;            // GUARDED_BY(write_mu_)
};

}  // namespace cloudpact::directory
