// Inventory importers (NDJSON, kubectl, openstack-*): the first byte picks the format, the
// rest is the input. Invariants: an import either fails with kInvalidArgument or
// kResourceExhausted and a bounded message, or gives resources that respect the bounds, whose
// uid and type are non-empty and unique, whose attrs are columns of their type with the
// column's SQL type (bools 0/1) — none for types that are not normalized — and problems with
// bounded messages and lines within the input.
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>
#include <variant>

#include "assess/importers.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cloudpact::assess;
  if (size == 0) return 0;
  static const std::vector<std::string> formats = ImportFormats();
  const std::string& format = formats[data[0] % formats.size()];
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  ImportOptions options;
  options.platform = "fz";
  options.region = "r";
  options.collected_unix = 1;
  options.max_resources = 64 + (data[0] >> 4);
  options.max_bytes = 1 << 20;
  auto r = Import(format, text, options);
  if (!r.ok()) {
    const auto code = r.error().code;
    Check(code == cloudpact::ErrorCode::kInvalidArgument || code == cloudpact::ErrorCode::kResourceExhausted);
    Check(!r.error().message.empty() && r.error().message.size() < 4096);
    return 0;
  }
  Check(r->resources.size() <= options.max_resources);
  size_t lines = 1;
  for (char c : text) lines += c == '\n';
  std::set<std::string> uids;
  for (const auto& res : r->resources) {
    Check(!res.uid.empty() && !res.type.empty() && !res.platform.empty());
    Check(uids.insert(res.uid).second);
    Check(!res.raw.empty());
    const TypeSpec* spec = FindType(res.type);
    if (spec == nullptr) {
      Check(res.attrs.empty());
      continue;
    }
    for (const auto& [name, value] : res.attrs) {
      const ColumnSpec* col = nullptr;
      for (const auto& c : spec->columns) {
        if (c.name == name) col = &c;
      }
      Check(col != nullptr);
      if (col->type == ColumnType::kText) {
        Check(std::holds_alternative<std::string>(value));
      } else {
        Check(std::holds_alternative<int64_t>(value));
        if (col->type == ColumnType::kBool) Check(std::get<int64_t>(value) == 0 || std::get<int64_t>(value) == 1);
      }
    }
  }
  Check(r->problems.size() <= kMaxListedProblems + 1);
  for (const auto& p : r->problems) {
    Check(!p.message.empty());
    Check(p.line >= 0 && static_cast<size_t>(p.line) <= lines);
    if (format != "ndjson") Check(p.line == 0);
  }
  return 0;
}
