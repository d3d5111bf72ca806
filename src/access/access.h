// Access governance (convention articles 6 and 7): just-in-time requests with k-of-n
// approvals, tenant-signed lockbox approvals, break-glass, grants, authorization decisions,
// and the policy that governs them — itself changed only with a second admin's approval.
//
// Every state change is a ledger entry written before the change is stored (fail closed).
// A grant is the active state of an approved request: its id is the request's id.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "access/policy.h"
#include "core/json.h"
#include "core/result.h"
#include "directory/directory.h"
#include "ledger/ledger.h"
#include "storage/storage.h"

namespace cloudpact::access {

// The statement a tenant approver signs (Ed25519, with a key only the tenant holds):
//   "cloudpact-access-review/v1\n" + decision + "\n" + request digest (hex) + "\n"
// where the digest is SHA-256 over the request's canonical JSON (RequestCanonical).
std::string ReviewMessage(std::string_view decision, std::string_view digest_hex);

// The statement an approver signs with a new key to register it themselves (proof of
// possession; POST /v1/auth/approver-key):
//   "cloudpact-approver-key/v1\n" + approver id + "\n" + tenant id + "\n" + public key
//   (base64, as sent) + "\n"
std::string ApproverKeyStatement(std::string_view approver, std::string_view tenant, std::string_view public_key_b64);

struct Review {
  std::string reviewer;
  std::string reviewer_kind;  // "staff" or "approver"
  std::string organisation;   // staff: their organisation; approver: "tenant:<id>"
  std::string tenant;         // approvers only
  std::string decision;       // "approve" or "deny"
  std::string comment;
  std::string signature;      // 64 raw bytes; tenant approvers only
  std::string public_key;     // the approver's registered key at the time (32 raw bytes)
  std::vector<std::string> roles;  // staff: their roles when they reviewed
  int64_t time = 0;
  uint64_t ledger_index = 0;
};

// One approval rule's requirement as it stood when the request was made.
struct Requirement {
  std::string rule;  // rule name, or "default" when no rule matched
  int approvals = 1;
  std::vector<std::string> approver_roles;  // empty: anyone whose roles grant access:review
  int distinct_organisations = 1;
};

enum class State { kPending, kActive, kDenied, kExpired, kRevoked };
std::string_view StateName(State s);

struct AccessRequest {
  std::string id;  // "req_" + 16 hex digits; also the grant's id
  std::string requester;
  std::vector<std::string> resources;  // sorted, unique
  std::vector<std::string> actions;    // sorted, unique
  std::string reason;                  // one of ReasonCodes()
  std::string justification;           // kept off the public ledger (confidential part)
  std::string ticket;
  int64_t duration_seconds = 0;
  int64_t created = 0;
  int64_t decide_by = 0;               // pending requests expire at this time
  bool break_glass = false;

  // Decided at creation from the policy in force, and kept: a later policy change does not
  // move the goalposts of a request already under review.
  int64_t policy_version = 0;
  std::vector<Requirement> requirements;      // every one must be met
  std::vector<std::string> tenants_required;  // tenants whose signed approval is needed
  // The grant is usable only inside some window of every set (one set per rule with windows).
  std::vector<std::vector<TimeWindow>> window_sets;
  std::string digest;                         // hex SHA-256 of RequestCanonical()

  State state = State::kPending;
  std::vector<Review> reviews;
  int64_t granted = 0;         // when it became active
  int64_t grant_expires = 0;   // active until
  std::string closed_by;       // who revoked (or "cloudpact" for expiry)
  std::string close_reason;
  int64_t closed = 0;
  // Break-glass: when the after-the-fact review is due, and its outcome.
  int64_t review_due = 0;
  std::string post_review;     // "", "justified" or "unjustified"
  std::vector<uint64_t> ledger_indexes;  // every entry about this request, in order
};

// The canonical JSON of a request as signed by tenants and hashed into `digest`:
// {"type":"cloudpact.access-request/v1","log":ORIGIN,"id","requester","resources",
//  "actions","reason","justification_sha256","ticket","duration_seconds","created",
//  "break_glass"} in RFC 8785 form.
Result<std::string> RequestCanonical(const AccessRequest& r, std::string_view log_origin);

Json ToJson(const AccessRequest& r, bool include_justification);

struct NewRequest {
  std::vector<std::string> resources;
  std::vector<std::string> actions;
  std::string reason;
  std::string justification;
  std::string ticket;
  int64_t duration_seconds = 0;  // 0: the policy's maximum for this scope
};

struct NewReview {
  std::string decision;   // "approve" or "deny"
  std::string comment;
  std::string signature;  // raw bytes; required for tenant approvers
};

struct Decision {
  bool allow = false;
  std::string reason;
  std::string grant;  // the grant (request id) that allowed it, if any
  std::string role;   // or the standing role
  // Not allowed, but only because of time windows: a grant covers it at other times of day
  // or days of the week.
  bool outside_window = false;
  bool break_glass = false;  // the grant that allowed it was break-glass
  // The grant that allowed it needed signed approvals from tenants (tenants_required is not
  // empty) and carries one from every one of them.
  bool tenant_approved = false;
};

struct PolicyVersion {
  int64_t version = 0;
  std::string text;  // the YAML as proposed
  std::string sha256;
  std::string state;  // "proposed", "active", "superseded", "rejected"
  std::string proposed_by, approved_by;
  int64_t proposed = 0, decided = 0;
  uint64_t ledger_index = 0;
};

// A periodic access review (art. 6 "minimise"): every privileged role assignment at the
// time the campaign starts, each to be kept or removed by a reviewer who does not hold it.
struct CampaignItem {
  std::string staff, role, organisation;
  std::string decision;  // "", "keep" or "remove"
  std::string decided_by, comment;
  int64_t decided = 0;
};
struct Campaign {
  std::string id;  // "cmp_" + 16 hex digits
  std::string name;
  std::string started_by;
  int64_t started = 0, due = 0;
  std::vector<CampaignItem> items;
  uint64_t ledger_index = 0;
};
Json ToJson(const Campaign& c);

// Called for tenant notifications (new lockbox request, break-glass, grant) and approver
// notifications; the server delivers them as HMAC-signed webhooks. Must not block long.
using Notifier = std::function<void(const std::string& tenant, const Json& event)>;

class AccessService {
 public:
  using Clock = std::function<int64_t()>;  // unix seconds

  static Result<std::unique_ptr<AccessService>> Load(storage::Storage& store, ledger::Ledger& ledger,
                                                     directory::Directory& directory, Clock clock = {});

  // --- policy ---
  // Validates and records a proposal. The first policy of an installation takes effect at
  // once (there is nothing to protect yet); every later one waits for ApprovePolicy.
  Result<PolicyVersion> ProposePolicy(const std::string& yaml, const std::string& actor);
  // A second security admin (not the proposer) activates a proposed version.
  Result<PolicyVersion> ApprovePolicy(int64_t version, const std::string& actor);
  Result<PolicyVersion> RejectPolicy(int64_t version, const std::string& actor, const std::string& reason);
  std::vector<PolicyVersion> Policies() const;
  std::shared_ptr<const Policy> policy() const;  // in force; an empty policy before the first
  int64_t policy_version() const;

  // The cloudpact permissions a principal's roles confer (Role::admin), for the API layer.
  std::vector<std::string> AdminPermissionsOf(const std::string& principal) const;
  // Whether this person must sign in with a second factor: tenant approvers, and staff who
  // hold a privileged role or any of cloudpact's own permissions.
  bool MfaRequired(const std::string& principal) const;
  // Whether a staff member could count as a reviewer of some request under the policy in
  // force: one of their roles is named by an approval rule's approver_roles or by
  // break_glass.reviewer_roles, or a role of theirs confers access:review (which rules
  // without approver_roles, and requests no rule matches, ask for). False for anyone
  // else, and for disabled staff. Separation of duties still decides each request.
  bool MayReview(const std::string& principal) const;
  // Checks a staff record against the policy (known roles, role conflicts); the directory
  // calls it on every apply.
  Status ValidateStaff(const directory::Staff& staff) const;

  // --- requests ---
  Result<AccessRequest> CreateRequest(const std::string& requester, const NewRequest& req);
  Result<AccessRequest> BreakGlass(const std::string& requester, const NewRequest& req);
  Result<AccessRequest> AddReview(const std::string& request_id, const std::string& reviewer,
                                  const NewReview& review);
  Result<AccessRequest> Revoke(const std::string& request_id, const std::string& actor, const std::string& reason);
  Result<AccessRequest> Get(const std::string& request_id) const;
  struct ListFilter {
    std::string requester;
    std::string tenant;      // touching this tenant's resources
    std::string state;       // "" = any
    std::string reviewable_by;  // pending requests this principal may review
  };
  std::vector<AccessRequest> List(const ListFilter& filter) const;
  // Why `reviewer` may not review `request_id`, or empty if they may.
  std::string WhyNotReviewer(const std::string& request_id, const std::string& reviewer) const;

  // Expires undecided requests and lapsed grants, ledgering each; the server calls it
  // periodically. Authorization does not wait for it: checks compare times themselves.
  Status Tick();

  // --- decisions ---
  // Allowed when a standing role or an active grant covers (principal, action, resource)
  // right now. Lock-free of storage: memory only.
  Decision Check(const std::string& principal, const std::string& action, const std::string& resource) const;
  Decision CheckAt(const std::string& principal, const std::string& action, const std::string& resource,
                   int64_t now) const;
  // Whether (principal, action, resource) was covered at unix second `at`, for judging
  // logs after the fact: by a standing role, or by a grant that was active then (granted
  // at or before `at`, and `at` before it expired or was revoked), inside the grant's time
  // windows at `at`. Standing roles are judged under the policy in force now, and the
  // principal's roles and disabled flag and the resource are taken from the directory as
  // it is now; grants keep the scope and windows they were granted with. When several
  // grants covered it, `grant` names one the tenants approved if there is one, else one
  // that is not break-glass, the newest of those. Memory only.
  Decision CoveredAt(const std::string& principal, const std::string& action, const std::string& resource,
                     int64_t at) const;
  // Records one use of a grant (a session, a command) as an "access.use" entry, so that the
  // tenant's access log shows uses next to approvals.
  Result<uint64_t> RecordUse(const std::string& grant, const std::string& principal, const std::string& action,
                             const std::string& resource, const Json& detail);

  // Records an entry about the use of `grant` (a gateway session, a command, a file) and
  // lists it with the grant, so that the tenant's access log shows it beside the approvals.
  // `grant` may be empty (a standing role, or an attempt that no grant covered): the entry
  // is then recorded but linked to nothing. The error is the ledger's: the caller must not
  // go on with what it wanted to record.
  Result<uint64_t> RecordEvidence(const std::string& grant, ledger::AppendRequest entry);

  // --- access review campaigns ---
  Result<Campaign> StartCampaign(const std::string& name, int64_t due, const std::string& actor);
  // Reviewers need access:review; nobody decides on their own assignment.
  Result<Campaign> DecideCampaignItem(const std::string& campaign, const std::string& staff, const std::string& role,
                                      const std::string& decision, const std::string& comment, const std::string& actor);
  Result<Campaign> GetCampaign(const std::string& id) const;
  std::vector<Campaign> Campaigns() const;

  // --- posture and transparency ---
  Json Posture() const;
  // Every request touching the tenant's resources, with the ledger indexes of its entries.
  std::vector<AccessRequest> TenantAccess(const std::string& tenant) const;

  void SetNotifier(Notifier notifier);

 private:
  Result<AccessRequest> Open(const std::string& requester, const NewRequest& req, bool break_glass);
  // Ledgers `entries` (in order), then stores the request, then publishes it in memory.
  // `first_entry_of`, if given, is a review of `r` that the first entry records.
  Status Commit(AccessRequest& r, std::vector<ledger::AppendRequest> entries, Review* first_entry_of = nullptr);
  // Lists ledger entry `index` with grant `grant` (if it exists), in memory and in storage.
  void LinkEvidence(const std::string& grant, uint64_t index, const std::string& actor);
  void Notify(const std::vector<std::string>& tenants, const Json& event);
  bool ExpireIfDue(AccessRequest& r, int64_t now, std::vector<ledger::AppendRequest>& entries);

  AccessService(storage::Storage& store, ledger::Ledger& ledger, directory::Directory& directory, Clock clock);
 public:
  ~AccessService();

 private:

  struct Impl;
  std::unique_ptr<Impl> impl_;
  storage::Storage& store_;
  ledger::Ledger& ledger_;
  directory::Directory& directory_;
  Clock clock_;
};

}  // namespace cloudpact::access
