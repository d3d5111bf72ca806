#include "ingest/event.h"

namespace cloudpact::ingest {

Json ToJson(const OperationEvent& e) {
  Json j = {{"time", e.time_ms},
            {"class_uid", e.ocsf_class_uid},
            {"activity_id", e.ocsf_activity_id},
            {"metadata",
             {{"product", {{"name", e.source}}}, {"log_line", e.line}, {"raw_sha256", e.raw_sha256}, {"uid", e.event_id}}},
            {"actor", {{"user", {{"name", e.actor}, {"org", {{"name", e.actor_org}}}}}}},
            {"src_endpoint", {{"ip", e.source_ip}}},
            {"auth", {{"key_fingerprint", e.key_fingerprint}}},
            {"cloud", {{"platform", e.platform}}},
            {"activity_name", e.action},
            {"dst_endpoint", {{"name", e.target}}},
            {"user", {{"name", e.target_login}}},
            {"status", e.outcome},
            {"privileged", e.privileged},
            {"message", e.detail}};
  return j;
}

const std::vector<std::string>& ParserNames() {
  static const auto* names = new std::vector<std::string>{"sshd", "sudo", "auditd", "k8s-audit", "cadf", "cloudtrail"};
  return *names;
}

Result<std::unique_ptr<LineParser>> MakeParser(std::string_view format) {
  if (format == "sshd") return MakeSshdParser();
  if (format == "sudo") return MakeSudoParser();
  if (format == "auditd") return MakeAuditdParser();
  if (format == "k8s-audit") return MakeK8sAuditParser();
  if (format == "cadf") return MakeCadfParser();
  if (format == "cloudtrail") return MakeCloudTrailParser();
  std::string names;
  for (const auto& n : ParserNames()) names += (names.empty() ? "" : ", ") + n;
  return MakeError(ErrorCode::kInvalidArgument, "unknown log format \"" + std::string(format.substr(0, 64)) +
                                                     "\" (expected one of: " + names + ")");
}

}  // namespace cloudpact::ingest
