// `cloudpact serve`: the one place where modules are wired together. Start-up is a list
// of small ordered steps; each returns whether to go on, and what was started is stopped
// in reverse order.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "core/result.h"

namespace cloudpact::server {

struct ServeOptions {
  std::string data_dir;
  std::string listen = "127.0.0.1:8080";
  std::string db;             // empty: sqlite:<data_dir>/cloudpact.db
  std::string tls_cert, tls_key;
  std::string ledger_origin;  // empty: "<hostname>/cloudpact" on first start
  std::chrono::milliseconds checkpoint_interval{500};
  std::vector<std::string> witness_keys;  // vkeys whose cosignatures are accepted
  bool demo = false;          // seed demo entries into an empty ledger
  size_t max_body = 1 << 20;
  int http_threads = 4;
  // The SSH gateway: HOST:PORT, or "off". Its host key is DIR/ssh-host-key (generated on
  // first start), recordings go to DIR/recordings/.
  std::string ssh_listen = "127.0.0.1:2222";
  // Audit-log sources followed continuously (docs/INGEST.md); empty: pushes over HTTP only.
  // Syslog spools go to DIR/ingest-spool/NAME/.
  std::string ingest_config;
  // Catalogs and checks (docs/CATALOGS.md, docs/ASSESS.md); empty: assess::DefaultCatalogDir().
  std::string catalogs_dir;
  // A full assessment run this often (0: never on its own); with demo, one right at start.
  std::chrono::milliseconds assess_interval{24 * 3600 * 1000};
  // The built web console served at "/"; empty: the default places (api/static_files.h).
  std::string console_dir;
};

// Runs until SIGTERM or SIGINT; returns the process exit code.
int Serve(const ServeOptions& options);

// The ledger signing key in DIR/ledger-key (0600), created on first start. Exposed so that
// offline tools and tests share the exact rules.
Result<std::string> LoadOrCreateLedgerKey(const std::string& data_dir, const std::string& origin_flag);

}  // namespace cloudpact::server
