#include "correlation/config.h"

#include <filesystem>
#include <set>

#include "core/log.h"
#include "ingest/syslog_listener.h"

namespace cloudpact::correlation {
namespace {

Error Problem(const YamlDocument& doc, const std::string& pointer, const std::string& message) {
  return MakeError(ErrorCode::kInvalidArgument,
                   "ingest config line " + std::to_string(doc.LineOf(pointer)) + " (" + pointer + "): " + message);
}

Result<std::string> String(const YamlDocument& doc, const Json& obj, const std::string& ptr, const char* key,
                           bool required) {
  if (!obj.contains(key)) {
    if (required) return Problem(doc, ptr, std::string(key) + " is required");
    return std::string();
  }
  const Json& v = obj[key];
  if (!v.is_string() || v.get<std::string>().empty() || v.get<std::string>().size() > 4096) {
    return Problem(doc, JsonPointerAppend(ptr, key), std::string(key) + " must be a non-empty string");
  }
  return v.get<std::string>();
}

Status OnlyKeys(const YamlDocument& doc, const Json& obj, const std::string& ptr, std::set<std::string> allowed) {
  for (const auto& [k, v] : obj.items())
    if (!allowed.count(k)) return Problem(doc, JsonPointerAppend(ptr, k), "unknown key \"" + k + "\"");
  return OkStatus();
}

}  // namespace

Result<std::vector<SourceSpec>> ParseIngestConfig(const YamlDocument& doc) {
  const Json& root = doc.value;
  if (!root.is_object()) return Problem(doc, "", "the document must be a mapping with a sources list");
  RETURN_IF_ERROR(OnlyKeys(doc, root, "", {"sources"}));
  if (!root.contains("sources") || !root["sources"].is_array()) return Problem(doc, "", "sources must be a list");
  std::vector<SourceSpec> out;
  std::set<std::string> names;
  for (size_t i = 0; i < root["sources"].size(); ++i) {
    const std::string ptr = "/sources/" + std::to_string(i);
    const Json& s = root["sources"][i];
    if (!s.is_object()) return Problem(doc, ptr, "a source must be a mapping");
    RETURN_IF_ERROR(OnlyKeys(doc, s, ptr, {"name", "formats", "file", "syslog", "platform", "resource"}));
    SourceSpec spec;
    ASSIGN_OR_RETURN(spec.source.name, String(doc, s, ptr, "name", true));
    if (!names.insert(spec.source.name).second) return Problem(doc, ptr + "/name", "source " + spec.source.name + " is listed twice");
    if (!s.contains("formats") || !s["formats"].is_array() || s["formats"].empty()) {
      return Problem(doc, ptr, "formats must be a non-empty list of log formats");
    }
    for (const auto& f : s["formats"]) {
      if (!f.is_string()) return Problem(doc, ptr + "/formats", "formats must be strings");
      spec.source.formats.push_back(f.get<std::string>());
    }
    ASSIGN_OR_RETURN(spec.source.platform, String(doc, s, ptr, "platform", false));
    ASSIGN_OR_RETURN(spec.source.resource, String(doc, s, ptr, "resource", false));
    if (Status st = ValidateSourceConfig(spec.source); !st.ok()) return Problem(doc, ptr, st.error().message);
    ASSIGN_OR_RETURN(spec.file, String(doc, s, ptr, "file", false));
    if (s.contains("syslog")) {
      const std::string sp = ptr + "/syslog";
      const Json& y = s["syslog"];
      if (!y.is_object()) return Problem(doc, sp, "syslog must be a mapping");
      RETURN_IF_ERROR(OnlyKeys(doc, y, sp, {"listen", "tls_cert", "tls_key", "spool_max_bytes"}));
      SyslogConfig c;
      ASSIGN_OR_RETURN(c.listen, String(doc, y, sp, "listen", true));
      ASSIGN_OR_RETURN(c.tls_cert, String(doc, y, sp, "tls_cert", false));
      ASSIGN_OR_RETURN(c.tls_key, String(doc, y, sp, "tls_key", false));
      if (y.contains("spool_max_bytes")) {
        // YAML integers arrive signed.
        const Json& v = y["spool_max_bytes"];
        if (!v.is_number_integer() || v.get<int64_t>() <= 0) return Problem(doc, sp + "/spool_max_bytes", "must be a positive integer");
        c.spool_max_bytes = static_cast<uint64_t>(v.get<int64_t>());
      }
      spec.syslog = c;
    }
    if (spec.file.empty() == !spec.syslog) return Problem(doc, ptr, "give exactly one of file or syslog");
    out.push_back(std::move(spec));
  }
  return out;
}

Result<std::unique_ptr<ingest::Source>> OpenSource(const SourceSpec& spec, const std::string& spool_root) {
  if (!spec.file.empty()) {
    ingest::FileSourceOptions o;
    o.path = spec.file;
    return ingest::MakeFileSource(o);
  }
  ingest::SyslogListenerOptions o;
  o.listen = spec.syslog->listen;
  o.tls_cert = spec.syslog->tls_cert;
  o.tls_key = spec.syslog->tls_key;
  o.spool_max_bytes = spec.syslog->spool_max_bytes;
  o.spool_dir = (std::filesystem::path(spool_root) / spec.source.name).string();
  ASSIGN_OR_RETURN(auto listener, ingest::SyslogListener::Start(o));
  log::Info("syslog listening", {{"source", spec.source.name}, {"port", listener->port()},
                                 {"tls", !o.tls_cert.empty()}, {"spool", o.spool_dir}});
  return std::unique_ptr<ingest::Source>(std::move(listener));
}

}  // namespace cloudpact::correlation
