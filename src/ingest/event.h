// Audit-log ingestion (convention articles 2, 5, 6, 7): one operation event for every
// platform's logs, whatever wrote them — sshd, sudo, auditd, Kubernetes audit, OpenStack
// CADF, cloud API trails — so that the same correlation with the access module applies to
// all of them. Field names follow OCSF where it has one (docs/INGEST.md).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/json.h"
#include "core/result.h"

namespace cloudpact::ingest {

struct OperationEvent {
  int64_t time_ms = 0;       // Unix milliseconds, UTC
  std::string source;        // the parser: "sshd", "sudo", "auditd", "k8s-audit", "cadf", "cloudtrail"
  std::string actor;         // the account as the log names it
  std::string actor_org;     // the organisation when the log names one (cloud account, project, domain)
  std::string source_ip;
  std::string platform;      // as the log names it (cluster, region, hostname); resolution maps it
  // Normalised: "ssh.login", "ssh.login_failed", "ssh.logout", "sudo.exec", "sudo.denied",
  // "process.exec", "user.change", "k8s.<verb>", "api.<service>.<operation>".
  std::string action;
  std::string target;        // host, object or resource as the log names it
  std::string target_login;  // the account acted as (sudo's runas, ssh's login)
  std::string outcome;       // "success", "failure" or "unknown"
  bool privileged = false;   // acts as root/admin, or changes what only admins may change
  std::string detail;        // command line, API request URI, …; may be sensitive
  std::string event_id;      // the log's own id when it has one (auditID, CADF id, eventID)
  std::string key_fingerprint;  // "SHA256:…" of the SSH key a login used (sshd)
  std::string raw_sha256;    // hex SHA-256 of the raw record bytes (all lines, for joined records)
  uint64_t line = 0;         // 1-based line of the record's first line in its source
  int ocsf_class_uid = 0;    // 3002 Authentication, 1007 Process Activity, 6003 API Activity, 3001 Account Change
  int ocsf_activity_id = 0;
};

// OCSF-aligned JSON of an event.
Json ToJson(const OperationEvent& e);

// A parser of one log format, fed line by line (JSON sources: one JSON document per line).
// Untrusted input: bounded memory whatever it is fed, never crashes; a line it cannot read is
// an error with a message, and the caller keeps the line (dead letter), never drops it.
class LineParser {
 public:
  virtual ~LineParser() = default;
  // One line without its newline, and its 1-based number in the source. Returns the events
  // that this line completes (zero, one or more: auditd joins records by serial).
  virtual Result<std::vector<OperationEvent>> Feed(std::string_view line, uint64_t line_no) = 0;
  // End of input: the events still being assembled.
  virtual std::vector<OperationEvent> Finish() = 0;
  // The lines of events still being assembled, with their numbers, in the order fed. The
  // pipeline saves them with the source's cursor so that after a restart a fresh parser is
  // fed them again and no half-joined event is lost (auditd). Stateless formats: none.
  virtual std::vector<std::pair<uint64_t, std::string>> PendingLines() const { return {}; }
  virtual std::string_view name() const = 0;
};

// "sshd", "sudo", "auditd", "k8s-audit", "cadf", "cloudtrail"; kInvalidArgument otherwise.
Result<std::unique_ptr<LineParser>> MakeParser(std::string_view format);
const std::vector<std::string>& ParserNames();

// The formats' own factories (one file each).
std::unique_ptr<LineParser> MakeSshdParser();
std::unique_ptr<LineParser> MakeSudoParser();
std::unique_ptr<LineParser> MakeAuditdParser();
std::unique_ptr<LineParser> MakeK8sAuditParser();
std::unique_ptr<LineParser> MakeCadfParser();
std::unique_ptr<LineParser> MakeCloudTrailParser();

}  // namespace cloudpact::ingest
