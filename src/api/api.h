// The HTTP API's routes and handlers, independent of the transport (http_server.h).
#pragma once

#include <string>

#include "api/auth.h"
#include "api/http.h"
#include "ledger/ledger.h"

namespace cloudpact::api {

struct ApiOptions {
  size_t max_json_body = 1 << 20;  // request bodies above this are answered 413
};

class Api {
 public:
  Api(ledger::Ledger& ledger, Authenticator& auth, ApiOptions options = {})
      : ledger_(ledger), auth_(auth), options_(options) {}

  // Calls `respond` exactly once, possibly later and from another thread (appends answer
  // when the entry is durable).
  void Handle(const Request& request, Respond respond);

 private:
  void AppendEntry(const Request& r, const Principal& p, Respond respond);
  Response GetEntry(const Request& r, uint64_t index);
  Response EraseConfidential(const Request& r, const Principal& p, uint64_t index);
  Response Inclusion(const Request& r);
  Response Consistency(const Request& r);
  Response Info();
  Response Tile(std::string_view rest);
  Response Cosign(const Request& r);
  Response CreateToken(const Request& r, const Principal& p);

  // Authenticates and checks one permission; the error response when it fails.
  Result<Principal> Require(const Request& r, std::string_view permission);

  ledger::Ledger& ledger_;
  Authenticator& auth_;
  ApiOptions options_;
};

}  // namespace cloudpact::api
