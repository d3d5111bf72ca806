// The cloudpact executable: argument parsing only. Each subcommand calls into a module.
#include <CLI/CLI.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "core/encoding.h"
#include "crypto/note.h"
#include "ledger/verifier.h"
#include "server/server.h"

namespace {

using namespace cloudpact;

int ParseDuration(const std::string& text, std::chrono::milliseconds& out) {
  // "500ms", "1s", "2.5s"
  try {
    if (text.size() > 2 && text.substr(text.size() - 2) == "ms") {
      out = std::chrono::milliseconds(std::stoll(text.substr(0, text.size() - 2)));
    } else if (!text.empty() && text.back() == 's') {
      out = std::chrono::milliseconds(static_cast<int64_t>(std::stod(text.substr(0, text.size() - 1)) * 1000));
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
                 bool skip_entries) {
  auto verifier = crypto::NoteVerifier::Parse(key);
  if (!verifier.ok()) {
    std::cerr << "cloudpact ledger verify: --key: " << verifier.error().message << "\n";
    return 2;
  }
  ledger::VerifyOptions options;
  options.check_entries = !skip_entries;
  for (const auto& w : witnesses) {
    auto v = crypto::NoteVerifier::Parse(w);
    if (!v.ok()) {
      std::cerr << "cloudpact ledger verify: --witness: " << v.error().message << "\n";
      return 2;
    }
    options.witnesses.push_back(*v);
  }
  if (!state_path.empty()) {
    std::ifstream in(state_path);
    if (in) {
      std::ostringstream ss;
      ss << in.rdbuf();
      auto st = ledger::VerifierState::FromJson(ss.str());
      if (!st.ok()) {
        std::cerr << "cloudpact ledger verify: " << state_path << ": " << st.error().message << "\n";
        return 2;
      }
      options.previous = *st;
    }
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
  for (const auto& w : report->cosigned_by) std::cout << " cosigned_by=" << w;
  std::cout << "\n";
  if (!options.witnesses.empty() && report->cosigned_by.size() < options.witnesses.size()) {
    std::cerr << "VERIFICATION FAILED: " << options.witnesses.size() - report->cosigned_by.size()
              << " configured witness(es) did not cosign this checkpoint\n";
    return 1;
  }
  if (!state_path.empty()) {
    ledger::VerifierState st{cp.origin, cp.size, cp.root};
    std::string tmp = state_path + ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << st.ToJson();
      if (!out) {
        std::cerr << "cloudpact ledger verify: cannot write " << tmp << "\n";
        return 2;
      }
    }
    if (std::rename(tmp.c_str(), state_path.c_str()) != 0) {
      std::cerr << "cloudpact ledger verify: cannot write " << state_path << "\n";
      return 2;
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"cloudpact: keep, and prove, the commitments of the cloud security convention"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "cloudpact 0.1.0");

  server::ServeOptions serve;
  std::string checkpoint_interval = "500ms";
  auto* s = app.add_subcommand("serve", "Run the server (HTTP API, ledger sequencer)");
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
  s->add_flag("--demo", serve.demo, "Seed demo entries into an empty ledger");

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

  CLI11_PARSE(app, argc, argv);

  if (s->parsed()) {
    if (ParseDuration(checkpoint_interval, serve.checkpoint_interval) != 0) {
      std::cerr << "cloudpact serve: --checkpoint-interval must look like 500ms or 1s\n";
      return 2;
    }
    return server::Serve(serve);
  }
  if (v->parsed()) {
    if (v_url.empty() && v_dir.empty()) {
      std::cerr << "cloudpact ledger verify: give --url or --dir\n";
      return 2;
    }
    return LedgerVerify(v_url, v_dir, v_key, v_state, v_witnesses, v_skip_entries);
  }
  return 0;
}
