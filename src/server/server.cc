#include "server/server.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "api/api.h"
#include "api/auth.h"
#include "api/http_server.h"
#include "core/files.h"
#include "core/log.h"
#include "crypto/note.h"
#include "ledger/ledger.h"
#include "storage/storage.h"

namespace cloudpact::server {
namespace {

namespace fs = std::filesystem;

std::string DefaultOrigin() {
  char host[256] = {0};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') std::strcpy(host, "localhost");
  return std::string(host) + "/cloudpact";
}

Status PrepareDataDir(const std::string& dir) {
  if (dir.empty()) return MakeError(ErrorCode::kInvalidArgument, "--data-dir is required");
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return MakeError(ErrorCode::kUnavailable, "cannot create data directory " + dir + ": " + ec.message());
  // Keys, tokens and the database live here: owner only.
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  if (ec) return MakeError(ErrorCode::kUnavailable, "cannot restrict data directory " + dir + ": " + ec.message());
  return OkStatus();
}

// Writes DIR/initial-admin-token on the very first start (no token exists yet). Like any
// token, its issuance is recorded in the ledger before the token exists.
Status BootstrapAdmin(storage::Storage& store, api::Authenticator& auth, ledger::Ledger& ledger,
                      const std::string& dir) {
  ASSIGN_OR_RETURN(auto tokens, store.ListTokens());
  if (!tokens.empty()) return OkStatus();
  ASSIGN_OR_RETURN(api::IssuedToken t, auth.Mint("initial-admin", api::AllPermissions(), 0));
  auto recorded = ledger.Append(api::TokenIssuedRecord(t, "cloudpact"));
  if (!recorded.ok()) return std::move(recorded).error();
  // Secret file first: a stored token whose secret nobody has would lock the admin out.
  RETURN_IF_ERROR(WriteFileAtomic(fs::path(dir) / "initial-admin-token", t.secret + "\n"));
  RETURN_IF_ERROR(auth.Save(t));
  log::Info("initial admin token written", {{"path", (fs::path(dir) / "initial-admin-token").string()},
                                            {"token_id", t.record.id}});
  return OkStatus();
}

Status SeedDemo(ledger::Ledger& ledger) {
  if (ledger.Size() > 0) return OkStatus();
  std::vector<ledger::AppendRequest> demo = {
      {"platform.registered", {{"platform", "demo-cloud-east"}, {"kind", "openstack"}}, "demo", std::nullopt},
      {"access.request",
       {{"request", "req-0001"}, {"reason_code", "customer_initiated_support"}, {"ticket", "SUP-1024"},
        {"duration_seconds", 3600}},
       "demo",
       Json{{"resources", {"tenant-acme/db-prod-01"}}, {"justification", "租户报告数据库连接超时 / tenant reports DB timeouts"}}},
      {"access.approval", {{"request", "req-0001"}, {"approver", "acme-admin"}, {"decision", "approve"}}, "demo", std::nullopt},
      {"gateway.command", {{"session", "ses-0001"}, {"decision", "allow"}}, "demo", Json{{"command", "SHOW PROCESSLIST;"}}},
  };
  for (auto& r : demo) {
    auto a = ledger.Append(std::move(r));
    if (!a.ok()) return a.error();
  }
  return ledger.PublishCheckpoint();
}

}  // namespace

Result<std::string> LoadOrCreateLedgerKey(const std::string& data_dir, const std::string& origin_flag) {
  fs::path key_path = fs::path(data_dir) / "ledger-key";
  if (fs::exists(key_path)) {
    struct stat st{};
    if (::stat(key_path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
      return MakeError(ErrorCode::kFailedPrecondition,
                       key_path.string() + " is readable by group or others; chmod 600 it");
    }
    ASSIGN_OR_RETURN(std::string text, ReadFile(key_path));
    ASSIGN_OR_RETURN(crypto::NoteSigner signer, crypto::NoteSigner::ParsePrivateKey(text));
    if (!origin_flag.empty() && origin_flag != signer.name()) {
      return MakeError(ErrorCode::kFailedPrecondition,
                       "--ledger-origin \"" + origin_flag + "\" differs from this log's origin \"" +
                           signer.name() + "\"; a log's origin cannot change");
    }
    return text;
  }
  std::string origin = origin_flag.empty() ? DefaultOrigin() : origin_flag;
  if (!crypto::IsValidKeyName(origin)) {
    return MakeError(ErrorCode::kInvalidArgument, "ledger origin \"" + origin + "\" must be non-empty without spaces or '+'");
  }
  crypto::NoteSigner signer(origin, crypto::Ed25519PrivateKey::Generate());
  std::string text = signer.PrivateKeyString() + "\n";
  RETURN_IF_ERROR(WriteFileAtomic(key_path, text));
  RETURN_IF_ERROR(WriteFileAtomic(fs::path(data_dir) / "ledger-key.pub", signer.Verifier().ToString() + "\n", 0644));
  log::Info("ledger key created", {{"origin", origin}, {"verifier_key", signer.Verifier().ToString()}});
  return text;
}

int Serve(const ServeOptions& o) {
  // Block the stop signals in every thread we start; the main thread waits for them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  auto fail = [](std::string_view step, const Error& e) {
    log::Error("cannot start", {{"step", std::string(step)}, {"code", std::string(ErrorCodeName(e.code))},
                                {"error", e.message}});
    return 1;
  };

  if (auto st = PrepareDataDir(o.data_dir); !st.ok()) return fail("data-dir", st.error());
  std::string db = o.db.empty() ? "sqlite:" + (fs::path(o.data_dir) / "cloudpact.db").string() : o.db;
  auto store = storage::Storage::Open(db);
  if (!store.ok()) return fail("storage", store.error());
  log::Info("storage open", {{"backend", (*store)->Backend()}, {"schema_version", *(*store)->SchemaVersion()}});

  auto key_text = LoadOrCreateLedgerKey(o.data_dir, o.ledger_origin);
  if (!key_text.ok()) return fail("ledger-key", key_text.error());
  auto signer = crypto::NoteSigner::ParsePrivateKey(*key_text);
  if (!signer.ok()) return fail("ledger-key", signer.error());

  ledger::LedgerOptions lopts;
  lopts.checkpoint_interval = o.checkpoint_interval;
  for (const auto& w : o.witness_keys) {
    auto v = crypto::NoteVerifier::Parse(w);
    if (!v.ok()) return fail("witness-key", v.error());
    lopts.witnesses.push_back(*v);
  }
  auto ledger = ledger::Ledger::Open(**store, *signer, lopts);
  if (!ledger.ok()) return fail("ledger", ledger.error());

  // Demo entries only into a brand-new ledger, before anything else is recorded.
  if (o.demo) {
    if (auto st = SeedDemo(**ledger); !st.ok()) return fail("demo-data", st.error());
  }
  api::Authenticator auth(**store);
  if (auto st = BootstrapAdmin(**store, auth, **ledger, o.data_dir); !st.ok()) {
    return fail("admin-token", st.error());
  }

  api::Api api(**ledger, auth, api::ApiOptions{o.max_body});
  api::HttpServerOptions hopts;
  hopts.listen = o.listen;
  hopts.tls_cert = o.tls_cert;
  hopts.tls_key = o.tls_key;
  hopts.max_body = o.max_body;
  hopts.threads = o.http_threads;
  auto http = api::HttpServer::Start(api, hopts);
  if (!http.ok()) return fail("http", http.error());
  log::Info("cloudpact serving", {{"url", (*http)->url()},
                                  {"origin", (*ledger)->origin()},
                                  {"verifier_key", (*ledger)->Verifier().ToString()},
                                  {"ledger_size", (*ledger)->Size()}});

  int sig = 0;
  sigwait(&stop_signals, &sig);
  log::Info("shutting down", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
  // Answer requests in flight (their entries are committed by the sequencer meanwhile),
  // then commit whatever is still queued and publish a final checkpoint.
  (*http)->Shutdown(std::chrono::seconds(5));
  (*ledger)->Stop();
  log::Info("stopped", {{"ledger_size", (*ledger)->Size()}});
  return 0;
}

}  // namespace cloudpact::server
