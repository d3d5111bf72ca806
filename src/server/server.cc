#include "server/server.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include <condition_variable>
#include <thread>

#include "access/access.h"
#include "api/accounts.h"
#include "api/gateway_routes.h"
#include "api/assess_routes.h"
#include "api/ingest_routes.h"
#include "correlation/config.h"
#include "correlation/pipeline.h"
#include "server/assess_state.h"
#include "gateway/gateway.h"
#include "gateway/recording.h"
#include "api/api.h"
#include "api/auth.h"
#include "api/governance.h"
#include "api/http_server.h"
#include "core/encoding.h"
#include "core/files.h"
#include "core/host_port.h"
#include "core/log.h"
#include "core/yaml.h"
#include "crypto/ed25519.h"
#include "crypto/note.h"
#include "crypto/seal.h"
#include "crypto/sha256.h"
#include "directory/directory.h"
#include "ledger/ledger.h"
#include "net/webhook.h"
#include "server/demo_data.h"
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

void ReplaceAll(std::string& s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
}

// The README's walkthrough: the demo directory and policy (examples/demo/), API tokens for
// the demo people, and the tenant approvers' private keys — written to DIR/demo/ (0600)
// because the demo plays the tenants too; in real use only a tenant holds its key.
Status SeedDemo(const std::string& data_dir, directory::Directory& directory, access::AccessService& access,
                api::Authenticator& auth, ledger::Ledger& ledger) {
  if (!directory.snapshot()->staff.empty() || access.policy_version() != 0) return OkStatus();
  fs::path demo = fs::path(data_dir) / "demo";
  std::error_code ec;
  fs::create_directories(demo, ec);
  fs::permissions(demo, fs::perms::owner_all, fs::perm_options::replace, ec);
  std::string dir_yaml = demo::kDirectoryYaml;
  for (const auto& [approver, placeholder] : {std::pair<std::string, std::string>{"acme-ann", "${ACME_ANN_PUBLIC_KEY}"},
                                              {"globex-gus", "${GLOBEX_GUS_PUBLIC_KEY}"}}) {
    auto key = crypto::Ed25519PrivateKey::Generate();
    RETURN_IF_ERROR(WriteFileAtomic(demo / (approver + ".key"), Base64Encode(key.seed()) + "\n"));
    ReplaceAll(dir_yaml, placeholder, Base64Encode(key.public_key()));
  }
  // Policy first, so that staff roles are checked against it.
  ASSIGN_OR_RETURN(auto pv, access.ProposePolicy(demo::kPolicyYaml, "demo"));
  (void)pv;
  ASSIGN_OR_RETURN(YamlDocument doc, ParseYaml(dir_yaml));
  ASSIGN_OR_RETURN(directory::DirectorySpec spec, directory::ParseDirectory(doc));
  ASSIGN_OR_RETURN(auto applied, directory.Apply(spec, "demo"));
  (void)applied;
  // One token per demo person, holding every permission: what each may actually do is
  // narrowed to their roles at each request.
  std::vector<std::string> people;
  for (const auto& s : spec.staff) people.push_back(s.id);
  for (const auto& a : spec.approvers) people.push_back(a.id);
  for (const auto& a : spec.auditors) people.push_back(a.id);
  for (const auto& name : people) {
    ASSIGN_OR_RETURN(api::IssuedToken t, auth.Mint(name, api::AllPermissions(), 0));
    auto recorded = ledger.Append(api::TokenIssuedRecord(t, "demo"));
    if (!recorded.ok()) return std::move(recorded).error();
    RETURN_IF_ERROR(WriteFileAtomic(demo / (name + ".token"), t.secret + "\n"));
    RETURN_IF_ERROR(auth.Save(t));
  }
  log::Info("demo directory and policy loaded", {{"tokens", demo.string()}, {"people", people.size()}});
  return ledger.PublishCheckpoint();
}

// A tenant's webhook secret: HMAC of the tenant id under DIR/webhook-key, so that nothing
// per tenant has to be stored and the secret can be shown again to an admin.
Result<std::string> WebhookKey(const std::string& data_dir) {
  fs::path p = fs::path(data_dir) / "webhook-key";
  if (!fs::exists(p)) RETURN_IF_ERROR(WriteFileAtomic(p, HexEncode(crypto::RandomBytes(32)) + "\n"));
  ASSIGN_OR_RETURN(std::string text, ReadFile(p));
  while (!text.empty() && text.back() == '\n') text.pop_back();
  if (text.size() != 64) return MakeError(ErrorCode::kDataLoss, p.string() + " is not a 32-byte hex key");
  return text;
}

// Runs `f` every `period` until stopped.
class Ticker {
 public:
  Ticker(std::chrono::milliseconds period, std::function<void()> f)
      : thread_([this, period, f = std::move(f)] {
          std::unique_lock<std::mutex> lock(mu_);
          while (!cv_.wait_for(lock, period, [&] { return stop_; })) {
            lock.unlock();
            f();
            lock.lock();
          }
        }) {}
  ~Ticker() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

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

  api::Authenticator auth(**store);
  if (auto st = BootstrapAdmin(**store, auth, **ledger, o.data_dir); !st.ok()) {
    return fail("admin-token", st.error());
  }

  auto directory = directory::Directory::Load(**store, **ledger);
  if (!directory.ok()) return fail("directory", directory.error());
  auto access = access::AccessService::Load(**store, **ledger, **directory);
  if (!access.ok()) return fail("access", access.error());
  (*directory)->SetStaffValidator([a = access->get()](const directory::Staff& s) { return a->ValidateStaff(s); });

  auto webhook_key = WebhookKey(o.data_dir);
  if (!webhook_key.ok()) return fail("webhook-key", webhook_key.error());
  net::WebhookSender webhooks({}, [](const std::string& url, const Json& event, bool delivered, const std::string& detail) {
    if (delivered) log::Info("webhook delivered", {{"url", url}, {"event", event.value("event", "")}});
    else log::Error("webhook not delivered", {{"url", url}, {"event", event.value("event", "")}, {"error", detail}});
  });
  (*access)->SetNotifier([&, dir = directory->get(), key = *webhook_key](const std::string& tenant, const Json& event) {
    const directory::Tenant* t = dir->snapshot()->FindTenant(tenant);
    if (!t || t->webhook_url.empty()) return;
    std::string secret = HexEncode(crypto::AsBytes(crypto::HmacSha256(key, "tenant-webhook:" + tenant)));
    Json e = event;
    e["tenant"] = tenant;
    if (!webhooks.Send(t->webhook_url, secret, std::move(e))) log::Error("webhook queue full", {{"tenant", tenant}});
  });

  if (o.demo) {
    if (auto st = SeedDemo(o.data_dir, **directory, **access, auth, **ledger); !st.ok()) return fail("demo-data", st.error());
  }
  // Undecided requests and lapsed grants are closed, and ledgered, within seconds.
  Ticker expiry(std::chrono::seconds(2), [a = access->get()] {
    if (auto st = a->Tick(); !st.ok()) log::Error("access expiry sweep failed", {{"error", st.error().message}});
  });

  api::Api api(**ledger, auth, api::ApiOptions{o.max_body});
  api::GovernanceRoutes governance(auth, **ledger, **directory, **access, o.max_body);
  // Secrets at rest (TOTP seeds) are sealed under DIR/secrets-key (0600).
  auto sealer = crypto::Sealer::LoadOrCreate((fs::path(o.data_dir) / "secrets-key").string());
  if (!sealer.ok()) return fail("secrets-key", sealer.error());
  api::Accounts accounts(**store, *sealer, [a = access->get()](const std::string& p) { return a->MfaRequired(p); });
  governance.SetAccounts(&accounts);
  api.SetGovernance(&governance);

  // The O&M gateway: target credentials sealed with the same key, recordings beside the data.
  gateway::Credentials credentials(**store, **ledger, *sealer);
  auto recordings = gateway::OpenRecordingStore(fs::path(o.data_dir) / "recordings");
  if (!recordings.ok()) return fail("recordings", recordings.error());
  std::unique_ptr<gateway::Gateway> gw;
  std::unique_ptr<api::GatewayRoutes> gateway_routes;
  if (o.ssh_listen != "off") {
    auto hp = SplitHostPort(o.ssh_listen);
    if (!hp.ok()) return fail("ssh-listen", hp.error());
    gateway::GatewayDeps deps;
    deps.store = store->get();
    deps.ledger = ledger->get();
    deps.directory = directory->get();
    deps.access = access->get();
    deps.credentials = &credentials;
    deps.recordings = recordings->get();
    deps.verify_totp = [&accounts](const std::string& p, const std::string& code) {
      return accounts.VerifySecondFactor(p, code);
    };
    gateway::GatewayOptions gopts;
    gopts.host = hp->first;
    gopts.port = hp->second;
    gopts.host_key = fs::path(o.data_dir) / "ssh-host-key";
    auto started = gateway::Gateway::Start(deps, gopts);
    if (!started.ok()) return fail("ssh-gateway", started.error());
    gw = std::move(*started);
    gateway_routes = std::make_unique<api::GatewayRoutes>(governance, *gw, credentials, **directory, o.max_body);
    api.SetGateway(gateway_routes.get());
    log::Info("ssh gateway listening", {{"host", gopts.host}, {"port", gw->port()}, {"host_key", gw->host_key_line()}});
  }
  // Audit-log ingestion: events correlated with the directory and the access module; a login
  // with the gateway's own key for a target came through the gateway.
  correlation::Correlator correlator(**directory, **access, [&credentials](const std::string& resource, const std::string& fp) {
    auto creds = credentials.List(resource);
    if (!creds.ok()) return false;
    return std::any_of(creds->begin(), creds->end(), [&](const gateway::TargetCredential& c) { return c.fingerprint == fp; });
  });
  auto pipeline = correlation::Pipeline::Start(**store, **ledger, correlator);
  if (!pipeline.ok()) return fail("ingest", pipeline.error());
  api::IngestRoutes ingest_routes(governance, **pipeline);
  api.SetIngest(&ingest_routes);
  if (!o.ingest_config.empty()) {
    auto text = ReadFile(o.ingest_config);
    if (!text.ok()) return fail("ingest-config", text.error());
    auto doc = ParseYaml(*text);
    if (!doc.ok()) return fail("ingest-config", doc.error());
    auto specs = correlation::ParseIngestConfig(*doc);
    if (!specs.ok()) return fail("ingest-config", specs.error());
    for (const auto& spec : *specs) {
      auto source = correlation::OpenSource(spec, (fs::path(o.data_dir) / "ingest-spool").string());
      if (!source.ok()) return fail("ingest-source " + spec.source.name, source.error());
      if (auto st = (*pipeline)->AddSource(spec.source, std::move(*source)); !st.ok()) return fail("ingest-source", st.error());
      log::Info("ingesting", {{"source", spec.source.name}, {"file", spec.file},
                              {"syslog", spec.syslog ? spec.syslog->listen : ""}});
    }
  }

  // Continuous assessment: catalogs and checks as data; cloudpact's own state is refreshed
  // into the inventory before every run; full runs on a schedule.
  const fs::path catalogs_dir = o.catalogs_dir.empty() ? assess::DefaultCatalogDir() : fs::path(o.catalogs_dir);
  auto catalogs = assess::LoadCatalogDirectory(catalogs_dir);
  if (!catalogs.ok()) return fail("catalogs", catalogs.error());
  auto checks = assess::LoadCheckDirectory(catalogs_dir / "checks");
  if (!checks.ok()) return fail("checks", checks.error());
  auto assessor = assess::Assessor::Open(**store, **ledger, std::move(*catalogs), std::move(*checks));
  if (!assessor.ok()) return fail("assess", assessor.error());
  OwnStateSources own{**directory, **access, **ledger, **store, **assessor, gw.get(), pipeline->get(), o.witness_keys.size()};
  api::AssessRoutes assess_routes(
      governance, **assessor, **directory, [&own](const std::string& actor) { return RefreshOwnState(own, actor); },
      [s = store->get()](const std::string& tenant) {
        auto st = s->WriteRecords({{kTenantReportKind, tenant, "{}", storage::RecordWrite::kAnyVersion}});
        if (!st.ok()) log::Error("cannot record a tenant report delivery", {{"tenant", tenant}, {"error", st.error().message}});
      },
      o.max_body);
  api.SetAssess(&assess_routes);
  auto scheduled_run = [&assess_routes] {
    auto run = assess_routes.StartRun("", "", "cloudpact-scheduler");
    if (run.ok()) {
      log::Info("assessment run", {{"run", run->id}, {"digest", run->digest}, {"ledger_index", run->ledger_index}});
    } else {
      log::Error("scheduled assessment run failed", {{"error", run.error().message}});
    }
  };
  if (o.demo) scheduled_run();  // the console and reports have something to show at once
  std::unique_ptr<Ticker> assess_schedule;
  if (o.assess_interval.count() > 0) assess_schedule = std::make_unique<Ticker>(o.assess_interval, scheduled_run);

  auto console = api::StaticFiles::ForServe(o.console_dir);
  if (!console.ok()) return fail("console-dir", console.error());
  api.SetStaticFiles(console->get());

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
  assess_schedule.reset();  // a run in progress finishes (and is ledgered) first
  gw.reset();  // ends live sessions, ledgering each end, before the ledger stops
  (*pipeline)->Stop();  // commits what the sources delivered; the rest is re-read next start
  (*ledger)->Stop();
  log::Info("stopped", {{"ledger_size", (*ledger)->Size()}});
  return 0;
}

}  // namespace cloudpact::server
