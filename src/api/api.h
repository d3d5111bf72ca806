// The HTTP API's routes and handlers, independent of the transport (http_server.h).
#pragma once

#include <string>

#include "api/auth.h"
#include "api/gateway_routes.h"
#include "api/assess_routes.h"
#include "api/ingest_routes.h"
#include "api/static_files.h"
#include "api/governance.h"
#include "api/http.h"
#include "ledger/ledger.h"

namespace cloudpact::api {

struct ApiOptions {
  size_t max_json_body = 1 << 20;  // request bodies above this are answered 413
};

// The ledger record of an issued token: who got which permissions from whom (never the
// secret). Tokens are stored only after this record is durable.
ledger::AppendRequest TokenIssuedRecord(const IssuedToken& token, const std::string& issued_by);

class Api {
 public:
  Api(ledger::Ledger& ledger, Authenticator& auth, ApiOptions options = {})
      : ledger_(ledger), auth_(auth), options_(options) {}

  // Calls `respond` exactly once, possibly later and from another thread (appends answer
  // when the entry is durable).
  void Handle(const Request& request, Respond respond);

  // Mounts the access-governance routes (directory, policy, requests, …); optional so that
  // the ledger API can be served and tested on its own.
  void SetGovernance(GovernanceRoutes* routes) { governance_ = routes; }
  void SetGateway(GatewayRoutes* routes) { gateway_ = routes; }
  void SetIngest(IngestRoutes* routes) { ingest_ = routes; }
  void SetAssess(AssessRoutes* routes) { assess_ = routes; }
  // The web console at "/": asked last, so it never shadows an API route.
  void SetStaticFiles(const StaticFiles* files) { static_files_ = files; }

 private:
  void AppendEntry(const Request& r, const Principal& p, Respond respond);
  Response GetEntry(const Request& r, uint64_t index);
  Response EraseConfidential(const Request& r, const Principal& p, uint64_t index);
  Response Inclusion(const Request& r);
  Response Consistency(const Request& r);
  Response Info();
  Response Tile(std::string_view rest);
  Response Cosign(const Request& r);
  void CreateToken(const Request& r, const Principal& p, Respond respond);

  // Authenticates and checks one permission; the error response when it fails.
  Result<Principal> Require(const Request& r, std::string_view permission);

  ledger::Ledger& ledger_;
  Authenticator& auth_;
  ApiOptions options_;
  GovernanceRoutes* governance_ = nullptr;
  GatewayRoutes* gateway_ = nullptr;
  IngestRoutes* ingest_ = nullptr;
  AssessRoutes* assess_ = nullptr;
  const StaticFiles* static_files_ = nullptr;
};

}  // namespace cloudpact::api
