// Transport-neutral HTTP request/response types: handlers never see Beast, so they can be
// tested without sockets and the server can change underneath them.
#pragma once

#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/result.h"

namespace cloudpact::api {

struct Request {
  std::string method;  // "GET", "POST", …
  std::string path;    // without the query string, not percent-decoded
  std::map<std::string, std::string> query;
  std::optional<std::string> query_error;  // set when the query string is malformed
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string remote;  // peer address, for logs

  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::map<std::string, std::string> headers;
};

using Respond = std::function<void(Response)>;

int HttpStatus(ErrorCode code);
Response JsonResponse(int status, const Json& body);
// {"error":{"code":"…","message":"…"}} with the status the code maps to.
Response ErrorResponse(const Error& error);
Response ErrorResponse(int status, std::string_view code, std::string_view message);

// A request body that must be one JSON object (I-JSON, at most `max` bytes), with an
// application/json content type if any.
Result<Json> JsonObjectBody(const Request& r, size_t max);
// Rejects members a handler does not know, so that typos do not pass silently.
Status OnlyMembers(const Json& j, std::initializer_list<const char*> allowed);

// A string member of a request object: kInvalidArgument if missing (when required), not a
// string, or longer than max bytes; "" when absent and optional.
Result<std::string> StringMember(const Json& j, const char* key, bool required, size_t max = 4096);
// The non-empty segments of a path: "/v1/a/b" -> {"v1", "a", "b"}.
std::vector<std::string> Segments(std::string_view path);

// Splits "a=1&b=2" (percent-decoding values); malformed escapes are kInvalidArgument.
Result<std::map<std::string, std::string>> ParseQuery(std::string_view query);

}  // namespace cloudpact::api
