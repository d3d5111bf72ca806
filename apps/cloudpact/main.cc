// The cloudpact executable: argument parsing only. Each subcommand calls into a module.
#include <CLI/CLI.hpp>

#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <thread>

#include "core/encoding.h"
#include "core/files.h"
#include "core/log.h"
#include "core/time.h"
#include "crypto/note.h"
#include "ledger/verifier.h"
#include "ledger/witness.h"
#include "net/http_client.h"
#include "client/gateway_client.h"
#include "client/ingest_client.h"
#include "client/assess_client.h"
#include "client/governance_client.h"
#include "server/server.h"

namespace {

using namespace cloudpact;

int ParseDuration(const std::string& text, std::chrono::milliseconds& out) {
  // "500ms", "1s", "2.5s", "30m", "24h"
  try {
    if (text.size() > 2 && text.substr(text.size() - 2) == "ms") {
      out = std::chrono::milliseconds(std::stoll(text.substr(0, text.size() - 2)));
    } else if (!text.empty() && (text.back() == 's' || text.back() == 'm' || text.back() == 'h')) {
      const double unit = text.back() == 's' ? 1000.0 : text.back() == 'm' ? 60000.0 : 3600000.0;
      out = std::chrono::milliseconds(static_cast<int64_t>(std::stod(text.substr(0, text.size() - 1)) * unit));
    } else {
      return 1;
    }
  } catch (...) {
    return 1;
  }
  return out.count() > 0 ? 0 : 1;
}

int LedgerVerify(const std::string& url, const std::string& dir, const std::string& key,
                 const std::string& state_path, const std::vector<std::string>& witnesses,
                 bool skip_entries, bool full) {
  auto verifier = crypto::NoteVerifier::Parse(key);
  if (!verifier.ok()) {
    std::cerr << "cloudpact ledger verify: --key: " << verifier.error().message << "\n";
    return 2;
  }
  ledger::VerifyOptions options;
  options.check_entries = !skip_entries;
  options.incremental = !full;
  for (const auto& w : witnesses) {
    auto v = crypto::NoteVerifier::Parse(w);
    if (!v.ok()) {
      std::cerr << "cloudpact ledger verify: --witness: " << v.error().message << "\n";
      return 2;
    }
    options.witnesses.push_back(*v);
  }
  if (!state_path.empty() && std::filesystem::exists(state_path)) {
    // A state file that exists but cannot be read or parsed is an error, never a fresh start:
    // silently forgetting what was verified would hide a rollback.
    auto text = ReadFile(state_path);
    auto st = text.ok() ? ledger::VerifierState::FromJson(*text) : Result<ledger::VerifierState>(text.error());
    if (!st.ok()) {
      std::cerr << "cloudpact ledger verify: " << state_path << ": " << st.error().message << "\n";
      return 2;
    }
    options.previous = *st;
  }
  std::unique_ptr<ledger::TileSource> source;
  if (!dir.empty()) {
    source = ledger::DirectoryTileSource(dir);
  } else {
    auto s = ledger::HttpTileSource(url);
    if (!s.ok()) {
      std::cerr << "cloudpact ledger verify: " << s.error().message << "\n";
      return 2;
    }
    source = std::move(s).value();
  }
  auto report = ledger::VerifyLog(*source, *verifier, options);
  if (!report.ok()) {
    std::cerr << "VERIFICATION FAILED (" << ErrorCodeName(report.error().code) << "): "
              << report.error().message << "\n";
    return 1;
  }
  const auto& cp = report->checkpoint;
  std::cout << "OK origin=" << cp.origin << " size=" << cp.size
            << " root=" << Base64Encode(crypto::AsBytes(cp.root)) << " tiles=" << report->tiles_checked
            << " entries=" << report->entries_checked;
  if (options.previous) {
    std::cout << " consistent_with=" << options.previous->size;
  }
  std::cout << (report->incremental ? " mode=incremental" : " mode=full");
  for (const auto& w : report->cosigned_by) std::cout << " cosigned_by=" << w;
  std::cout << "\n";
  if (!options.witnesses.empty() && report->cosigned_by.size() < options.witnesses.size()) {
    std::cerr << "VERIFICATION FAILED: " << options.witnesses.size() - report->cosigned_by.size()
              << " configured witness(es) did not cosign this checkpoint\n";
    return 1;
  }
  if (!state_path.empty()) {
    auto st = WriteFileAtomic(state_path, report->state.ToJson(), 0644);
    if (!st.ok()) {
      std::cerr << "cloudpact ledger verify: " << st.error().message << "\n";
      return 2;
    }
  }
  return 0;
}

std::string DefaultWitnessName() {
  char host[256] = {0};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') return "localhost/cloudpact-witness";
  return std::string(host) + "/cloudpact-witness";
}

// `cloudpact witness init`: a cosigning key (type 0x04) in DIR/witness-key, 0600.
int WitnessInit(const std::string& dir, const std::string& name_flag) {
  std::filesystem::path key = std::filesystem::path(dir) / "witness-key";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all, std::filesystem::perm_options::replace, ec);
  if (std::filesystem::exists(key)) {
    std::cerr << "cloudpact witness init: " << key.string() << " exists; a witness keeps its key\n";
    return 2;
  }
  std::string name = name_flag.empty() ? DefaultWitnessName() : name_flag;
  if (!crypto::IsValidKeyName(name)) {
    std::cerr << "cloudpact witness init: invalid --name\n";
    return 2;
  }
  crypto::NoteSigner signer(name, crypto::Ed25519PrivateKey::Generate(), crypto::NoteSigType::kCosignatureV1);
  auto st = WriteFileAtomic(key, signer.PrivateKeyString() + "\n");
  if (st.ok()) st = WriteFileAtomic(std::filesystem::path(dir) / "witness-key.pub", signer.Verifier().ToString() + "\n", 0644);
  if (!st.ok()) {
    std::cerr << "cloudpact witness init: " << st.error().message << "\n";
    return 2;
  }
  std::cout << signer.Verifier().ToString() << "\n";
  return 0;
}

// `cloudpact witness run`: follow one log and cosign what is consistent.
int WitnessRun(const std::string& dir, const std::string& log_url, const std::string& log_key,
               std::chrono::milliseconds interval, bool once) {
  std::filesystem::path base(dir);
  auto key_text = ReadFile(base / "witness-key");
  if (!key_text.ok()) {
    std::cerr << "cloudpact witness run: " << key_text.error().message << " (run `cloudpact witness init` first)\n";
    return 2;
  }
  auto signer = crypto::NoteSigner::ParsePrivateKey(*key_text);
  auto verifier = crypto::NoteVerifier::Parse(log_key);
  auto client = net::HttpClient::Create(log_url);
  if (!signer.ok() || !verifier.ok() || !client.ok()) {
    std::cerr << "cloudpact witness run: "
              << (!signer.ok() ? signer.error().message : !verifier.ok() ? verifier.error().message
                                                                         : client.error().message)
              << "\n";
    return 2;
  }
  std::filesystem::path state_path = base / "witness-state.json";
  std::optional<ledger::VerifierState> state;
  if (auto text = ReadFile(state_path); text.ok()) {
    auto parsed = ledger::VerifierState::FromJson(*text);
    if (!parsed.ok()) {
      std::cerr << "cloudpact witness run: " << state_path.string() << ": " << parsed.error().message << "\n";
      return 2;
    }
    state = *parsed;
  }
  auto save = [&](const ledger::VerifierState& s) { return WriteFileAtomic(state_path, s.ToJson(), 0644); };
  while (true) {
    auto step = ledger::WitnessOnce(**client, *verifier, *signer, state, save, UnixSeconds(SystemNow()));
    if (!step.ok()) {
      bool alarm = step.error().code == ErrorCode::kDataLoss || step.error().code == ErrorCode::kPermissionDenied;
      log::Error(alarm ? "WITNESS ALARM: log misbehaved" : "witness round failed",
                 {{"code", std::string(ErrorCodeName(step.error().code))}, {"error", step.error().message}});
      // Misbehaviour is final: never cosign this log again without a human looking.
      if (alarm || once) return 1;
    } else {
      log::Info("witnessed", {{"origin", step->checkpoint.origin}, {"size", step->checkpoint.size},
                              {"advanced", step->advanced}, {"cosignature_accepted", step->submitted}});
      if (once) return 0;
    }
    std::this_thread::sleep_for(interval);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"cloudpact: keep, and prove, the commitments of the cloud security convention"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "cloudpact 0.1.0");

  server::ServeOptions serve;
  std::string checkpoint_interval = "500ms";
  auto* s = app.add_subcommand("serve", "Run the server (HTTP API, SSH gateway, ledger sequencer)");
  s->add_option("--data-dir", serve.data_dir, "Directory for keys, tokens and the SQLite database")->required();
  s->add_option("--listen", serve.listen, "HOST:PORT for HTTP (plain HTTP only on loopback)")->capture_default_str();
  s->add_option("--db", serve.db, "Storage URL: sqlite:PATH (default DIR/cloudpact.db) or postgresql://...");
  s->add_option("--tls-cert", serve.tls_cert, "PEM certificate chain (required off loopback)");
  s->add_option("--tls-key", serve.tls_key, "PEM private key (required off loopback)");
  s->add_option("--ledger-origin", serve.ledger_origin, "Checkpoint origin line, set on first start (default HOSTNAME/cloudpact)");
  s->add_option("--checkpoint-interval", checkpoint_interval, "Longest delay before a new entry is in a checkpoint")->capture_default_str();
  s->add_option("--witness-key", serve.witness_keys, "Verifier key of a witness whose cosignatures are accepted (repeatable)");
  s->add_option("--max-body", serve.max_body, "Largest request body in bytes")->capture_default_str();
  s->add_option("--http-threads", serve.http_threads, "HTTP worker threads")->capture_default_str();
  s->add_option("--ssh-listen", serve.ssh_listen, "HOST:PORT of the SSH gateway, or \"off\"")->capture_default_str();
  s->add_option("--ingest-config", serve.ingest_config, "YAML listing audit-log files and syslog listeners to follow (docs/INGEST.md)");
  s->add_option("--console-dir", serve.console_dir, "Built web console to serve at / (default: share/cloudpact/console by the binary, else the build's console/dist)");
  std::string assess_every = "24h";
  s->add_option("--catalogs", serve.catalogs_dir, "Catalogs and checks to assess against (default: share/cloudpact/catalogs by the binary, else the source tree's catalogs/)");
  s->add_option("--assess-every", assess_every, "Run a full assessment this often (e.g. 24h), or \"off\"")->capture_default_str();
  s->add_flag("--demo", serve.demo, "Load the demo directory and policy into an empty install (tokens in DIR/demo/)");

  auto* ledger_cmd = app.add_subcommand("ledger", "Ledger tools");
  ledger_cmd->require_subcommand(1);
  std::string v_url, v_dir, v_key, v_state;
  std::vector<std::string> v_witnesses;
  bool v_skip_entries = false;
  auto* v = ledger_cmd->add_subcommand("verify", "Verify a tiled log: signature, every tile, root, consistency");
  auto* url_opt = v->add_option("--url", v_url, "Log prefix URL, e.g. http://127.0.0.1:8080/ledger");
  auto* dir_opt = v->add_option("--dir", v_dir, "Tile directory on disk (checkpoint, tile/...)");
  url_opt->excludes(dir_opt);
  v->add_option("--key", v_key, "The log's verifier key (name+id+key)")->required();
  v->add_option("--state", v_state, "File remembering the last verified checkpoint, for consistency");
  v->add_option("--witness", v_witnesses, "Witness verifier key that must have cosigned (repeatable)");
  v->add_flag("--skip-entries", v_skip_entries, "Check tiles and root but do not download entry bundles");
  bool v_full = false;
  v->add_flag("--full", v_full, "Re-audit every tile even when --state allows an incremental check");

  auto* witness_cmd = app.add_subcommand("witness", "Follow a log, check consistency, cosign (C2SP tlog-cosignature)");
  witness_cmd->require_subcommand(1);
  std::string w_dir, w_name, w_url, w_key, w_interval = "10s";
  bool w_once = false;
  auto* wi = witness_cmd->add_subcommand("init", "Create the witness's cosigning key; prints its verifier key");
  wi->add_option("--data-dir", w_dir, "Directory for the witness key and state")->required();
  wi->add_option("--name", w_name, "Witness key name (default HOSTNAME/cloudpact-witness)");
  auto* wr = witness_cmd->add_subcommand("run", "Witness a log: verify, check consistency, cosign, submit");
  wr->add_option("--data-dir", w_dir, "Directory holding witness-key and witness-state.json")->required();
  wr->add_option("--log-url", w_url, "Base URL of the log's server, e.g. http://127.0.0.1:8080")->required();
  wr->add_option("--log-key", w_key, "The log's verifier key")->required();
  wr->add_option("--interval", w_interval, "Time between rounds")->capture_default_str();
  wr->add_flag("--once", w_once, "One round, then exit (0 ok, 1 failure or alarm)");

  // Client commands against a server. The token comes from --token, --token-file or
  // $CLOUDPACT_TOKEN (in that order), so that it need not appear in the process list.
  client::Context ctx;
  ctx.url = std::getenv("CLOUDPACT_URL") ? std::getenv("CLOUDPACT_URL") : "http://127.0.0.1:8080";
  std::string token_file;
  auto add_client_options = [&](CLI::App* cmd) {
    cmd->add_option("--url", ctx.url, "Server URL (or $CLOUDPACT_URL)")->capture_default_str();
    cmd->add_option("--token", ctx.token, "API token (prefer --token-file or $CLOUDPACT_TOKEN)");
    cmd->add_option("--token-file", token_file, "File holding the API token");
    cmd->add_option("--ca-file", ctx.ca_file, "CA certificate for an https server");
    cmd->add_flag("--json", ctx.json, "Print the server's JSON");
  };
  std::string file;
  auto* apply = app.add_subcommand("apply", "Apply a directory document (YAML): platforms, resources, staff, tenants, auditors");
  apply->add_option("-f,--file", file, "Directory YAML file")->required();
  add_client_options(apply);

  auto* policy_cmd = app.add_subcommand("policy", "Access policy: propose, approve (by a second admin), reject, list");
  policy_cmd->require_subcommand(1);
  int64_t policy_version = 0;
  std::string policy_reason;
  auto* pp = policy_cmd->add_subcommand("propose", "Propose a new policy version (YAML)");
  pp->add_option("-f,--file", file, "Policy YAML file")->required();
  auto* pa = policy_cmd->add_subcommand("approve", "Approve a proposed version (not your own)");
  pa->add_option("version", policy_version, "Version number")->required();
  auto* pr = policy_cmd->add_subcommand("reject", "Reject a proposed version");
  pr->add_option("version", policy_version, "Version number")->required();
  pr->add_option("--reason", policy_reason, "Why");
  auto* pl = policy_cmd->add_subcommand("list", "Versions and the one in force");
  for (auto* c : {pp, pa, pr, pl}) add_client_options(c);

  auto* access_cmd = app.add_subcommand("access", "Just-in-time access: request, review, list, show, revoke, break-glass");
  access_cmd->require_subcommand(1);
  client::RequestArgs req;
  std::string req_id, decision_comment, key_file, list_state;
  bool approve = false, deny = false, reviewable = false;
  auto add_request_options = [&](CLI::App* cmd) {
    cmd->add_option("--resource", req.resources, "Resource id (repeatable)")->required();
    cmd->add_option("--action", req.actions, "Action, e.g. login:root, db:read, exec (repeatable)")->required();
    cmd->add_option("--reason", req.reason, "customer_support | incident_response | maintenance | legal_request")->required();
    cmd->add_option("--justification", req.justification, "Why, in words")->required();
    cmd->add_option("--ticket", req.ticket, "Ticket reference");
    cmd->add_option("--duration", req.duration_seconds, "Seconds (default: the policy's maximum)");
    add_client_options(cmd);
  };
  auto* ar = access_cmd->add_subcommand("request", "Ask for access");
  add_request_options(ar);
  auto* ab = access_cmd->add_subcommand("breakglass", "Emergency access now; tenants are notified and it must be reviewed");
  add_request_options(ab);
  auto* arv = access_cmd->add_subcommand("review", "Approve or deny a request (tenant approvers sign with --key)");
  arv->add_option("id", req_id, "Request id")->required();
  auto* approve_flag = arv->add_flag("--approve", approve, "Approve");
  arv->add_flag("--deny", deny, "Deny")->excludes(approve_flag);
  arv->add_option("--comment", decision_comment, "Comment");
  arv->add_option("--key", key_file, "Tenant approver's Ed25519 key file (from `cloudpact tenant keygen`)");
  auto* al = access_cmd->add_subcommand("list", "List requests you may see");
  al->add_option("--state", list_state, "pending | active | denied | expired | revoked");
  al->add_flag("--reviewable", reviewable, "Only requests you may review now");
  auto* as = access_cmd->add_subcommand("show", "Show one request");
  as->add_option("id", req_id, "Request id")->required();
  auto* ak = access_cmd->add_subcommand("revoke", "End a grant (your own, or anyone's with access:revoke)");
  ak->add_option("id", req_id, "Request id")->required();
  ak->add_option("--reason", decision_comment, "Why");
  for (auto* c : {arv, al, as, ak}) add_client_options(c);

  auto* authz_cmd = app.add_subcommand("authz", "Authorization decisions");
  authz_cmd->require_subcommand(1);
  std::string az_principal, az_action, az_resource;
  auto* ac = authz_cmd->add_subcommand("check", "Would PRINCIPAL be allowed ACTION on RESOURCE now? (exit 0 allow, 1 deny)");
  ac->add_option("--principal", az_principal)->required();
  ac->add_option("--action", az_action)->required();
  ac->add_option("--resource", az_resource)->required();
  add_client_options(ac);

  auto* posture_cmd = app.add_subcommand("posture", "Privilege posture: standing and dormant privileged accounts, SoD, parity");
  add_client_options(posture_cmd);

  auto* tenant_cmd = app.add_subcommand("tenant", "Tools for tenants: approver keys, verification of every access");
  tenant_cmd->require_subcommand(1);
  std::string t_tenant, t_url, t_key;
  std::vector<std::string> t_pinned;
  bool t_json = false;
  auto* tk = tenant_cmd->add_subcommand("keygen", "Create an approver's Ed25519 key; prints the public key to register");
  tk->add_option("--out", key_file, "Where to write the private key (0600)")->required();
  auto* tv = tenant_cmd->add_subcommand("verify", "Check from the ledger alone that every access to the tenant was approved by it");
  tv->add_option("--tenant", t_tenant, "Tenant id")->required();
  tv->add_option("--url", t_url, "Server URL (the ledger is read from URL/ledger)")->required();
  tv->add_option("--key", t_key, "The ledger's verifier key")->required();
  tv->add_option("--approver-key", t_pinned, "Approver public key the tenant trusts (base64, repeatable); without it, keys registered in the ledger are trusted");
  tv->add_flag("--json", t_json, "Machine-readable report");

  // Audit-log ingestion: one-off files, and the findings correlation raised.
  client::IngestArgs ingest_args;
  std::string ingest_formats;
  auto* ingest_cmd = app.add_subcommand("ingest", "Send an audit-log file (or - for stdin) for parsing and correlation");
  ingest_cmd->add_option("file", ingest_args.file, "Log file, or - for standard input")->required();
  ingest_cmd->add_option("--source", ingest_args.source, "Name stamped on its events, e.g. host01-auth")->required();
  ingest_cmd->add_option("--format", ingest_formats, "sshd, sudo, auditd, k8s-audit, cadf, cloudtrail (comma-separated)")->required();
  ingest_cmd->add_option("--platform", ingest_args.platform, "Directory platform the log belongs to");
  ingest_cmd->add_option("--resource", ingest_args.resource, "Directory resource (host) the log was written on");
  client::FindingsArgs findings_args;
  std::string finding_id;
  auto* findings_cmd = app.add_subcommand("findings", "Operations no approved grant covered (from ingested audit logs)");
  findings_cmd->require_subcommand(1);
  auto* fl = findings_cmd->add_subcommand("list", "Findings, oldest first");
  fl->add_option("--kind", findings_args.kind, "privileged_without_grant, tenant_data_without_tenant_approval, outside_allowed_window, gateway_bypassed");
  fl->add_option("--severity", findings_args.severity, "critical or high");
  fl->add_option("--principal", findings_args.principal, "Staff id");
  fl->add_option("--resource", findings_args.resource, "Resource id");
  fl->add_option("--tenant", findings_args.tenant, "Tenant id");
  fl->add_option("--source", findings_args.source, "Log source name");
  fl->add_option("--limit", findings_args.limit, "At most this many (1-1000)")->capture_default_str()->check(CLI::Range(1, 1000));
  auto* fs_show = findings_cmd->add_subcommand("show", "One finding with its event, its evidence checked locally");
  fs_show->add_option("id", finding_id, "Finding id (fnd_…)")->required();
  for (auto* c : {ingest_cmd, fl, fs_show}) add_client_options(c);

  // Continuous assessment: inventories, runs, reports, attestations, verification, the gate.
  auto* assess_cmd = app.add_subcommand("assess", "Assess every platform against the convention and GB/T standards (docs/ASSESS.md)");
  assess_cmd->require_subcommand(1);
  client::AssessImportArgs ai_args;
  auto* aimp = assess_cmd->add_subcommand("import", "Load an inventory (NDJSON, kubectl -o json, openstack -f json) for a platform");
  aimp->add_option("file", ai_args.file, "Inventory file, or - for standard input")->required();
  aimp->add_option("--platform", ai_args.platform, "Directory platform it describes")->required();
  aimp->add_option("--format", ai_args.format, "ndjson, kubectl, openstack-server, openstack-security-group, openstack-security-group-rule, openstack-volume, openstack-image, openstack-user, openstack-role-assignment")->required();
  aimp->add_option("--region", ai_args.region, "Region for resources whose input names none");
  std::string as_catalog, as_platform, as_run, as_status, as_format = "html", as_out, as_from, as_to, as_key, as_document;
  size_t as_limit = 100;
  auto* arun = assess_cmd->add_subcommand("run", "Run an assessment now");
  arun->add_option("--catalog", as_catalog, "Only the checks this catalog names (e.g. convention-2023)");
  arun->add_option("--platform", as_platform, "Only this platform's resources");
  auto* alist = assess_cmd->add_subcommand("list", "Assessment runs, newest first");
  auto* ashow = assess_cmd->add_subcommand("show", "A run: requirements not passing and results");
  ashow->add_option("run", as_run, "Run id (run_…)")->required();
  ashow->add_option("--status", as_status, "Only results of this status (FAIL, ERROR, MANUAL, NOT_APPLICABLE)");
  ashow->add_option("--limit", as_limit, "At most this many results (1-1000)")->capture_default_str()->check(CLI::Range(1, 1000));
  auto* adiff = assess_cmd->add_subcommand("diff", "What changed between two runs: new, resolved, changed");
  adiff->add_option("from", as_from, "Earlier run")->required();
  adiff->add_option("to", as_to, "Later run")->required();
  auto* areport = assess_cmd->add_subcommand("report", "A run's report: html (bilingual), oscal, ocsf, csv or sarif");
  areport->add_option("run", as_run, "Run id")->required();
  areport->add_option("--format", as_format, "html, oscal, ocsf, csv, sarif")->capture_default_str();
  areport->add_option("-o,--out", as_out, "File to write (default: standard output)");
  client::AttestArgs att_args;
  auto* aatt = assess_cmd->add_subcommand("attest", "Attest a manual requirement (you approve; the owner is someone else)");
  aatt->add_option("--catalog", att_args.catalog, "Catalog id")->required();
  aatt->add_option("--requirement", att_args.requirement, "Requirement id")->required();
  aatt->add_option("--owner", att_args.owner, "Who is responsible for it")->required();
  aatt->add_option("--statement", att_args.statement, "What is attested")->required();
  aatt->add_option("--evidence", att_args.evidence_files, "Evidence file, hashed locally (repeatable)");
  aatt->add_option("--expires", att_args.expires, "RFC 3339 time it lapses, e.g. 2027-03-31T00:00:00Z")->required();
  client::ExceptionArgs exc_args;
  auto* aexc = assess_cmd->add_subcommand("except", "Mute a check's failure on a resource (or *) until it expires");
  aexc->add_option("--check", exc_args.check, "Check id")->required();
  aexc->add_option("--resource", exc_args.resource, "Resource uid, or * for all")->required();
  aexc->add_option("--owner", exc_args.owner, "Who is responsible for it")->required();
  aexc->add_option("--reason", exc_args.reason, "Why")->required();
  aexc->add_option("--expires", exc_args.expires, "RFC 3339 time it lapses")->required();
  auto* aver = assess_cmd->add_subcommand("verify", "Check a run's result document against the ledger (signature, tiles, entry)");
  auto* aver_run = aver->add_option("--run", as_run, "Run id (the document is fetched from the server)");
  auto* aver_doc = aver->add_option("--document", as_document, "A result document file you were handed (cloudpact assess report … or GET …/document)");
  aver_run->excludes(aver_doc);
  aver->add_option("--key", as_key, "The ledger's verifier key (printed by serve)")->required();
  client::GateArgs gate_args;
  auto* agate = assess_cmd->add_subcommand("gate", "Release gate, offline: assess a snapshot, write SARIF, exit 1 on failures");
  agate->add_option("--profile", gate_args.profile, "A catalog id, or all")->capture_default_str();
  agate->add_option("--input", gate_args.input, "Inventory snapshot, or - for standard input")->required();
  agate->add_option("--format", gate_args.format, "Snapshot format (as for import)")->capture_default_str();
  agate->add_option("--catalogs", gate_args.catalogs_dir, "Catalogs directory (default as for serve)");
  agate->add_option("--sarif", gate_args.sarif, "Write SARIF 2.1.0 here (- for standard output)");
  agate->add_option("--fail-on", gate_args.fail_on, "Lowest severity that fails: info, low, medium, high, critical")->capture_default_str();
  for (auto* c : {aimp, arun, alist, ashow, adiff, areport, aatt, aexc, aver}) add_client_options(c);

  // The O&M gateway: sessions, commands held for review, exec for automation, and the
  // credentials the gateway logs in to targets with.
  auto* sessions_cmd = app.add_subcommand("sessions", "O&M gateway sessions: list, show, recording, terminate, command reviews");
  sessions_cmd->require_subcommand(1);
  std::string ses_id, ses_operator, ses_out, ses_reason, ses_decision, ses_comment;
  int64_t ses_seq = 0;
  bool ses_active = false;
  auto* sl = sessions_cmd->add_subcommand("list", "Sessions you may see (your own; everyone's with sessions:read)");
  sl->add_flag("--active", ses_active, "Only sessions still running");
  sl->add_option("--operator", ses_operator, "Only this operator's sessions");
  auto* ss = sessions_cmd->add_subcommand("show", "One session with its commands and file operations");
  ss->add_option("id", ses_id, "Session id (ses_…)")->required();
  auto* srec = sessions_cmd->add_subcommand("recording", "Download the asciicast recording and verify its SHA-256");
  srec->add_option("id", ses_id, "Session id (ses_…)")->required();
  srec->add_option("-o,--out", ses_out, "Write to FILE (0600) instead of stdout");
  auto* sterm = sessions_cmd->add_subcommand("terminate", "End a live session (sessions:control)");
  sterm->add_option("id", ses_id, "Session id (ses_…)")->required();
  sterm->add_option("--reason", ses_reason, "Why; the operator is told");
  auto* srs = sessions_cmd->add_subcommand("reviews", "Commands held for review (sessions:control)");
  auto* srv = sessions_cmd->add_subcommand("review", "Approve or reject a command held for review (sessions:control)");
  srv->add_option("id", ses_id, "Session id (ses_…)")->required();
  srv->add_option("seq", ses_seq, "The command's sequence number")->required()->check(CLI::PositiveNumber);
  srv->add_option("decision", ses_decision, "approve | reject")->required()->check(CLI::IsMember({"approve", "reject"}));
  srv->add_option("--comment", ses_comment, "Comment");
  for (auto* c : {sl, ss, srec, sterm, srs, srv}) add_client_options(c);

  client::ExecArgs exec_args;
  auto* exec_cmd = app.add_subcommand("exec", "Run one command on a target through the gateway, under your grant; exits with its status");
  exec_cmd->add_option("--target", exec_args.target, "Target resource id")->required();
  exec_cmd->add_option("--login", exec_args.login, "Login on the target, e.g. root")->required();
  exec_cmd->add_option("--timeout", exec_args.timeout_seconds, "Seconds for the command (and any review) to finish, 1-3600 (default 60)")
      ->check(CLI::Range(1, 3600));
  exec_cmd->add_option("--stdin-file", exec_args.stdin_file, "File sent as the command's stdin");
  exec_cmd->add_option("command", exec_args.command, "The remote command, after --")->required();
  add_client_options(exec_cmd);

  auto* target_cmd = app.add_subcommand("target", "SSH targets of the gateway");
  target_cmd->require_subcommand(1);
  auto* credential_cmd = target_cmd->add_subcommand("credential", "Credentials the gateway logs in to a target with (targets:credentials)");
  credential_cmd->require_subcommand(1);
  std::string cred_target, cred_login, cred_key_file, cred_password_file;
  auto* tcs = credential_cmd->add_subcommand("set", "Set the key or password for a login; the secret is read from a file");
  tcs->add_option("--target", cred_target, "Target resource id (with an ssh endpoint in the directory)")->required();
  tcs->add_option("--login", cred_login, "Login on the target")->required();
  auto* key_opt = tcs->add_option("--key-file", cred_key_file, "OpenSSH or PEM private key file (mode 0600)");
  tcs->add_option("--password-file", cred_password_file, "File holding the password (mode 0600)")->excludes(key_opt);
  auto* tcl = credential_cmd->add_subcommand("list", "Logins with a credential and their key fingerprints (never secrets)");
  tcl->add_option("--target", cred_target, "Target resource id")->required();
  for (auto* c : {tcs, tcl}) add_client_options(c);

  CLI11_PARSE(app, argc, argv);

  if (!token_file.empty()) {
    auto t = ReadFile(token_file);
    if (!t.ok()) {
      std::cerr << "cloudpact: --token-file: " << t.error().message << "\n";
      return 2;
    }
    ctx.token = *t;
    while (!ctx.token.empty() && (ctx.token.back() == '\n' || ctx.token.back() == '\r')) ctx.token.pop_back();
  }
  if (ctx.token.empty() && std::getenv("CLOUDPACT_TOKEN")) ctx.token = std::getenv("CLOUDPACT_TOKEN");
  if (apply->parsed()) return client::Apply(ctx, file);
  if (pp->parsed()) return client::PolicyPropose(ctx, file);
  if (pa->parsed()) return client::PolicyDecide(ctx, policy_version, true, "");
  if (pr->parsed()) return client::PolicyDecide(ctx, policy_version, false, policy_reason);
  if (pl->parsed()) return client::PolicyList(ctx);
  if (ar->parsed()) return client::AccessRequest(ctx, req, false);
  if (ab->parsed()) return client::AccessRequest(ctx, req, true);
  if (arv->parsed()) {
    if (!approve && !deny) {
      std::cerr << "cloudpact access review: give --approve or --deny\n";
      return 2;
    }
    return client::AccessReview(ctx, req_id, approve ? "approve" : "deny", decision_comment, key_file);
  }
  if (al->parsed()) return client::AccessList(ctx, list_state, reviewable);
  if (as->parsed()) return client::AccessShow(ctx, req_id);
  if (ak->parsed()) return client::AccessRevoke(ctx, req_id, decision_comment);
  if (ac->parsed()) return client::AuthzCheck(ctx, az_principal, az_action, az_resource);
  if (posture_cmd->parsed()) return client::Posture(ctx);
  if (ingest_cmd->parsed()) {
    for (size_t start = 0; start <= ingest_formats.size();) {
      size_t comma = std::min(ingest_formats.find(',', start), ingest_formats.size());
      if (comma > start) ingest_args.formats.push_back(ingest_formats.substr(start, comma - start));
      start = comma + 1;
    }
    return client::Ingest(ctx, ingest_args);
  }
  if (agate->parsed()) return client::AssessGate(gate_args);
  if (aimp->parsed()) return client::AssessImport(ctx, ai_args);
  if (arun->parsed()) return client::AssessRun(ctx, as_catalog, as_platform);
  if (alist->parsed()) return client::AssessList(ctx);
  if (ashow->parsed()) return client::AssessShow(ctx, as_run, as_status, as_limit);
  if (adiff->parsed()) return client::AssessDiff(ctx, as_from, as_to);
  if (areport->parsed()) return client::AssessReport(ctx, as_run, as_format, as_out);
  if (aatt->parsed()) return client::AssessAttest(ctx, att_args);
  if (aexc->parsed()) return client::AssessException(ctx, exc_args);
  if (aver->parsed()) {
    if (as_run.empty() && as_document.empty()) {
      std::cerr << "cloudpact assess verify: give --run or --document\n";
      return 2;
    }
    return client::AssessVerify(ctx, as_run, as_document, as_key);
  }
  if (fl->parsed()) return client::FindingsList(ctx, findings_args);
  if (fs_show->parsed()) return client::FindingsShow(ctx, finding_id);
  if (sl->parsed()) return client::SessionsList(ctx, ses_active, ses_operator);
  if (ss->parsed()) return client::SessionsShow(ctx, ses_id);
  if (srec->parsed()) return client::SessionsRecording(ctx, ses_id, ses_out);
  if (sterm->parsed()) return client::SessionsTerminate(ctx, ses_id, ses_reason);
  if (srs->parsed()) return client::SessionsReviews(ctx);
  if (srv->parsed()) return client::SessionsReview(ctx, ses_id, ses_seq, ses_decision, ses_comment);
  if (exec_cmd->parsed()) return client::Exec(ctx, exec_args);
  if (tcs->parsed()) return client::TargetCredentialSet(ctx, cred_target, cred_login, cred_key_file, cred_password_file);
  if (tcl->parsed()) return client::TargetCredentialList(ctx, cred_target);
  if (tk->parsed()) return client::TenantKeygen(key_file);
  if (tv->parsed()) {
    std::string base = t_url;
    while (!base.empty() && base.back() == '/') base.pop_back();
    return client::TenantVerify(base + "/ledger", t_key, t_tenant, t_pinned, t_json);
  }

  if (wi->parsed()) return WitnessInit(w_dir, w_name);
  if (wr->parsed()) {
    std::chrono::milliseconds interval;
    if (ParseDuration(w_interval, interval) != 0) {
      std::cerr << "cloudpact witness run: --interval must look like 500ms or 10s\n";
      return 2;
    }
    return WitnessRun(w_dir, w_url, w_key, interval, w_once);
  }

  if (s->parsed()) {
    if (ParseDuration(checkpoint_interval, serve.checkpoint_interval) != 0) {
      std::cerr << "cloudpact serve: --checkpoint-interval must look like 500ms or 1s\n";
      return 2;
    }
    if (assess_every == "off") {
      serve.assess_interval = std::chrono::milliseconds(0);
    } else if (ParseDuration(assess_every, serve.assess_interval) != 0) {
      std::cerr << "cloudpact serve: --assess-every must look like 24h, 30m, or off\n";
      return 2;
    }
    return server::Serve(serve);
  }
  if (v->parsed()) {
    if (v_url.empty() && v_dir.empty()) {
      std::cerr << "cloudpact ledger verify: give --url or --dir\n";
      return 2;
    }
    return LedgerVerify(v_url, v_dir, v_key, v_state, v_witnesses, v_skip_entries, v_full);
  }
  return 0;
}
