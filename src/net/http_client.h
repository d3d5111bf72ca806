// A small blocking HTTP/1.1 client (Boost.Beast) for cloudpact's own clients: the ledger
// verifier and the CLI. One keep-alive connection, reconnecting when the server closes it.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "core/result.h"

namespace cloudpact::net {

struct HttpResponse {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
};

struct ParsedUrl {
  bool tls = false;
  std::string host;
  std::string port;
  std::string path;  // without trailing slash; "" for the root
};
Result<ParsedUrl> ParseUrl(const std::string& url);

class HttpClient {
 public:
  // base_url: "http://host:port[/prefix]" or "https://…" (certificates checked against the
  // system store, or against ca_file alone when one is given).
  static Result<std::unique_ptr<HttpClient>> Create(const std::string& base_url,
                                                    const std::string& ca_file = "");
  virtual ~HttpClient() = default;
  // path is appended to the base URL's path. Responses over max_body are an error.
  virtual Result<HttpResponse> Request(const std::string& method, const std::string& path,
                                       const std::string& body = "",
                                       const std::map<std::string, std::string>& headers = {},
                                       size_t max_body = 32 << 20) = 0;
  void set_timeout(std::chrono::milliseconds t) { timeout_ = t; }

 protected:
  std::chrono::milliseconds timeout_{30000};
};

}  // namespace cloudpact::net
