// Inventory importers (issue 6, art. 2): the documented NDJSON format, `kubectl get … -o json`
// and `openstack … -f json` output, each turned into normalized Resources (inventory.h).
// Formats and the commands that produce them: docs/INVENTORY.md.
//
// Bad input: a line (NDJSON) or element (kubectl item, openstack row) that cannot be used is
// reported as an ImportProblem with its 1-based line or its JSON Pointer and skipped, never
// silently; unknown resource types are kept raw. Input over the options' bounds is refused as
// a whole (kResourceExhausted) and a document that is not JSON at all is kInvalidArgument.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "assess/inventory.h"
#include "core/result.h"

namespace cloudpact::assess {

struct ImportOptions {
  // Defaults for every resource: `platform` is required unless each NDJSON line names its own;
  // `region` applies where the source has none (kubectl and openstack output never do).
  std::string platform;
  std::string region;
  int64_t collected_unix = 0;  // when the input was collected (NDJSON lines may override)
  size_t max_resources = 5'000'000;
  size_t max_bytes = size_t{1} << 30;
};

// At most this many problems are listed one by one; beyond it one last problem counts the rest
// (so a gigabyte of garbage cannot become gigabytes of messages).
inline constexpr size_t kMaxListedProblems = 10'000;

// NDJSON, one resource per line:
//   {"uid"?, "platform"?, "type", "native_type"?, "id", "region"?, "tenant"?, "name"?,
//    "labels"?: {str: str}, "attrs"?: {column: value}, "raw"?: any, "collected"?: RFC 3339}
// Resource::raw is the line as received. Lines are at most options.max_bytes and nested at
// most 64 deep.
Result<ImportResult> ImportNdjson(std::string_view text, const ImportOptions& options);

// `kubectl get <kinds> -A -o json`: a List (or any *List) with `items`, or a single object.
Result<ImportResult> ImportKubectl(std::string_view json, const ImportOptions& options);

// `openstack … -f json` (a list's array, or a `show`'s object) of one kind: server,
// security-group, security-group-rule, volume, image, user, role-assignment.
Result<ImportResult> ImportOpenstack(std::string_view json, std::string_view kind,
                                     const ImportOptions& options);

// By format name: ndjson, kubectl, openstack-server, openstack-security-group, … (see
// ImportFormats()). An unknown format is kInvalidArgument naming the known ones.
Result<ImportResult> Import(std::string_view format, std::string_view text, const ImportOptions& options);
std::vector<std::string> ImportFormats();

// Exposed for tests: whether an address (IPv4 dotted quad or IPv6) is publicly routable, i.e.
// not RFC 1918, loopback, link-local, CGNAT (100.64/10), unspecified, multicast, IPv6 ULA
// (fc00::/7) or IPv4-mapped private. False for anything that does not parse as an address.
bool IsPublicAddress(std::string_view address);

}  // namespace cloudpact::assess
