// What the client commands share: one API call with the context's token, error printing in
// one style, tables, and the small text helpers for what servers return.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "client/governance_client.h"
#include "core/json.h"
#include "net/http_client.h"

namespace cloudpact::client {

std::string TimeText(int64_t unix_seconds);  // "2027-01-15T08:00:00Z", or "-" for none
std::string DurationText(int64_t seconds);   // "H:MM:SS"
// At most `max` bytes, cut on a UTF-8 character boundary, with "…" when cut.
std::string Shorten(const std::string& s, size_t max);
// Ids travel as path segments: anything that would change the path rather than encode it
// ("../x") is refused, with a message naming `what`.
bool SafeSegment(const std::string& s, const char* what);
std::string QueryEscape(const std::string& s);
// One API call answered with the raw response; prints a transport error and returns nullopt.
// `content_type` applies when there is a body.
std::optional<net::HttpResponse> Send(const Context& c, const std::string& method, const std::string& path,
                                      const std::string& body, std::chrono::milliseconds timeout,
                                      size_t max_body = 32 << 20, const std::string& content_type = "application/json",
                                      const std::map<std::string, std::string>& extra_headers = {});
// Prints the server's {"error": {"code", "message"}} (or the raw body) for a failed call.
void PrintHttpError(const net::HttpResponse& r);
// A call whose answer must be a JSON object; errors are printed and give nullopt.
// The body goes as `content_type` (the YAML documents people write go as application/yaml).
std::optional<Json> Call(const Context& c, const std::string& method, const std::string& path,
                         const std::string& body = "",
                         std::chrono::milliseconds timeout = std::chrono::milliseconds(30000),
                         const std::string& content_type = "application/json");
// The JSON with --json, else `human` prints it; 1 when there is none.
int Print(const Context& c, const std::optional<Json>& j, void (*human)(const Json&));
// A left-aligned text table; the last column is not padded.
void PrintTable(const std::vector<std::vector<std::string>>& rows);

}  // namespace cloudpact::client
