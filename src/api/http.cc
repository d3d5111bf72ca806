#include "api/http.h"

namespace cloudpact::api {

int HttpStatus(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return 400;
    case ErrorCode::kOutOfRange: return 400;
    case ErrorCode::kUnauthenticated: return 401;
    case ErrorCode::kPermissionDenied: return 403;
    case ErrorCode::kNotFound: return 404;
    case ErrorCode::kAlreadyExists: return 409;
    case ErrorCode::kFailedPrecondition: return 409;
    case ErrorCode::kResourceExhausted: return 413;
    case ErrorCode::kUnavailable: return 503;
    case ErrorCode::kDataLoss: return 500;
    case ErrorCode::kInternal: return 500;
  }
  return 500;
}

Response JsonResponse(int status, const Json& body) {
  Response r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, Json::error_handler_t::replace);
  return r;
}

Response ErrorResponse(int status, std::string_view code, std::string_view message) {
  return JsonResponse(status, {{"error", {{"code", std::string(code)}, {"message", std::string(message)}}}});
}

Response ErrorResponse(const Error& error) {
  return ErrorResponse(HttpStatus(error.code), ErrorCodeName(error.code), error.message);
}

Result<std::map<std::string, std::string>> ParseQuery(std::string_view q) {
  auto decode = [](std::string_view s) -> Result<std::string> {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '+') {
        out += ' ';
      } else if (s[i] == '%') {
        if (i + 2 >= s.size() || !std::isxdigit(static_cast<unsigned char>(s[i + 1])) ||
            !std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
          return MakeError(ErrorCode::kInvalidArgument, "malformed percent-encoding in query");
        }
        out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
        i += 2;
      } else {
        out += s[i];
      }
    }
    return out;
  };
  std::map<std::string, std::string> out;
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view part = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    ASSIGN_OR_RETURN(std::string key, decode(part.substr(0, eq)));
    ASSIGN_OR_RETURN(std::string value,
                     decode(eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1)));
    if (out.size() >= 32) return MakeError(ErrorCode::kInvalidArgument, "too many query parameters");
    out[key] = value;
  }
  return out;
}

Result<Json> JsonObjectBody(const Request& r, size_t max) {
  std::string ct = r.Header("content-type");
  if (!ct.empty() && ct.rfind("application/json", 0) != 0) {
    return MakeError(ErrorCode::kInvalidArgument, "content-type must be application/json");
  }
  ASSIGN_OR_RETURN(Json j, ParseJson(r.body, JsonLimits{max, 64}));
  if (!j.is_object()) return MakeError(ErrorCode::kInvalidArgument, "request body must be a JSON object");
  return j;
}

Status OnlyMembers(const Json& j, std::initializer_list<const char*> allowed) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    bool ok = false;
    for (const char* a : allowed) ok |= it.key() == a;
    if (!ok) return MakeError(ErrorCode::kInvalidArgument, "unknown member \"" + it.key() + "\"");
  }
  return OkStatus();
}

Result<std::string> StringMember(const Json& j, const char* key, bool required, size_t max) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (required) return MakeError(ErrorCode::kInvalidArgument, std::string("missing member \"") + key + "\"");
    return std::string();
  }
  if (!it->is_string()) return MakeError(ErrorCode::kInvalidArgument, std::string("\"") + key + "\" must be a string");
  std::string s = it->get<std::string>();
  if (s.size() > max) return MakeError(ErrorCode::kInvalidArgument, std::string("\"") + key + "\" is too long");
  return s;
}

std::vector<std::string> Segments(std::string_view path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') { ++i; continue; }
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.emplace_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

}  // namespace cloudpact::api
