// The HTTP(S) transport: Boost.Beast on Asio, bounded and timed, handing requests to Api.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "api/api.h"
#include "core/host_port.h"  // IsLoopbackHost: what Start serves plain HTTP on
#include "core/result.h"

namespace cloudpact::api {

struct HttpServerOptions {
  std::string listen = "127.0.0.1:8080";  // HOST:PORT; port 0 picks a free one
  std::string tls_cert;                   // PEM chain; with tls_key, serve HTTPS
  std::string tls_key;
  size_t max_body = 1 << 20;              // larger bodies get 413
  // Routes that take large uploads (inventory imports), with their own, larger bound.
  std::vector<std::string> large_body_prefixes = {"/v1/assess/imports"};
  size_t max_large_body = size_t{512} << 20;
  size_t max_header = 16 * 1024;
  std::chrono::seconds read_timeout{30};  // per request, headers and body
  std::chrono::seconds idle_timeout{60};  // keep-alive connections
  int threads = 2;
};

class HttpServer {
 public:
  // Refuses plain HTTP on an address that is not IsLoopbackHost (kFailedPrecondition, saying why).
  static Result<std::unique_ptr<HttpServer>> Start(Api& api, HttpServerOptions options);
  virtual ~HttpServer() = default;
  virtual uint16_t port() const = 0;
  virtual std::string url() const = 0;  // http(s)://host:port
  // Stops accepting; finishes requests in flight (up to `grace`), then returns.
  virtual void Shutdown(std::chrono::milliseconds grace) = 0;
};

}  // namespace cloudpact::api
