#include "correlation/pipeline.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "core/encoding.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/time.h"
#include "crypto/sha256.h"
#include "ledger/merkle.h"

namespace cloudpact::correlation {
namespace {

constexpr const char* kBatchKind = "ingest.batch";
constexpr const char* kConfidentialKind = "ingest.confidential";
constexpr const char* kLedgeredKind = "ingest.ledgered";
constexpr const char* kCursorKind = "ingest.cursor";
constexpr const char* kStateKind = "ingest.state";
constexpr const char* kFindingKind = "ingest.finding";
constexpr const char* kPushKind = "ingest.push";
constexpr size_t kMaxDeadLetterBytes = 65536;
// Our own records: a batch of 2,048 events is a few MB, a cursor may hold 16 MiB of pending lines.
constexpr JsonLimits kRecordLimits{.max_bytes = size_t{256} << 20, .max_depth = 16};

struct Metrics {
  metrics::Counter& lines = metrics::Registry::Global().NewCounter(
      "cloudpact_ingest_lines_total", "Log lines read by ingestion, all sources.");
  metrics::Counter& events = metrics::Registry::Global().NewCounter(
      "cloudpact_ingest_events_total", "Operation events committed (stored and ledgered).");
  metrics::Counter& dead_letters = metrics::Registry::Global().NewCounter(
      "cloudpact_ingest_dead_letters_total", "Lines that could not be parsed, kept as dead letters.");
  metrics::Counter& findings = metrics::Registry::Global().NewCounter(
      "cloudpact_ingest_findings_total", "Findings raised by correlation.");
  metrics::Counter& batches = metrics::Registry::Global().NewCounter(
      "cloudpact_ingest_batches_total", "Batches committed to storage and the ledger.");
  metrics::Counter& commit_failures = metrics::Registry::Global().NewCounter(
      "cloudpact_ingest_commit_failures_total", "Batch commits that failed and were retried (storage or ledger down).");
  metrics::Gauge& queued = metrics::Registry::Global().NewGauge(
      "cloudpact_ingest_queue_batches", "Batches waiting for the committer (bounded).");
  metrics::Gauge& unledgered = metrics::Registry::Global().NewGauge(
      "cloudpact_ingest_unledgered_batches", "Batches stored but not yet in the ledger.");
};
Metrics& M() {
  static Metrics* m = new Metrics();
  return *m;
}

std::string HexHash(const crypto::Hash& h) { return HexEncode(crypto::AsBytes(h)); }

// One leaf of a batch: an event or a dead letter, as canonical bytes, with its confidential
// part kept apart.
struct Leaf {
  std::string canonical;
  crypto::Hash hash{};
  std::string salt;         // raw 32 bytes; empty when no confidential part
  std::string confidential; // canonical JSON committed to
  bool dead_letter = false;
  uint64_t line = 0;
  int64_t time_ms = 0;
  std::vector<Finding> findings;  // drafts, completed at commit (batch id, index)
};

// Lines parsed and correlated by a reader: the unit queued for the committer.
struct Piece {
  const SourceConfig* config = nullptr;
  std::vector<Leaf> leaves;
  uint64_t lines = 0;
  uint64_t first_line = 0, last_line = 0;
  std::optional<std::string> cursor;  // continuous sources: the position after these lines
  Json pending = Json::array();       // parsers' half-assembled events at that position
  ingest::Source* source = nullptr;
};

Error CommitFailed(const std::string& what, const Error& e) {
  return MakeError(e.code, what + ": " + e.message);
}

// UTF-8 as RFC 3629 allows it (no overlongs, surrogates or values above U+10FFFF).
bool IsUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) { ++i; continue; }
    size_t n = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC2 ? 1 : 0;
    if (n == 0 || c > 0xF4 || i + n >= s.size()) return false;  // bytes i+1 … i+n must exist
    unsigned char c1 = static_cast<unsigned char>(s[i + 1]);
    if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 > 0x9F) || (c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 > 0x8F)) return false;
    for (size_t k = 1; k <= n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += n + 1;
  }
  return true;
}

void Member(std::string& out, const char* key, std::string_view value) {
  out += '"';
  out += key;
  out += "\":";
  AppendCanonicalString(out, value);
  out += ',';
}
void Member(std::string& out, const char* key, bool value) {
  out += '"';
  out += key;
  out += "\":";
  out += value ? "true," : "false,";
}
void Member(std::string& out, const char* key, int64_t value) {
  out += '"';
  out += key;
  out += "\":";
  out += std::to_string(value);
  out += ',';
}

}  // namespace

// Written member by member in RFC 8785 order (keys are fixed ASCII, sorted by hand; the
// tests check the result against CanonicalJson): at 10^5 events a second, building a JSON
// tree to sort it would cost more than everything else the pipeline does.
std::string EventCanonical(const SourceConfig& cfg, const ingest::OperationEvent& e, const Analysis& a,
                           const std::string& commitment_hex) {
  const Resolved& r = a.resolved;
  std::string o;
  o.reserve(768 + e.detail.size() / 4);
  o += '{';
  Member(o, "action", e.action);
  Member(o, "actor", e.actor);
  Member(o, "actor_org", e.actor_org);
  if (!commitment_hex.empty()) {
    o += "\"confidential\":{\"alg\":\"sha256-salted\",\"commitment\":\"" + commitment_hex + "\"},";
  }
  Member(o, "event_id", e.event_id);
  o += "\"findings\":[";
  for (size_t i = 0; i < a.findings.size(); ++i) {
    if (i) o += ',';
    AppendCanonicalString(o, KindName(a.findings[i].kind));
  }
  o += "],";
  Member(o, "format", e.source);
  Member(o, "key_fingerprint", e.key_fingerprint);
  Member(o, "line", static_cast<int64_t>(e.line));
  o += "\"ocsf\":{";
  Member(o, "activity_id", static_cast<int64_t>(e.ocsf_activity_id));
  Member(o, "class_uid", static_cast<int64_t>(e.ocsf_class_uid));
  o.back() = '}';
  o += ',';
  Member(o, "outcome", e.outcome);
  Member(o, "platform", e.platform);
  Member(o, "privileged", e.privileged);
  Member(o, "raw_sha256", e.raw_sha256);
  o += "\"resolved\":{";
  Member(o, "access_action", r.access_action);
  Member(o, "checked", r.checked);
  Member(o, "coverage", r.coverage);
  Member(o, "organisation", r.organisation);
  Member(o, "outsourced", r.outsourced);
  Member(o, "platform", r.platform);
  Member(o, "principal", r.principal);
  Member(o, "resource", r.resource);
  Member(o, "tenant", r.tenant);
  Member(o, "tenant_data", r.tenant_data);
  Member(o, "via_gateway", r.via_gateway);
  o.back() = '}';
  o += ',';
  Member(o, "source", cfg.name);
  Member(o, "source_ip", e.source_ip);
  Member(o, "target", e.target);
  Member(o, "target_login", e.target_login);
  Member(o, "time", e.time_ms);
  Member(o, "type", EventCanonicalType());
  o.back() = '}';
  return o;
}

namespace {

Result<Leaf> EventLeaf(const SourceConfig& cfg, const ingest::OperationEvent& e, const Analysis& a) {
  const Resolved& r = a.resolved;
  Leaf leaf;
  std::string commitment;
  if (!e.detail.empty()) {
    leaf.confidential = "{\"detail\":";
    AppendCanonicalString(leaf.confidential, e.detail);
    leaf.confidential += '}';
    leaf.salt = crypto::RandomBytes(32);
    commitment = HexHash(crypto::Sha256({leaf.salt, leaf.confidential}));
  }
  leaf.canonical = EventCanonical(cfg, e, a, commitment);
  if (!IsUtf8(leaf.canonical)) return MakeError(ErrorCode::kInvalidArgument, "a field is not valid UTF-8");
  leaf.hash = ledger::LeafHash(leaf.canonical);
  leaf.line = e.line;
  leaf.time_ms = e.time_ms;
  for (const auto& f : a.findings) {
    Finding fd;
    fd.kind = std::string(KindName(f.kind));
    fd.severity = f.severity;
    fd.title_zh = std::string(KindTitleZh(f.kind));
    fd.reason = f.reason;
    fd.candidate_incident = f.candidate_incident;
    fd.time_ms = e.time_ms;
    fd.principal = r.principal;
    fd.actor = e.actor;
    fd.platform = r.platform;
    fd.resource = r.resource;
    fd.tenant = r.tenant;
    fd.action = e.action;
    fd.access_action = r.access_action;
    fd.source = cfg.name;
    fd.event_hash = HexHash(leaf.hash);
    fd.id = "fnd_" + crypto::Sha256Hex(fd.kind + "\n" + fd.event_hash).substr(0, 16);
    leaf.findings.push_back(std::move(fd));
  }
  return leaf;
}

Leaf DeadLetterLeaf(const SourceConfig& cfg, uint64_t line_no, std::string_view raw, const std::string& error) {
  std::string formats;
  for (const auto& f : cfg.formats) formats += (formats.empty() ? "" : ",") + f;
  Leaf leaf;
  leaf.dead_letter = true;
  leaf.line = line_no;
  std::string_view kept = raw.substr(0, kMaxDeadLetterBytes);
  // Raw bytes may be anything: base64 keeps them exact inside JSON.
  leaf.confidential = CanonicalJson(Json{{"raw_base64", Base64Encode(kept)}}).value();
  leaf.salt = crypto::RandomBytes(32);
  // The error text is built from sanitised input by the parsers; bound and re-check it.
  std::string err = error.substr(0, 512);
  for (char& c : err)
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  Json j = {{"type", "cloudpact.dead-letter/v1"},
            {"source", cfg.name},
            {"formats", formats},
            {"line", line_no},
            {"error", err},
            {"raw_sha256", crypto::Sha256Hex(raw)},
            {"raw_bytes", raw.size()},
            {"confidential",
             {{"alg", "sha256-salted"}, {"commitment", HexHash(crypto::Sha256({leaf.salt, leaf.confidential}))}}}};
  // An error message that is not UTF-8 (it may quote the line): keep the line, not the text.
  if (!IsUtf8(err)) j["error"] = "unparseable line";
  leaf.canonical = CanonicalJson(j).value();
  leaf.hash = ledger::LeafHash(leaf.canonical);
  return leaf;
}

// Parses and correlates lines for one source; keeps the parsers' state between chunks.
class Reader {
 public:
  Reader(const SourceConfig& cfg, const Correlator& correlator) : cfg_(cfg), correlator_(correlator) {
    for (const auto& f : cfg.formats) {
      auto p = ingest::MakeParser(f);
      if (p.ok()) parsers_.push_back(std::move(*p));  // names were validated with the config
    }
  }

  void Line(std::string_view line, uint64_t line_no, bool truncated, Piece& piece) {
    ++piece.lines;
    if (piece.first_line == 0) piece.first_line = line_no;
    piece.last_line = line_no;
    if (truncated) {
      piece.leaves.push_back(DeadLetterLeaf(cfg_, line_no, line, "line is longer than the source's limit and was cut"));
      return;
    }
    std::string errors;
    size_t failed = 0;
    for (auto& p : parsers_) {
      auto events = p->Feed(line, line_no);
      if (!events.ok()) {
        ++failed;
        errors += (errors.empty() ? "" : "; ") + std::string(p->name()) + ": " + events.error().message;
        continue;
      }
      for (auto& e : *events) Event(e, line, piece);
    }
    if (failed == parsers_.size() && failed > 0) piece.leaves.push_back(DeadLetterLeaf(cfg_, line_no, line, errors));
  }

  void Finish(Piece& piece) {
    for (auto& p : parsers_)
      for (auto& e : p->Finish()) Event(e, {}, piece);
  }

  Json Pending() const {
    Json out = Json::array();
    for (const auto& p : parsers_)
      for (auto& [n, text] : p->PendingLines()) {
        // Pending lines are re-fed after a restart; base64 keeps any bytes intact.
        out.push_back({n, Base64Encode(text)});
      }
    return out;
  }

  // Re-feeds the lines saved with a cursor; their events are not complete yet, so they were
  // never committed.
  void Restore(const Json& pending, Piece& piece) {
    std::vector<std::pair<uint64_t, std::string>> lines;
    for (const auto& item : pending) {
      if (!item.is_array() || item.size() != 2 || !item[0].is_number_unsigned() || !item[1].is_string()) continue;
      auto text = Base64Decode(item[1].get<std::string>());
      if (text.ok()) lines.emplace_back(item[0].get<uint64_t>(), std::move(*text));
    }
    std::sort(lines.begin(), lines.end());
    lines.erase(std::unique(lines.begin(), lines.end()), lines.end());
    for (auto& [n, text] : lines)
      for (auto& p : parsers_) {
        auto events = p->Feed(text, n);
        if (events.ok())
          for (auto& e : *events) Event(e, {}, piece);
      }
  }

 private:
  void Event(const ingest::OperationEvent& e, std::string_view raw, Piece& piece) {
    Analysis a = correlator_.Analyze(e, cfg_);
    auto leaf = EventLeaf(cfg_, e, a);
    if (!leaf.ok()) {
      piece.leaves.push_back(DeadLetterLeaf(cfg_, e.line, raw, "event not representable: " + leaf.error().message));
      return;
    }
    piece.leaves.push_back(std::move(*leaf));
  }

  const SourceConfig& cfg_;
  const Correlator& correlator_;
  std::vector<std::unique_ptr<ingest::LineParser>> parsers_;
};

std::string BatchId(uint64_t seq) {
  std::string n = std::to_string(seq);
  return "b" + std::string(n.size() < 16 ? 16 - n.size() : 0, '0') + n;
}

Finding FindingFromJson(const Json& j) {
  Finding f;
  auto s = [&](const char* k) { return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : std::string(); };
  f.id = s("id");
  f.kind = s("kind");
  f.severity = s("severity");
  f.state = s("state");
  f.title_zh = s("title_zh");
  f.reason = s("reason");
  f.candidate_incident = j.value("candidate_incident", false);
  f.time_ms = j.value("time_ms", int64_t{0});
  f.principal = s("principal");
  f.actor = s("actor");
  f.platform = s("platform");
  f.resource = s("resource");
  f.tenant = s("tenant");
  f.action = s("action");
  f.access_action = s("access_action");
  f.source = s("source");
  f.batch = s("batch");
  f.event_index = j.value("event_index", uint64_t{0});
  f.event_hash = s("event_hash");
  f.created = j.value("created", int64_t{0});
  return f;
}

}  // namespace

std::string EventCanonicalType() { return "cloudpact.operation-event/v1"; }

Json ToJson(const Finding& f) {
  return {{"id", f.id},
          {"kind", f.kind},
          {"severity", f.severity},
          {"state", f.state},
          {"title_zh", f.title_zh},
          {"reason", f.reason},
          {"candidate_incident", f.candidate_incident},
          {"time_ms", f.time_ms},
          {"time", FormatRfc3339(SystemTime(std::chrono::milliseconds(f.time_ms)))},
          {"principal", f.principal},
          {"actor", f.actor},
          {"platform", f.platform},
          {"resource", f.resource},
          {"tenant", f.tenant},
          {"action", f.action},
          {"access_action", f.access_action},
          {"source", f.source},
          {"batch", f.batch},
          {"event_index", f.event_index},
          {"event_hash", f.event_hash},
          {"created", f.created}};
}

Json ToJson(const IngestSummary& s) {
  return {{"lines", s.lines},       {"events", s.events},         {"dead_letters", s.dead_letters},
          {"findings", s.findings}, {"batches", s.batches},       {"finding_ids", s.finding_ids},
          {"duplicate", s.duplicate}, {"ledgered", s.ledgered}};
}

struct Pipeline::Impl {
  storage::Storage& store;
  ledger::Ledger& ledger;
  const Correlator& correlator;
  PipelineOptions options;

  std::mutex commit_mu;  // one committer at a time: batch numbers and the state record
  uint64_t next_seq = 1;
  int64_t state_version = 0;
  std::vector<std::string> unledgered;  // stored, not yet in the ledger (in order)
  // Ledger entries of batches this process stored, so that ledgering them does not read
  // megabytes back from storage; and whether an entry may be in the ledger already without
  // our knowing (after a start, or an append that failed): only then is the ledger searched.
  std::map<std::string, std::pair<Json, std::string>> entry_of;  // id -> (body, actor)
  bool maybe_appended = true;

  // The bounded queue.
  std::mutex mu;
  std::condition_variable cv_not_full, cv_not_empty;
  std::deque<Piece> queue;
  std::atomic<bool> stop{false};
  std::thread committer;

  struct Running {
    std::unique_ptr<SourceConfig> config;
    std::unique_ptr<ingest::Source> source;
    std::thread thread;
  };
  std::mutex sources_mu;
  std::vector<std::unique_ptr<Running>> sources;  // stable addresses: their threads hold them

  Impl(storage::Storage& s, ledger::Ledger& l, const Correlator& c, PipelineOptions o)
      : store(s), ledger(l), correlator(c), options(std::move(o)) {}

  Status LoadState() {
    ASSIGN_OR_RETURN(auto rec, store.GetRecord(kStateKind, "state"));
    if (!rec) return OkStatus();
    auto j = ParseJson(rec->body, kRecordLimits);
    if (!j.ok()) return MakeError(ErrorCode::kDataLoss, "ingest state record is not JSON: " + j.error().message);
    next_seq = j->value("next_seq", uint64_t{1});
    unledgered.clear();
    if (j->contains("unledgered"))
      for (const auto& id : (*j)["unledgered"]) unledgered.push_back(id.get<std::string>());
    state_version = rec->version;
    M().unledgered.Set(static_cast<double>(unledgered.size()));
    return OkStatus();
  }

  storage::RecordWrite StateWrite(uint64_t seq, const std::vector<std::string>& pending) const {
    Json j = {{"next_seq", seq}, {"unledgered", pending}};
    return {kStateKind, "state", j.dump(), state_version};
  }

  // Ledgers stored batches in order. A batch whose entry is already in the ledger (a crash
  // between the ledger's acknowledgement and our note of it) is found there, not appended again.
  Status LedgerPending() {
    while (!unledgered.empty()) {
      const std::string id = unledgered.front();
      Json entry_body;
      std::string entry_actor = options.actor;
      uint64_t from = 0;
      if (auto known = entry_of.find(id); known != entry_of.end()) {
        entry_body = known->second.first;
        entry_actor = known->second.second;
      } else {
        ASSIGN_OR_RETURN(auto rec, store.GetRecord(kBatchKind, id));
        if (!rec) return MakeError(ErrorCode::kDataLoss, "batch " + id + " is listed as stored but is not");
        auto batch = ParseJson(rec->body, kRecordLimits);
        if (!batch.ok()) return MakeError(ErrorCode::kDataLoss, "batch " + id + " is not JSON");
        entry_body = (*batch)["ledger_body"];
        entry_actor = batch->value("actor", options.actor);
        from = batch->value("ledger_size_before", uint64_t{0});
      }
      std::optional<uint64_t> index;
      ASSIGN_OR_RETURN(uint64_t size, maybe_appended ? store.LedgerSize() : Result<uint64_t>(uint64_t{0}));
      for (uint64_t i = from; i < size && !index; i += 256) {
        ASSIGN_OR_RETURN(auto entries, store.ReadEntries(i, std::min(size, i + 256)));
        for (size_t k = 0; k < entries.size(); ++k) {
          if (entries[k].find("\"ingest.batch\"") == std::string::npos) continue;
          auto e = ParseJson(entries[k], kRecordLimits);
          if (e.ok() && (*e)["type"] == "ingest.batch" && (*e)["body"].value("batch", "") == id) {
            index = i + k;
            break;
          }
        }
      }
      if (!index) {
        auto appended = ledger.Append({"ingest.batch", entry_body, entry_actor, std::nullopt});
        if (!appended.ok()) {
          maybe_appended = true;
          return CommitFailed("ledger refused batch " + id, appended.error());
        }
        index = appended->index;
      }
      std::vector<std::string> rest(unledgered.begin() + 1, unledgered.end());
      Status st = store.WriteRecords({{kLedgeredKind, id, Json{{"index", *index}}.dump()}, StateWrite(next_seq, rest)});
      if (!st.ok()) return CommitFailed("recording batch " + id + "'s ledger index", st.error());
      ++state_version;
      unledgered = std::move(rest);
      entry_of.erase(id);
      M().unledgered.Set(static_cast<double>(unledgered.size()));
    }
    maybe_appended = false;  // everything stored is ledgered, and we know where
    return OkStatus();
  }

  // Writes pieces (one source) as batches of at most max_batch_events leaves, in one
  // transaction with the source's cursor or the push's record, then ledgers them.
  Result<IngestSummary> Commit(const std::vector<Piece*>& pieces, const std::string& push_id,
                               const std::string& actor = "") {
    std::lock_guard<std::mutex> lock(commit_mu);
    IngestSummary sum;
    // Anything left from an earlier failure goes first: the ledger keeps batch order.
    RETURN_IF_ERROR(LedgerPending());
    const SourceConfig& cfg = *pieces.front()->config;
    std::vector<storage::RecordWrite> writes;
    std::vector<std::string> new_ids;
    std::vector<std::pair<std::string, std::pair<Json, std::string>>> new_entries;
    uint64_t seq = next_seq;
    ASSIGN_OR_RETURN(uint64_t ledger_size, store.LedgerSize());
    const int64_t now = UnixSeconds(SystemNow());

    std::vector<Leaf*> all;
    for (Piece* p : pieces) {
      sum.lines += p->lines;
      for (auto& l : p->leaves) all.push_back(&l);
    }
    for (size_t begin = 0; begin < all.size();) {
      size_t end = std::min(all.size(), begin + options.max_batch_events);
      const std::string id = BatchId(seq++);
      std::vector<crypto::Hash> hashes;
      // The record is written as text: the events' canonical bytes go in as they are (they
      // are JSON objects), not escaped into strings and not re-serialised.
      std::string leaves = "[", conf = "[";
      size_t leaf_bytes = 0, conf_bytes = 0;
      for (size_t i = begin; i < end; ++i) {
        leaf_bytes += all[i]->canonical.size() + 1;
        if (!all[i]->salt.empty()) conf_bytes += all[i]->confidential.size() * 2 + 128;
      }
      leaves.reserve(leaf_bytes + 2);
      conf.reserve(conf_bytes + 2);
      Json finding_ids = Json::array();
      uint64_t events = 0, dead = 0, first_line = UINT64_MAX, last_line = 0;
      int64_t t_from = INT64_MAX, t_to = INT64_MIN;
      for (size_t i = begin; i < end; ++i) {
        Leaf& l = *all[i];
        hashes.push_back(l.hash);
        if (leaves.size() > 1) leaves += ',';
        leaves += l.canonical;
        if (!l.salt.empty()) {
          if (conf.size() > 1) conf += ',';
          conf += "{\"content\":";
          AppendCanonicalString(conf, l.confidential);
          conf += ",\"i\":" + std::to_string(i - begin) + ",\"salt\":\"" + HexEncode(l.salt) + "\"}";
        }
        (l.dead_letter ? dead : events)++;
        first_line = std::min(first_line, l.line);
        last_line = std::max(last_line, l.line);
        if (!l.dead_letter) {
          t_from = std::min(t_from, l.time_ms);
          t_to = std::max(t_to, l.time_ms);
        }
        for (auto& f : l.findings) {
          f.batch = id;
          f.event_index = i - begin;
          f.created = now;
          writes.push_back({kFindingKind, f.id, ToJson(f).dump(), storage::RecordWrite::kAnyVersion});
          finding_ids.push_back(f.id);
          sum.finding_ids.push_back(f.id);
        }
      }
      Json body = {{"batch", id},
                   {"source", cfg.name},
                   {"formats", cfg.formats},
                   {"events", events},
                   {"dead_letters", dead},
                   {"leaves", end - begin},
                   {"root", HexHash(ledger::RootFromLeafHashes(hashes))},
                   {"first_line", first_line == UINT64_MAX ? 0 : first_line},
                   {"last_line", last_line},
                   {"from_ms", events ? t_from : 0},
                   {"to_ms", events ? t_to : 0},
                   {"findings", finding_ids.size()}};
      leaves += ']';
      conf += ']';
      const std::string who = actor.empty() ? options.actor : actor;
      Json batch = {{"id", id}, {"created", now}, {"actor", who},
                    {"ledger_body", body}, {"ledger_size_before", ledger_size}, {"finding_ids", finding_ids}};
      const std::string head = batch.dump();
      std::string text;
      text.reserve(head.size() + leaves.size() + 16);
      text.append(head, 0, head.size() - 1);  // without its '}'
      text += ",\"leaves\":";
      text += leaves;
      text += '}';
      writes.push_back({kBatchKind, id, std::move(text), 0});
      if (conf.size() > 2) writes.push_back({kConfidentialKind, id, "{\"items\":" + conf + "}", 0});
      new_entries.emplace_back(id, std::make_pair(body, who));
      new_ids.push_back(id);
      sum.events += events;
      sum.dead_letters += dead;
      sum.findings += finding_ids.size();
      begin = end;
    }
    sum.batches = new_ids;
    const Piece& last = *pieces.back();
    if (last.cursor) {
      Json c = {{"cursor", *last.cursor}, {"pending", last.pending}, {"last_line", last.last_line}};
      if (!new_ids.empty()) c["batch"] = new_ids.back();
      writes.push_back({kCursorKind, cfg.name, c.dump(), storage::RecordWrite::kAnyVersion});
    }
    if (!push_id.empty()) writes.push_back({kPushKind, push_id, ToJson(sum).dump(), 0});
    std::vector<std::string> pending = unledgered;
    pending.insert(pending.end(), new_ids.begin(), new_ids.end());
    writes.push_back(StateWrite(seq, pending));
    Status st = store.WriteRecords(writes);
    if (!st.ok()) {
      if (st.error().code == ErrorCode::kFailedPrecondition && !push_id.empty()) {
        auto prior = store.GetRecord(kPushKind, push_id);
        if (prior.ok() && *prior) {
          IngestSummary dup = sum;
          dup.duplicate = true;
          if (auto j = ParseJson((*prior)->body, kRecordLimits); j.ok()) {
            dup.batches = (*j).value("batches", std::vector<std::string>{});
            dup.finding_ids = (*j).value("finding_ids", std::vector<std::string>{});
            dup.events = (*j).value("events", uint64_t{0});
            dup.dead_letters = (*j).value("dead_letters", uint64_t{0});
            dup.findings = (*j).value("findings", uint64_t{0});
          }
          return dup;
        }
      }
      // Another process may have moved the state on; reload it for the retry.
      if (st.error().code == ErrorCode::kFailedPrecondition) (void)LoadState();
      return CommitFailed("storing ingested events", st.error());
    }
    ++state_version;
    next_seq = seq;
    unledgered = pending;
    for (auto& [id, entry] : new_entries) entry_of[id] = std::move(entry);
    M().unledgered.Set(static_cast<double>(unledgered.size()));
    M().events.Add(sum.events);
    M().dead_letters.Add(sum.dead_letters);
    M().findings.Add(sum.findings);
    M().batches.Add(new_ids.size());
    // The events are durable in storage and the source may advance. If the ledger refuses
    // now, the batches stay listed as unledgered and nothing more is stored until it takes
    // them (the next commit starts with them): evidence never falls more than one commit behind.
    Status ledgered = LedgerPending();
    sum.ledgered = ledgered.ok();
    if (!ledgered.ok()) {
      M().commit_failures.Add();
      log::Error("ingested batches stored but not yet ledgered; retrying", {{"error", ledgered.error().message}});
    }
    return sum;
  }

  void Push(Piece piece) {
    std::unique_lock<std::mutex> lock(mu);
    cv_not_full.wait(lock, [&] { return stop || queue.size() < options.queue_batches; });
    queue.push_back(std::move(piece));
    M().queued.Set(static_cast<double>(queue.size()));
    cv_not_empty.notify_one();
  }

  void CommitLoop() {
    for (;;) {
      std::vector<Piece> taken;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv_not_empty.wait(lock, [&] { return stop || !queue.empty(); });
        if (queue.empty()) return;  // stopping, nothing left
        // Consecutive pieces of one source become one commit.
        size_t leaves = 0;
        while (!queue.empty() && (taken.empty() || (queue.front().config == taken.front().config &&
                                                    leaves + queue.front().leaves.size() <= options.max_batch_events))) {
          leaves += queue.front().leaves.size();
          taken.push_back(std::move(queue.front()));
          queue.pop_front();
        }
        M().queued.Set(static_cast<double>(queue.size()));
      }
      cv_not_full.notify_all();
      std::vector<Piece*> ptrs;
      for (auto& p : taken) ptrs.push_back(&p);
      for (;;) {
        auto committed = Commit(ptrs, "", "");
        if (committed.ok()) break;
        // Fail closed: the source does not advance; readers block on the full queue.
        M().commit_failures.Add();
        log::Error("ingestion commit failed; retrying", {{"error", committed.error().message},
                                                          {"source", taken.front().config->name}});
        // Stopping with storage or the ledger down: what is not committed is read again from
        // the saved cursor at the next start.
        if (stop) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(options.retry_ms));
      }
      if (taken.back().cursor && taken.back().source) taken.back().source->Committed(*taken.back().cursor);
    }
  }

  void ReadLoop(Running* run) {
    const SourceConfig& cfg = *run->config;
    Reader reader(cfg, correlator);
    std::string cursor;
    Json restore = Json::array();
    if (auto rec = store.GetRecord(kCursorKind, cfg.name); rec.ok() && *rec) {
      if (auto j = ParseJson((*rec)->body, kRecordLimits); j.ok()) {
        cursor = j->value("cursor", "");
        if (j->contains("pending")) restore = (*j)["pending"];
      }
    } else if (!rec.ok()) {
      log::Error("cannot read the source's saved cursor; not starting it", {{"source", cfg.name}, {"error", rec.error().message}});
      return;
    }
    bool restored = restore.empty();
    ingest::ChunkSink sink = [&](ingest::LineChunk chunk) -> bool {
      if (stop) return false;
      Piece piece;
      piece.config = &cfg;
      piece.source = run->source.get();
      if (!restored) {
        reader.Restore(restore, piece);
        restored = true;
      }
      size_t t = 0;
      for (size_t i = 0; i < chunk.lines.size(); ++i) {
        uint64_t n = chunk.first_line_no + i;
        while (t < chunk.truncated_line_nos.size() && chunk.truncated_line_nos[t] < n) ++t;
        bool truncated = t < chunk.truncated_line_nos.size() && chunk.truncated_line_nos[t] == n;
        reader.Line(chunk.lines[i], n, truncated, piece);
      }
      M().lines.Add(chunk.lines.size());
      piece.cursor = chunk.cursor;
      piece.pending = reader.Pending();
      cursor = chunk.cursor;
      Push(std::move(piece));
      return !stop;
    };
    while (!stop) {
      Status st = run->source->Run(cursor, sink, stop);
      if (stop) break;
      if (st.ok()) {
        // A finite source ended: complete what its parsers still hold.
        Piece piece;
        piece.config = &cfg;
        piece.source = run->source.get();
        reader.Finish(piece);
        piece.cursor = cursor;
        if (!piece.leaves.empty()) Push(std::move(piece));
        break;
      }
      log::Error("log source failed; retrying", {{"source", cfg.name}, {"error", st.error().message}});
      std::this_thread::sleep_for(std::chrono::milliseconds(options.retry_ms));
    }
  }
};

Pipeline::Pipeline(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<Pipeline>> Pipeline::Start(storage::Storage& store, ledger::Ledger& ledger,
                                                  const Correlator& correlator, PipelineOptions options) {
  if (options.max_batch_events == 0 || options.queue_batches == 0) {
    return MakeError(ErrorCode::kInvalidArgument, "batch size and queue length must be positive");
  }
  auto impl = std::make_unique<Impl>(store, ledger, correlator, std::move(options));
  RETURN_IF_ERROR(impl->LoadState());
  {
    std::lock_guard<std::mutex> lock(impl->commit_mu);
    RETURN_IF_ERROR(impl->LedgerPending());
  }
  Impl* raw = impl.get();
  impl->committer = std::thread([raw] { raw->CommitLoop(); });
  return std::unique_ptr<Pipeline>(new Pipeline(std::move(impl)));
}

Pipeline::~Pipeline() { Stop(); }

void Pipeline::Stop() {
  if (!impl_) return;
  impl_->stop = true;
  impl_->cv_not_full.notify_all();
  {
    std::lock_guard<std::mutex> lock(impl_->sources_mu);
    for (auto& s : impl_->sources)
      if (s->thread.joinable()) s->thread.join();
  }
  impl_->cv_not_empty.notify_all();
  if (impl_->committer.joinable()) impl_->committer.join();
}

Status Pipeline::AddSource(SourceConfig config, std::unique_ptr<ingest::Source> source) {
  RETURN_IF_ERROR(ValidateSourceConfig(config));
  std::lock_guard<std::mutex> lock(impl_->sources_mu);
  for (const auto& s : impl_->sources)
    if (s->config->name == config.name) return MakeError(ErrorCode::kAlreadyExists, "source " + config.name + " is already running");
  impl_->sources.push_back(std::make_unique<Impl::Running>(
      Impl::Running{std::make_unique<SourceConfig>(std::move(config)), std::move(source), {}}));
  Impl::Running* run = impl_->sources.back().get();
  Impl* impl = impl_.get();
  run->thread = std::thread([impl, run] { impl->ReadLoop(run); });
  return OkStatus();
}

Result<IngestSummary> Pipeline::Ingest(const SourceConfig& config, std::string_view text, const std::string& key,
                                       uint64_t first_line_no, const std::string& actor) {
  RETURN_IF_ERROR(ValidateSourceConfig(config));
  std::string push_id;
  if (!key.empty()) {
    if (key.size() > 256) return MakeError(ErrorCode::kInvalidArgument, "idempotency key is longer than 256 bytes");
    push_id = crypto::Sha256Hex(config.name + "\n" + key);
    ASSIGN_OR_RETURN(auto prior, impl_->store.GetRecord(kPushKind, push_id));
    if (prior) {
      ASSIGN_OR_RETURN(Json j, ParseJson(prior->body, kRecordLimits));
      IngestSummary dup;
      dup.duplicate = true;
      dup.lines = j.value("lines", uint64_t{0});
      dup.events = j.value("events", uint64_t{0});
      dup.dead_letters = j.value("dead_letters", uint64_t{0});
      dup.findings = j.value("findings", uint64_t{0});
      dup.batches = j.value("batches", std::vector<std::string>{});
      dup.finding_ids = j.value("finding_ids", std::vector<std::string>{});
      return dup;
    }
  }
  Piece piece;
  piece.config = &config;
  Reader reader(config, impl_->correlator);
  uint64_t n = first_line_no;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    reader.Line(line, n++, false, piece);
  }
  reader.Finish(piece);
  M().lines.Add(piece.lines);
  return impl_->Commit({&piece}, push_id, actor);
}

Result<std::vector<Finding>> Pipeline::Findings(const FindingFilter& filter) const {
  ASSIGN_OR_RETURN(auto records, impl_->store.ListRecords(kFindingKind));
  std::vector<Finding> all;
  for (const auto& r : records) {
    auto j = ParseJson(r.body, kRecordLimits);
    if (!j.ok()) continue;
    Finding f = FindingFromJson(*j);
    auto keep = [](const std::string& want, const std::string& have) { return want.empty() || want == have; };
    if (keep(filter.state, f.state) && keep(filter.kind, f.kind) && keep(filter.severity, f.severity) &&
        keep(filter.principal, f.principal) && keep(filter.resource, f.resource) && keep(filter.tenant, f.tenant) &&
        keep(filter.source, f.source))
      all.push_back(std::move(f));
  }
  // In the order they happened; the id breaks ties, so paging with `after` is stable.
  std::sort(all.begin(), all.end(), [](const Finding& a, const Finding& b) {
    return std::tie(a.time_ms, a.id) < std::tie(b.time_ms, b.id);
  });
  size_t start = 0;
  if (!filter.after.empty()) {
    auto it = std::find_if(all.begin(), all.end(), [&](const Finding& f) { return f.id == filter.after; });
    if (it == all.end()) return MakeError(ErrorCode::kInvalidArgument, "after: no finding " + filter.after);
    start = static_cast<size_t>(it - all.begin()) + 1;
  }
  std::vector<Finding> page;
  for (size_t i = start; i < all.size() && page.size() < filter.limit; ++i) page.push_back(std::move(all[i]));
  return page;
}

Result<std::optional<Finding>> Pipeline::GetFinding(const std::string& id) const {
  ASSIGN_OR_RETURN(auto rec, impl_->store.GetRecord(kFindingKind, id));
  if (!rec) return std::optional<Finding>();
  ASSIGN_OR_RETURN(Json j, ParseJson(rec->body, kRecordLimits));
  return std::optional<Finding>(FindingFromJson(j));
}

Result<Json> Pipeline::EventEvidence(const std::string& batch, uint64_t index, bool confidential) const {
  ASSIGN_OR_RETURN(auto rec, impl_->store.GetRecord(kBatchKind, batch));
  if (!rec) return MakeError(ErrorCode::kNotFound, "no batch " + batch);
  ASSIGN_OR_RETURN(Json b, ParseJson(rec->body, kRecordLimits));
  const Json& leaves = b["leaves"];
  if (index >= leaves.size()) {
    return MakeError(ErrorCode::kNotFound, "batch " + batch + " has " + std::to_string(leaves.size()) + " events");
  }
  // The leaves are stored as the JSON objects of their canonical bytes; canonicalising them
  // again gives those bytes back (RFC 8785 is a function of the value).
  ledger::MerkleTree tree;
  std::vector<std::string> canonical_leaves;
  for (const auto& l : leaves) {
    ASSIGN_OR_RETURN(std::string c, CanonicalJson(l));
    tree.Append(ledger::LeafHash(c));
    canonical_leaves.push_back(std::move(c));
  }
  ASSIGN_OR_RETURN(auto path, tree.InclusionProof(index, tree.size()));
  ASSIGN_OR_RETURN(auto root, tree.Root(tree.size()));
  Json hexpath = Json::array();
  for (const auto& h : path) hexpath.push_back(HexHash(h));
  const std::string& canonical = canonical_leaves[index];
  Json out = {{"batch", batch},
              {"index", index},
              {"batch_size", leaves.size()},
              {"event", canonical},
              {"leaf_hash", HexHash(ledger::LeafHash(canonical))},
              {"path", hexpath},
              {"root", HexHash(root)},
              {"ledger_body", b["ledger_body"]}};
  if (HexHash(root) != b["ledger_body"].value("root", "")) {
    return MakeError(ErrorCode::kDataLoss, "batch " + batch + "'s stored events do not hash to its recorded root");
  }
  ASSIGN_OR_RETURN(auto ledgered, impl_->store.GetRecord(kLedgeredKind, batch));
  if (ledgered) {
    ASSIGN_OR_RETURN(Json lj, ParseJson(ledgered->body, kRecordLimits));
    uint64_t li = lj.value("index", uint64_t{0});
    out["ledger_index"] = li;
    ASSIGN_OR_RETURN(auto entries, impl_->store.ReadEntries(li, li + 1));
    if (!entries.empty()) out["ledger_entry"] = entries[0];
  } else {
    out["ledger_index"] = nullptr;  // stored, not yet ledgered (the ledger is behind)
  }
  if (confidential) {
    ASSIGN_OR_RETURN(auto conf, impl_->store.GetRecord(kConfidentialKind, batch));
    if (conf) {
      ASSIGN_OR_RETURN(Json cj, ParseJson(conf->body, kRecordLimits));
      for (const auto& item : cj["items"])
        if (item.value("i", uint64_t{UINT64_MAX}) == index) out["confidential"] = item;
    }
  }
  return out;
}

Result<Json> Pipeline::Sources() const {
  Json out = Json::array();
  std::lock_guard<std::mutex> lock(impl_->sources_mu);
  for (const auto& s : impl_->sources) {
    Json j = {{"name", s->config->name}, {"formats", s->config->formats}, {"platform", s->config->platform},
              {"resource", s->config->resource}};
    ASSIGN_OR_RETURN(auto rec, impl_->store.GetRecord(kCursorKind, s->config->name));
    if (rec) {
      if (auto c = ParseJson(rec->body, kRecordLimits); c.ok()) {
        j["last_line"] = c->value("last_line", uint64_t{0});
        j["last_batch"] = c->value("batch", "");
      }
      j["updated"] = rec->updated_unix;  // when its last batch was committed
    }
    out.push_back(j);
  }
  return out;
}

}  // namespace cloudpact::correlation
