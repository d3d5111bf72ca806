// HTTP routes of the O&M gateway: sessions (list, inspect, recording, terminate), commands
// held for review, the exec API for automation, and the credentials the gateway logs in to
// targets with. Handlers call the gateway module; they own no state.
#pragma once

#include "api/governance.h"
#include "api/http.h"
#include "gateway/credentials.h"
#include "gateway/gateway.h"

namespace cloudpact::api {

class GatewayRoutes {
 public:
  GatewayRoutes(GovernanceRoutes& governance, gateway::Gateway& gateway, gateway::Credentials& credentials,
                directory::Directory& directory, size_t max_body)
      : gov_(governance), gw_(gateway), creds_(credentials), directory_(directory), max_body_(max_body) {}

  // Handles the request and returns true if the path is one of these routes.
  bool Handle(const Request& r, const Respond& respond);

 private:
  Response ListSessions(const Request& r, const Caller& c);
  Response GetSession(const Caller& c, const std::string& id);
  Response GetRecording(const Caller& c, const std::string& id);
  Response Terminate(const Request& r, const Caller& c, const std::string& id);
  Response Review(const Request& r, const Caller& c, const std::string& id, const std::string& seq);
  Response Exec(const Request& r, const Caller& c);
  Response SetCredential(const Request& r, const Caller& c, const std::string& target);
  Response ListCredentials(const std::string& target);

  GovernanceRoutes& gov_;
  gateway::Gateway& gw_;
  gateway::Credentials& creds_;
  directory::Directory& directory_;
  size_t max_body_;
};

}  // namespace cloudpact::api
