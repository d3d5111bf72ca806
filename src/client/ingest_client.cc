#include "client/ingest_client.h"

#include <cstdio>
#include <fstream>
#include <iostream>

#include "client/http_call.h"
#include "core/encoding.h"
#include "crypto/sha256.h"
#include "ledger/merkle.h"

namespace cloudpact::client {
namespace {

std::string Join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

bool HashFromHex(const std::string& hex, crypto::Hash* out) {
  auto bytes = HexDecode(hex);
  if (!bytes.ok() || bytes->size() != out->size()) return false;
  std::copy(bytes->begin(), bytes->end(), out->begin());
  return true;
}

// Where to cut `buf` (which holds whole lines only up to its last '\n'): the last line end
// within `max` bytes. For auditd, after an EOE record when there is one in the last quarter,
// so that one event's records do not straddle two pushes.
size_t CutPoint(const std::string& buf, size_t max, bool auditd) {
  size_t limit = std::min(buf.size(), max);
  size_t cut = buf.rfind('\n', limit == 0 ? 0 : limit - 1);
  if (cut == std::string::npos) return std::string::npos;
  if (auditd) {
    size_t eoe = buf.rfind("type=EOE", cut);
    if (eoe != std::string::npos && eoe > limit / 4 * 3) {
      size_t end = buf.find('\n', eoe);
      if (end != std::string::npos && end <= cut) cut = end;
    }
  }
  return cut + 1;
}

}  // namespace

int Ingest(const Context& c, const IngestArgs& a) {
  if (a.source.empty() || a.formats.empty()) {
    std::cerr << "error: --source and --format are required\n";
    return 2;
  }
  std::ifstream file;
  std::istream* in = &std::cin;
  if (a.file != "-") {
    file.open(a.file, std::ios::binary);
    if (!file) {
      std::cerr << "error: cannot read " << a.file << "\n";
      return 2;
    }
    in = &file;
  }
  const bool auditd = std::find(a.formats.begin(), a.formats.end(), "auditd") != a.formats.end();
  std::string query = "/v1/ingest?source=" + QueryEscape(a.source) + "&format=" + QueryEscape(Join(a.formats, ","));
  if (!a.platform.empty()) query += "&platform=" + QueryEscape(a.platform);
  if (!a.resource.empty()) query += "&resource=" + QueryEscape(a.resource);

  uint64_t lines = 0, events = 0, dead = 0, findings = 0, duplicates = 0, unledgered = 0;
  uint64_t next_line = 1;
  std::vector<std::string> finding_ids;
  std::string buf;
  std::vector<char> block(256 * 1024);
  bool eof = false;
  while (!eof || !buf.empty()) {
    while (!eof && buf.size() < a.chunk_bytes) {
      in->read(block.data(), static_cast<std::streamsize>(block.size()));
      buf.append(block.data(), static_cast<size_t>(in->gcount()));
      if (!*in) eof = true;
    }
    size_t cut = CutPoint(buf, a.chunk_bytes, auditd);
    if (cut == std::string::npos) {
      if (!eof) {
        std::cerr << "error: line " << next_line << " is longer than " << a.chunk_bytes << " bytes\n";
        return 2;
      }
      cut = buf.size();  // the last line, without its newline
    }
    std::string chunk = buf.substr(0, cut);
    buf.erase(0, cut);
    const uint64_t chunk_lines = static_cast<uint64_t>(std::count(chunk.begin(), chunk.end(), '\n')) +
                                 (chunk.empty() || chunk.back() == '\n' ? 0 : 1);
    // The same bytes at the same place, read the same way, are the same push; read with other
    // formats or for another resource they are not.
    const std::string key = crypto::Sha256Hex(Join(a.formats, ",") + "\n" + a.platform + "\n" + a.resource + "\n" +
                                              std::to_string(next_line) + "\n" + chunk);
    auto r = Send(c, "POST", query + "&first_line=" + std::to_string(next_line), chunk, std::chrono::milliseconds(120000),
                  1 << 20, "text/plain; charset=utf-8", {{"Idempotency-Key", key}});
    if (!r) return 1;
    if (r->status >= 300) {
      PrintHttpError(*r);
      std::cerr << "stopped at line " << next_line << "; lines before it were ingested (run again to resume)\n";
      return 1;
    }
    auto j = ParseJson(r->body);
    if (!j.ok()) {
      std::cerr << "error: the server's answer is not JSON\n";
      return 1;
    }
    lines += chunk_lines;
    events += j->value("events", uint64_t{0});
    dead += j->value("dead_letters", uint64_t{0});
    findings += j->value("findings", uint64_t{0});
    if (j->value("duplicate", false)) ++duplicates;
    if (!j->value("ledgered", true)) ++unledgered;
    for (const auto& id : (*j)["finding_ids"]) finding_ids.push_back(id.get<std::string>());
    next_line += chunk_lines;
  }
  if (c.json) {
    std::cout << Json{{"lines", lines},           {"events", events},       {"dead_letters", dead},
                      {"findings", findings},     {"finding_ids", finding_ids}, {"duplicate_chunks", duplicates},
                      {"unledgered_chunks", unledgered}}
                     .dump(2)
              << "\n";
    return 0;
  }
  std::cout << "已接入 / ingested: " << lines << " lines, " << events << " events, " << dead
            << " dead letters (kept, see docs/INGEST.md), " << findings << " findings\n";
  if (duplicates) std::cout << duplicates << " chunk(s) had been ingested before and were not added again\n";
  if (unledgered) std::cout << unledgered << " chunk(s) stored but not yet in the ledger (the server retries)\n";
  for (size_t i = 0; i < finding_ids.size() && i < 20; ++i) std::cout << "  " << finding_ids[i] << "\n";
  if (finding_ids.size() > 20) std::cout << "  … (cloudpact findings list)\n";
  return 0;
}

int FindingsList(const Context& c, const FindingsArgs& a) {
  std::string q = "/v1/findings?limit=" + std::to_string(a.limit);
  auto add = [&](const char* k, const std::string& v) {
    if (!v.empty()) q += std::string("&") + k + "=" + QueryEscape(v);
  };
  add("kind", a.kind);
  add("severity", a.severity);
  add("principal", a.principal);
  add("resource", a.resource);
  add("tenant", a.tenant);
  add("source", a.source);
  return Print(c, Call(c, "GET", q), [](const Json& j) {
    std::vector<std::vector<std::string>> rows = {{"ID", "TIME", "SEVERITY", "KIND", "WHO", "RESOURCE", "ACCESS"}};
    for (const auto& f : j["items"]) {
      rows.push_back({f.value("id", ""), TimeText(f.value("time_ms", int64_t{0}) / 1000), f.value("severity", ""),
                      f.value("kind", ""), f.value("principal", "").empty() ? "?" + f.value("actor", "") : f.value("principal", ""),
                      f.value("resource", "-"), f.value("access_action", "")});
    }
    if (rows.size() == 1) {
      std::cout << "无发现 / no findings\n";
      return;
    }
    PrintTable(rows);
    if (j.contains("next_after")) std::cout << "(more: --json and ?after=" << j["next_after"].get<std::string>() << ")\n";
  });
}

int FindingsShow(const Context& c, const std::string& id) {
  if (!SafeSegment(id, "finding id")) return 2;
  auto j = Call(c, "GET", "/v1/findings/" + id);
  if (!j) return 1;
  // Check the evidence before printing anything as fact.
  const Json& ev = (*j)["evidence"];
  std::string problem;
  crypto::Hash root{}, leaf{};
  std::vector<crypto::Hash> path;
  const std::string canonical = ev.value("event", "");
  leaf = ledger::LeafHash(canonical);
  if (HexEncode(crypto::AsBytes(leaf)) != j->value("event_hash", "")) problem = "the event's bytes do not hash to the finding's event hash";
  for (const auto& h : ev["path"]) {
    crypto::Hash x{};
    if (!h.is_string() || !HashFromHex(h.get<std::string>(), &x)) problem = "malformed inclusion path";
    path.push_back(x);
  }
  if (problem.empty() && !HashFromHex(ev.value("root", ""), &root)) problem = "malformed batch root";
  if (problem.empty() &&
      !ledger::VerifyInclusion(ev.value("index", uint64_t{0}), ev.value("batch_size", uint64_t{0}), leaf, path, root).ok()) {
    problem = "the event is not in the batch root";
  }
  uint64_t ledger_index = 0;
  if (problem.empty()) {
    if (!ev["ledger_index"].is_number()) {
      problem = "the batch is not in the ledger yet";
    } else {
      ledger_index = ev["ledger_index"].get<uint64_t>();
      auto entry = ParseJson(ev.value("ledger_entry", ""));
      if (!entry.ok() || (*entry)["body"].value("root", "") != ev.value("root", "")) {
        problem = "the ledger entry does not hold the batch root";
      }
    }
  }
  if (c.json) {
    Json out = *j;
    out["verification"] = problem.empty() ? Json{{"ok", true}, {"ledger_index", ledger_index}} : Json{{"ok", false}, {"problem", problem}};
    std::cout << out.dump(2) << "\n";
  } else {
    std::cout << j->value("id", "") << "  " << j->value("severity", "") << "  " << j->value("title_zh", "") << " / "
              << j->value("kind", "") << "\n"
              << "  time:     " << TimeText(j->value("time_ms", int64_t{0}) / 1000) << "\n"
              << "  who:      " << j->value("principal", "") << " (log: " << j->value("actor", "") << ")\n"
              << "  resource: " << j->value("resource", "") << " on " << j->value("platform", "") << "\n"
              << "  action:   " << j->value("action", "") << " → needs " << j->value("access_action", "") << "\n"
              << "  reason:   " << j->value("reason", "") << "\n"
              << "  event:    " << canonical << "\n";
    if (problem.empty()) {
      std::cout << "证据已验证 / evidence verified: event → batch " << ev.value("batch", "") << " root → ledger entry #"
                << ledger_index << " (check the ledger itself with `cloudpact verify`)\n";
    }
  }
  if (!problem.empty()) {
    std::cerr << "证据验证失败 / EVIDENCE CHECK FAILED: " << problem << "\n";
    return 1;
  }
  return 0;
}

}  // namespace cloudpact::client
