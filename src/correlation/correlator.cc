#include "correlation/correlator.h"

#include <algorithm>

namespace cloudpact::correlation {
namespace {

using ingest::OperationEvent;

// Formats whose events happen on the host that wrote the log.
bool HostLogFormat(std::string_view source) {
  return source == "sshd" || source == "sudo" || source == "auditd";
}

// Access actions are [a-z0-9:_.-]: lower-case, anything else becomes '-'.
void AppendActionPart(std::string& out, std::string_view part) {
  for (char c : part) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
    out += ok ? c : '-';
  }
}

bool ValidName(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  });
}

}  // namespace

Status ValidateSourceConfig(const SourceConfig& source) {
  if (!ValidName(source.name)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "source name must be 1 to 64 characters of a-z, 0-9, '.', '_' or '-'");
  }
  if (source.formats.empty()) return MakeError(ErrorCode::kInvalidArgument, "source " + source.name + " names no format");
  for (const auto& f : source.formats) {
    auto p = ingest::MakeParser(f);
    if (!p.ok()) return MakeError(ErrorCode::kInvalidArgument, "source " + source.name + ": " + p.error().message);
  }
  return OkStatus();
}

std::string_view KindName(FindingKind kind) {
  switch (kind) {
    case FindingKind::kPrivilegedWithoutGrant: return "privileged_without_grant";
    case FindingKind::kTenantDataWithoutApproval: return "tenant_data_without_tenant_approval";
    case FindingKind::kOutsideWindow: return "outside_allowed_window";
    case FindingKind::kGatewayBypassed: return "gateway_bypassed";
  }
  return "unknown";
}

std::string_view KindTitleZh(FindingKind kind) {
  switch (kind) {
    case FindingKind::kPrivilegedWithoutGrant: return "无授权的特权操作";
    case FindingKind::kTenantDataWithoutApproval: return "未经租户批准访问租户数据";
    case FindingKind::kOutsideWindow: return "超出允许时段的操作";
    case FindingKind::kGatewayBypassed: return "绕过运维网关的登录";
  }
  return "";
}

std::string Correlator::AccessAction(const OperationEvent& e) {
  std::string out;
  const std::string_view a = e.action;
  if (a == "ssh.login" || a == "sudo.exec") {
    out = "login:";
    AppendActionPart(out, e.target_login.empty() ? std::string_view("root") : std::string_view(e.target_login));
  } else if ((a == "process.exec" && e.privileged) || a == "user.change") {
    out = "login:root";
  } else if (a.starts_with("k8s.") && a.size() > 4) {
    out = "k8s:";
    AppendActionPart(out, a.substr(4));
  } else if (a.starts_with("api.") && a.size() > 4) {
    out = "api:";
    AppendActionPart(out, a.substr(4));
  }
  return out;
}

Analysis Correlator::Analyze(const OperationEvent& e, const SourceConfig& source) const {
  Analysis out;
  Resolved& r = out.resolved;
  auto snap = directory_.snapshot();

  // Where: the source's own host for host logs, otherwise the names in the event.
  const directory::Platform* platform = nullptr;
  if (!source.platform.empty()) {
    r.platform = source.platform;
  } else if ((platform = snap->ResolvePlatform(e.platform))) {
    r.platform = platform->id;
  }
  const directory::Resource* res = nullptr;
  if (!source.resource.empty() && HostLogFormat(e.source)) res = snap->FindResource(source.resource);
  if (!res && !e.target.empty()) res = snap->ResolveResource(e.target, r.platform);
  // A Kubernetes object or an API call on a cluster or account the directory knows as one
  // resource: the grant is on that resource.
  if (!res && !e.platform.empty() && !HostLogFormat(e.source)) res = snap->ResolveResource(e.platform, r.platform);
  if (res) {
    r.resource = res->id;
    if (r.platform.empty()) r.platform = res->platform;
    r.tenant = res->tenant;
    r.tenant_data = res->tenant_data;
  }

  // Who: a login's key names the person even when the account is shared (root).
  const directory::Staff* staff = nullptr;
  if (!e.key_fingerprint.empty()) staff = snap->StaffByKeyFingerprint(e.key_fingerprint);
  if (!staff && !e.actor.empty()) staff = snap->ResolveStaff(e.actor);
  if (staff) {
    r.principal = staff->id;
    r.organisation = staff->organisation;
    r.outsourced = staff->kind == directory::StaffKind::kOutsourced;
  }

  if (e.outcome != "success") return out;  // an attempt that failed did not happen
  r.access_action = AccessAction(e);
  if (r.access_action.empty()) return out;

  const bool gateway_fronted = res && res->ssh.has_value() && e.action == "ssh.login";
  if (gateway_fronted && !e.key_fingerprint.empty() && gateway_key_ && gateway_key_(res->id, e.key_fingerprint)) {
    r.via_gateway = true;
    r.checked = true;
    r.coverage = "gateway";
    return out;  // the gateway authorised and recorded this session itself
  }
  if (!e.privileged && !r.tenant_data && !gateway_fronted) return out;

  r.checked = true;
  const std::string who = r.principal.empty() ? "\"" + e.actor + "\" (no one in the directory)" : r.principal;
  const std::string what = r.access_action + " on " + (r.resource.empty() ? "\"" + e.target + "\" (not in the directory)" : r.resource);
  access::Decision d;
  if (!r.principal.empty() && !r.resource.empty()) {
    d = access_.CoveredAt(r.principal, r.access_action, r.resource, e.time_ms / 1000);
  } else {
    d.reason = r.principal.empty() ? "the actor is not in the directory" : "the resource is not in the directory";
  }
  if (d.allow) {
    r.coverage = !d.grant.empty() ? (d.break_glass ? "break-glass:" : "grant:") + d.grant : "role:" + d.role;
  }

  if (gateway_fronted) {
    out.findings.push_back({FindingKind::kGatewayBypassed, "high",
                            who + " logged in to " + r.resource + " as " + e.target_login +
                                " directly, not through the O&M gateway that fronts it" +
                                (d.allow ? " (covered by " + r.coverage + ", but unrecorded)" : ""),
                            false});
  }
  if (r.tenant_data && !(d.allow && !d.grant.empty() && d.tenant_approved)) {
    std::string why = d.allow ? (d.break_glass ? "break-glass grant " + d.grant + " without the tenant's approval"
                                               : "covered only by " + r.coverage + ", which the tenant did not approve")
                              : d.reason;
    out.findings.push_back({FindingKind::kTenantDataWithoutApproval, "critical",
                            who + ": " + what + " touches tenant " + r.tenant + "'s data without a tenant-approved grant (" +
                                why + ")",
                            true});
    return out;
  }
  if (d.allow) return out;
  if (d.outside_window) {
    out.findings.push_back({FindingKind::kOutsideWindow, "high",
                            std::string(r.outsourced ? "outsourced staff " : "") + who + ": " + what +
                                " at a time outside the grant's allowed window",
                            false});
    return out;
  }
  if (e.privileged || !gateway_fronted) {
    out.findings.push_back({FindingKind::kPrivilegedWithoutGrant, "high",
                            who + ": " + what + " with no standing role or approved grant covering it (" + d.reason + ")",
                            false});
  }
  return out;
}

}  // namespace cloudpact::correlation
