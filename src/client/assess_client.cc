#include "client/assess_client.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "assess/assessor.h"
#include "assess/importers.h"
#include "assess/report.h"
#include "client/http_call.h"
#include "core/files.h"
#include "crypto/ed25519.h"
#include "crypto/note.h"
#include "crypto/sha256.h"
#include "ledger/ledger.h"
#include "ledger/verifier.h"
#include "storage/storage.h"

namespace cloudpact::client {
namespace {

std::string U(const Json& j, const char* key) {
  if (!j.contains(key)) return "0";
  return j[key].is_string() ? j[key].get<std::string>() : j[key].dump();
}

Result<std::string> ReadInput(const std::string& file) {
  if (file != "-") return ReadFile(file);
  std::stringstream ss;
  ss << std::cin.rdbuf();
  return ss.str();
}

void PrintRunSummary(const Json& j) {
  const Json& c = j.contains("counts") ? j["counts"] : Json::object();
  std::cout << "评估 run " << j.value("id", "") << "  resources " << U(j, "resources") << "  PASS " << U(c, "pass")
            << "  FAIL " << U(c, "fail") << " (muted " << U(c, "muted") << ")  MANUAL " << U(c, "manual") << "  ERROR "
            << U(c, "error") << "\n";
  std::cout << "digest " << j.value("digest", "") << "  ";
  if (j.value("ledgered", false)) {
    std::cout << "ledger entry #" << U(j, "ledger_index") << "\n";
  } else {
    std::cout << "NOT LEDGERED YET\n";
  }
}

}  // namespace

int AssessImport(const Context& c, const AssessImportArgs& a) {
  if (a.platform.empty() || a.format.empty()) {
    std::cerr << "error: --platform and --format are required\n";
    return 2;
  }
  auto body = ReadInput(a.file);
  if (!body.ok()) {
    std::cerr << "error: " << body.error().message << "\n";
    return 2;
  }
  std::string q = "/v1/assess/imports?platform=" + QueryEscape(a.platform) + "&format=" + QueryEscape(a.format);
  if (!a.region.empty()) q += "&region=" + QueryEscape(a.region);
  auto r = Send(c, "POST", q, *body, std::chrono::minutes(15), 32 << 20, "application/octet-stream");
  if (!r) return 1;
  if (r->status != 200) {
    PrintHttpError(*r);
    return 1;
  }
  auto j = ParseJson(r->body);
  if (!j.ok()) {
    std::cerr << "error: the server's answer is not JSON\n";
    return 1;
  }
  if (c.json) {
    std::cout << j->dump(2) << "\n";
  } else {
    std::cout << "导入 imported " << U(*j, "resources") << " resources into " << j->value("platform", "") << " ("
              << U(*j, "replaced") << " replaced, " << U(*j, "raw_only") << " of unknown types kept raw)\n";
    const Json by_type = j->value("by_type", Json::object());  // items() must not outlive it
    for (const auto& [t, n] : by_type.items()) std::cout << "  " << t << ": " << n << "\n";
  }
  // Problems always go to stderr, so that a script sees them even with --json.
  const uint64_t problems = j->value("problems", uint64_t{0});
  for (const auto& p : j->value("first_problems", Json::array())) {
    std::cerr << a.file << ":" << p.value("line", 0) << ": " << p.value("message", "") << "\n";
  }
  if (problems > 0) std::cerr << problems << " problem(s); those lines were skipped\n";
  return j->value("resources", uint64_t{0}) == 0 && problems > 0 ? 1 : 0;
}

int AssessRun(const Context& c, const std::string& catalog, const std::string& platform) {
  Json body = {{"catalog", catalog}, {"platform", platform}};
  auto r = Send(c, "POST", "/v1/assess/runs", body.dump(), std::chrono::minutes(30));
  if (!r) return 1;
  if (r->status != 201) {
    PrintHttpError(*r);
    return 1;
  }
  auto j = ParseJson(r->body);
  if (!j.ok()) return 1;
  if (c.json) {
    std::cout << j->dump(2) << "\n";
  } else {
    PrintRunSummary(*j);
    std::cout << "details: cloudpact assess show " << j->value("id", "") << "   report: cloudpact assess report "
              << j->value("id", "") << " --format html -o report.html\n";
  }
  return 0;
}

int AssessList(const Context& c) {
  return Print(c, Call(c, "GET", "/v1/assess/runs"), [](const Json& j) {
    std::vector<std::vector<std::string>> rows = {{"RUN", "FINISHED", "CATALOG", "PLATFORM", "PASS", "FAIL", "ERROR", "LEDGER"}};
    for (const auto& r : j.value("runs", Json::array())) {
      const Json& n = r["counts"];
      rows.push_back({r.value("id", ""), TimeText(r.value("finished", int64_t{0})),
                      r.value("catalog", "").empty() ? "*" : r.value("catalog", ""),
                      r.value("platform", "").empty() ? "*" : r.value("platform", ""), U(n, "pass"), U(n, "fail"),
                      U(n, "error"), r.value("ledgered", false) ? "#" + U(r, "ledger_index") : "pending"});
    }
    PrintTable(rows);
  });
}

int AssessShow(const Context& c, const std::string& run, const std::string& status, size_t limit) {
  if (!SafeSegment(run, "run id")) return 2;
  std::string q = "/v1/assess/runs/" + run + "?limit=" + std::to_string(limit);
  if (!status.empty()) q += "&status=" + QueryEscape(status);
  return Print(c, Call(c, "GET", q), [](const Json& j) {
    PrintRunSummary(j);
    std::vector<std::vector<std::string>> rows = {{"CATALOG", "REQUIREMENT", "STATUS", "FAILED", "TITLE"}};
    for (const auto& q : j.value("requirements", Json::array())) {
      if (q.value("status", "") == "PASS" || q.value("status", "") == "NOT_APPLICABLE") continue;
      rows.push_back({q.value("catalog", ""), q.value("requirement", ""), q.value("status", ""), U(q, "failed_resources"),
                      Shorten(q.value("title_zh", "") + " / " + q.value("title_en", ""), 80)});
    }
    std::cout << "\n要求 requirements not passing:\n";
    PrintTable(rows);
    rows = {{"STATUS", "CHECK", "RESOURCE", "TENANT", "REASON"}};
    for (const auto& r : j.value("results", Json::array())) {
      rows.push_back({r.value("status", "") + (r.contains("exception") ? " (muted)" : ""), r.value("check", ""),
                      r.value("resource", ""), r.value("tenant", ""), Shorten(r.value("reason", ""), 90)});
    }
    std::cout << "\n结果 results (" << U(j, "results_total") << " not PASS):\n";
    PrintTable(rows);
  });
}

int AssessDiff(const Context& c, const std::string& from, const std::string& to) {
  return Print(c, Call(c, "GET", "/v1/assess/diff?from=" + QueryEscape(from) + "&to=" + QueryEscape(to)), [](const Json& j) {
    auto list = [](const char* title, const Json& items) {
      std::cout << title << " (" << items.size() << "):\n";
      for (const auto& r : items) {
        const Json& x = r.contains("after") ? r["after"] : r;
        std::cout << "  " << x.value("status", "") << "  " << x.value("check", "") << "  " << x.value("resource", "")
                  << "  " << Shorten(x.value("reason", ""), 80) << "\n";
      }
    };
    list("新增 new", j["added"]);
    list("已解决 resolved", j["resolved"]);
    list("变化 changed", j["changed"]);
  });
}

int AssessReport(const Context& c, const std::string& run, const std::string& format, const std::string& out) {
  if (!SafeSegment(run, "run id")) return 2;
  auto r = Send(c, "GET", "/v1/assess/runs/" + run + "/report?format=" + QueryEscape(format), "",
                std::chrono::minutes(10), size_t{2} << 30);
  if (!r) return 1;
  if (r->status != 200) {
    PrintHttpError(*r);
    return 1;
  }
  if (out.empty() || out == "-") {
    std::cout << r->body;
    return 0;
  }
  if (auto st = WriteFileAtomic(out, r->body, 0644); !st.ok()) {
    std::cerr << "error: " << st.error().message << "\n";
    return 2;
  }
  std::cerr << "wrote " << out << " (" << r->body.size() << " bytes); verify with: cloudpact assess verify --run " << run
            << " --url " << c.url << " --key <the ledger's verifier key>\n";
  return 0;
}

int AssessAttest(const Context& c, const AttestArgs& a) {
  Json evidence = Json::array();
  for (const auto& f : a.evidence_files) {
    auto bytes = ReadFile(f);
    if (!bytes.ok()) {
      std::cerr << "error: " << bytes.error().message << "\n";
      return 2;
    }
    evidence.push_back({{"name", std::filesystem::path(f).filename().string()}, {"sha256", crypto::Sha256Hex(*bytes)}});
  }
  Json body = {{"catalog", a.catalog}, {"requirement", a.requirement}, {"owner", a.owner},
               {"statement", a.statement}, {"evidence", evidence}, {"expires", a.expires}};
  return Print(c, Call(c, "POST", "/v1/assess/attestations", body.dump()), [](const Json& j) {
    std::cout << "attestation " << j.value("id", "") << " recorded and ledgered; lapses at " << j.value("expires", "") << "\n";
  });
}

int AssessException(const Context& c, const ExceptionArgs& a) {
  Json body = {{"check", a.check}, {"resource", a.resource}, {"owner", a.owner}, {"reason", a.reason}, {"expires", a.expires}};
  return Print(c, Call(c, "POST", "/v1/assess/exceptions", body.dump()), [](const Json& j) {
    std::cout << "exception " << j.value("id", "") << " recorded and ledgered; lapses at " << j.value("expires", "") << "\n";
  });
}

int AssessVerify(const Context& c, const std::string& run, const std::string& document_file, const std::string& vkey) {
  auto verifier = crypto::NoteVerifier::Parse(vkey);
  if (!verifier.ok()) {
    std::cerr << "error: --key: " << verifier.error().message << "\n";
    return 2;
  }
  std::string doc;
  if (!document_file.empty()) {
    auto bytes = ReadFile(document_file);
    if (!bytes.ok()) {
      std::cerr << "error: " << bytes.error().message << "\n";
      return 2;
    }
    doc = std::move(bytes).value();
  } else {
    if (!SafeSegment(run, "run id")) return 2;
    auto r = Send(c, "GET", "/v1/assess/runs/" + run + "/document", "", std::chrono::minutes(5), size_t{2} << 30);
    if (!r) return 1;
    if (r->status != 200) {
      PrintHttpError(*r);
      return 1;
    }
    doc = std::move(r->body);
  }
  auto parsed = ParseJson(doc);
  if (!parsed.ok() || !parsed->is_object() || !(*parsed)["run"].is_string()) {
    std::cerr << "error: not an assessment result document\n";
    return 2;
  }
  const std::string id = (*parsed)["run"].get<std::string>();
  if (!run.empty() && id != run) {
    std::cout << "VERIFICATION FAILED: the document is of run " << id << ", not " << run << "\n";
    return 1;
  }
  const std::string digest = crypto::Sha256Hex(doc);
  auto source = ledger::HttpTileSource(c.url + "/ledger");
  if (!source.ok()) {
    std::cerr << "error: " << source.error().message << "\n";
    return 2;
  }
  std::vector<std::pair<uint64_t, std::string>> ledgered;  // (index, digest) of this run's entries
  ledger::VerifyOptions options;
  options.incremental = false;
  options.on_entry = [&](uint64_t index, std::string_view entry) {
    auto e = ParseJson(entry);
    if (!e.ok() || (*e).value("type", "") != "assess.run" || !(*e)["body"].is_object()) return;
    if ((*e)["body"].value("run", "") == id) ledgered.emplace_back(index, (*e)["body"].value("digest", ""));
  };
  auto report = ledger::VerifyLog(**source, *verifier, options);
  if (!report.ok()) {
    std::cout << "VERIFICATION FAILED: the log itself does not verify: " << report.error().message << "\n";
    return 1;
  }
  if (ledgered.empty()) {
    std::cout << "VERIFICATION FAILED: run " << id << " has no entry in the ledger (" << report->checkpoint.size
              << " entries checked)\n";
    return 1;
  }
  for (const auto& [index, d] : ledgered) {
    if (d != digest) {
      std::cout << "VERIFICATION FAILED: ledger entry #" << index << " records digest " << d
                << " but the document hashes to " << digest << ": it was changed after the run\n";
      return 1;
    }
  }
  std::cout << "已验证 verified: run " << id << " document sha256 " << digest << " is ledger entry #" << ledgered[0].first
            << " under a signed checkpoint of " << report->checkpoint.size << " entries (" << verifier->name() << ")\n";
  return 0;
}

int AssessGate(const GateArgs& a) {
  auto threshold = assess::ParseSeverity(a.fail_on);
  if (!threshold.ok()) {
    std::cerr << "error: --fail-on: " << threshold.error().message << "\n";
    return 2;
  }
  const std::filesystem::path dir = a.catalogs_dir.empty() ? assess::DefaultCatalogDir() : std::filesystem::path(a.catalogs_dir);
  auto catalogs = assess::LoadCatalogDirectory(dir);
  if (!catalogs.ok()) {
    std::cerr << "error: " << catalogs.error().message << "\n";
    return 2;
  }
  auto checks = assess::LoadCheckDirectory(dir / "checks");
  if (!checks.ok()) {
    std::cerr << "error: " << checks.error().message << "\n";
    return 2;
  }
  auto input = ReadInput(a.input);
  if (!input.ok()) {
    std::cerr << "error: " << input.error().message << "\n";
    return 2;
  }
  assess::ImportOptions io;
  io.platform = a.platform;
  auto imported = assess::Import(a.format, *input, io);
  if (!imported.ok()) {
    std::cerr << "error: " << imported.error().message << "\n";
    return 2;
  }
  for (const auto& p : imported->problems) std::cerr << a.input << ":" << p.line << ": " << p.message << "\n";
  // A throwaway database and ledger: the gate is a pure function of the snapshot.
  char tmpl[] = "/tmp/cloudpact-gate.XXXXXX";
  if (!mkdtemp(tmpl)) {
    std::cerr << "error: cannot create a temporary directory\n";
    return 2;
  }
  const std::filesystem::path tmp = tmpl;
  struct Cleanup {
    std::filesystem::path p;
    ~Cleanup() {
      std::error_code ec;
      std::filesystem::remove_all(p, ec);
    }
  } cleanup{tmp};
  auto store = storage::Storage::Open("sqlite:" + (tmp / "gate.db").string());
  if (!store.ok()) {
    std::cerr << "error: " << store.error().message << "\n";
    return 2;
  }
  auto key = crypto::Ed25519PrivateKey::Generate();
  auto ledger = ledger::Ledger::Open(**store, crypto::NoteSigner("cloudpact-gate", key), {});
  if (!ledger.ok()) {
    std::cerr << "error: " << ledger.error().message << "\n";
    return 2;
  }
  auto assessor = assess::Assessor::Open(**store, **ledger, *catalogs, *checks);
  if (!assessor.ok()) {
    std::cerr << "error: " << assessor.error().message << "\n";
    return 2;
  }
  auto sum = (*assessor)->Import(a.platform, a.format, std::move(imported).value(), "gate");
  if (!sum.ok()) {
    std::cerr << "error: " << sum.error().message << "\n";
    return 2;
  }
  assess::RunOptions ro;
  ro.catalog = a.profile == "all" ? "" : a.profile;
  ro.platform = a.platform;
  ro.actor = "gate";
  auto run = (*assessor)->RunAssessment(ro);
  if (!run.ok()) {
    std::cerr << "error: " << run.error().message << "\n";
    return 2;
  }
  const int code = assess::GateExitCode(*run, *threshold);
  if (!a.sarif.empty()) {
    const std::string sarif = assess::ToSarif(*run, (*assessor)->catalogs()).dump(2) + "\n";
    if (a.sarif == "-") {
      std::cout << sarif;
    } else if (auto st = WriteFileAtomic(a.sarif, sarif, 0644); !st.ok()) {
      std::cerr << "error: " << st.error().message << "\n";
      return 2;
    }
  }
  uint64_t fail = 0, error = 0;
  for (const auto& r : run->results) {
    fail += r.status == assess::ResultStatus::kFail && r.exception_id.empty();
    error += r.status == assess::ResultStatus::kError;
  }
  std::cerr << "门禁 gate " << (code == 0 ? "passed" : "FAILED") << ": " << sum->resources << " resources, "
            << run->checks.size() << " checks, " << fail << " FAIL, " << error << " ERROR (fail on " << a.fail_on
            << " and above)\n";
  return code;
}

}  // namespace cloudpact::client
