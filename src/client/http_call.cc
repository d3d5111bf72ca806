#include "client/http_call.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <iostream>

#include "core/time.h"

namespace cloudpact::client {

std::string TimeText(int64_t unix_seconds) {
  if (unix_seconds <= 0) return "-";
  return FormatRfc3339(SystemTime(std::chrono::seconds(unix_seconds))).substr(0, 19) + "Z";
}

std::string DurationText(int64_t seconds) {
  if (seconds < 0) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(seconds / 3600),
                static_cast<long long>(seconds / 60 % 60), static_cast<long long>(seconds % 60));
  return buf;
}

// At most `max` bytes, cut on a UTF-8 character boundary, with "…" when cut.
std::string Shorten(const std::string& s, size_t max) {
  if (s.size() <= max) return s;
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n) + "…";
}

// Ids travel as path segments: refuse anything that would change the path rather than
// encode it, so that "../x" can never address another route.
bool SafeSegment(const std::string& s, const char* what) {
  bool ok = !s.empty() && s.size() <= 128 && s != "." && s != ".." &&
            std::all_of(s.begin(), s.end(), [](char ch) {
              return std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' || ch == '-' || ch == '@';
            });
  if (!ok) std::cerr << "error: " << what << " \"" << s << "\" is not a valid id\n";
  return ok;
}

std::string QueryEscape(const std::string& s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char ch : s) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      out += static_cast<char>(ch);
    } else {
      out += '%';
      out += kHex[ch >> 4];
      out += kHex[ch & 15];
    }
  }
  return out;
}

// One API call, answered with the raw response; prints a transport error and returns nullopt.
std::optional<net::HttpResponse> Send(const Context& c, const std::string& method, const std::string& path,
                                      const std::string& body, std::chrono::milliseconds timeout, size_t max_body,
                                      const std::string& content_type,
                                      const std::map<std::string, std::string>& extra_headers) {
  auto client = net::HttpClient::Create(c.url, c.ca_file);
  if (!client.ok()) {
    std::cerr << "error: " << client.error().message << "\n";
    return std::nullopt;
  }
  (*client)->set_timeout(timeout);
  std::map<std::string, std::string> headers = extra_headers;
  if (!c.token.empty()) headers["Authorization"] = "Bearer " + c.token;
  if (!body.empty()) headers["Content-Type"] = content_type;
  auto r = (*client)->Request(method, path, body, headers, max_body);
  if (!r.ok()) {
    std::cerr << "error: " << r.error().message << "\n";
    return std::nullopt;
  }
  return std::move(*r);
}

// Prints the server's {"error": {"code", "message"}} (or the raw body) for a failed call.
void PrintHttpError(const net::HttpResponse& r) {
  auto j = ParseJson(r.body);
  std::string msg = r.body;
  if (j.ok() && j->is_object() && j->contains("error") && (*j)["error"].is_object()) {
    msg = (*j)["error"].value("message", r.body);
  }
  std::cerr << "error: HTTP " << r.status << ": " << msg << "\n";
}

std::optional<Json> Call(const Context& c, const std::string& method, const std::string& path,
                         const std::string& body, std::chrono::milliseconds timeout, const std::string& content_type) {
  auto r = Send(c, method, path, body, timeout, 32 << 20, content_type);
  if (!r) return std::nullopt;
  if (r->status >= 300) {
    PrintHttpError(*r);
    return std::nullopt;
  }
  auto j = ParseJson(r->body);
  if (!j.ok() || !j->is_object()) {
    std::cerr << "error: the server's answer is not a JSON object\n";
    return std::nullopt;
  }
  return std::move(*j);
}

int Print(const Context& c, const std::optional<Json>& j, void (*human)(const Json&)) {
  if (!j) return 1;
  if (c.json) std::cout << j->dump(2) << "\n";
  else human(*j);
  return 0;
}

// A left-aligned text table; the last column is not padded.
void PrintTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& row : rows) {
    if (width.size() < row.size()) width.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    std::cout << line << "\n";
  }
}

}  // namespace cloudpact::client
