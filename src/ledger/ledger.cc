#include "ledger/ledger.h"

#include <future>

#include "core/encoding.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/time.h"

namespace cloudpact::ledger {
namespace {

using Clock = std::chrono::steady_clock;

struct LedgerMetrics {
  metrics::Counter& appends = metrics::Registry::Global().NewCounter(
      "cloudpact_ledger_appends_total", "Entries made durable in the ledger.");
  metrics::Counter& append_errors = metrics::Registry::Global().NewCounter(
      "cloudpact_ledger_append_errors_total", "Appends that failed to be recorded.");
  metrics::Histogram& batch_size = metrics::Registry::Global().NewHistogram(
      "cloudpact_ledger_batch_size", "Entries per group commit.",
      {1, 4, 16, 64, 256, 1024, 4096, 16384});
  metrics::Histogram& latency = metrics::Registry::Global().NewHistogram(
      "cloudpact_ledger_append_latency_seconds", "From enqueue to durable acknowledgement.",
      {0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5});
  metrics::Histogram& checkpoint_delay = metrics::Registry::Global().NewHistogram(
      "cloudpact_ledger_checkpoint_delay_seconds",
      "From the first entry not in a checkpoint to the checkpoint that includes it.",
      {0.05, 0.1, 0.25, 0.5, 0.75, 1, 2, 5});
  metrics::Gauge& size = metrics::Registry::Global().NewGauge(
      "cloudpact_ledger_size", "Durable entries in the ledger.");
  metrics::Gauge& checkpoint_size = metrics::Registry::Global().NewGauge(
      "cloudpact_ledger_checkpoint_size", "Tree size of the latest published checkpoint.");
};

LedgerMetrics& M() {
  static LedgerMetrics* m = new LedgerMetrics;
  return *m;
}

bool ValidType(const std::string& t) {
  if (t.empty() || t.size() > 64) return false;
  for (char c : t) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')) return false;
  }
  return true;
}

}  // namespace

Ledger::Ledger(storage::Storage& store, crypto::NoteSigner signer, LedgerOptions options)
    : store_(store), signer_(std::move(signer)), options_(std::move(options)) {}

Result<std::unique_ptr<Ledger>> Ledger::Open(storage::Storage& store, crypto::NoteSigner signer,
                                             LedgerOptions options) {
  std::unique_ptr<Ledger> l(new Ledger(store, std::move(signer), std::move(options)));
  RETURN_IF_ERROR(l->Load());
  l->sequencer_ = std::thread([p = l.get()] { p->SequencerLoop(); });
  l->checkpointer_ = std::thread([p = l.get()] { p->CheckpointLoop(); });
  return l;
}

Ledger::~Ledger() { Stop(); }

Status Ledger::Load() {
  ASSIGN_OR_RETURN(uint64_t size, store_.LedgerSize());
  constexpr uint64_t kChunk = 1 << 16;
  for (uint64_t begin = 0; begin < size; begin += kChunk) {
    ASSIGN_OR_RETURN(auto hashes, store_.ReadLeafHashes(begin, std::min(size, begin + kChunk)));
    if (hashes.size() != std::min(kChunk, size - begin)) {
      return MakeError(ErrorCode::kDataLoss, "ledger: stored leaves are not contiguous");
    }
    for (const auto& h : hashes) tree_.Append(h);
  }
  M().size.Set(static_cast<double>(tree_.size()));

  ASSIGN_OR_RETURN(auto stored, store_.LatestCheckpoint());
  if (stored) {
    // Never serve, or sign past, a checkpoint we cannot vouch for.
    ASSIGN_OR_RETURN(crypto::Note note, crypto::ParseNote(*stored));
    auto verified = crypto::VerifyNote(note, {signer_.Verifier()});
    if (!verified.ok()) {
      return MakeError(ErrorCode::kDataLoss, "ledger: stored checkpoint is not signed by this log's key (" +
                                                 verified.error().message + ")");
    }
    ASSIGN_OR_RETURN(Checkpoint cp, ParseCheckpoint(note.text));
    if (cp.origin != signer_.name()) {
      return MakeError(ErrorCode::kFailedPrecondition,
                       "ledger: stored checkpoint has origin \"" + cp.origin + "\" but the key is for \"" +
                           signer_.name() + "\"");
    }
    if (cp.size > tree_.size()) {
      return MakeError(ErrorCode::kDataLoss, "ledger: checkpoint covers " + std::to_string(cp.size) +
                                                 " entries but storage holds only " +
                                                 std::to_string(tree_.size()));
    }
    if (*tree_.Root(cp.size) != cp.root) {
      return MakeError(ErrorCode::kDataLoss,
                       "ledger: stored entries do not hash to the root of the last checkpoint");
    }
    checkpoint_ = cp;
    signature_line_ = crypto::FormatSignatureLine(verified->front());
    RETURN_IF_ERROR(ComposeNoteLocked());
    M().checkpoint_size.Set(static_cast<double>(cp.size));
  } else {
    checkpoint_.origin = signer_.name();
    checkpoint_.size = static_cast<uint64_t>(-1);  // forces a first publication
  }
  last_publish_ = Clock::now() - options_.checkpoint_interval;
  return PublishCheckpoint();
}

Result<storage::LedgerLeaf> Ledger::BuildLeaf(const AppendRequest& request, const std::string& time) {
  if (!ValidType(request.type)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "type must be 1 to 64 characters of a-z, 0-9, '.', '_' or '-'");
  }
  if (!request.body.is_object()) return MakeError(ErrorCode::kInvalidArgument, "body must be a JSON object");
  Json entry = {{"type", request.type}, {"time", time}, {"actor", request.actor}, {"body", request.body}};
  storage::LedgerLeaf leaf;
  if (request.confidential) {
    ASSIGN_OR_RETURN(std::string content, CanonicalJson(*request.confidential));
    std::string salt = crypto::RandomBytes(32);
    leaf.salt = salt;
    entry["confidential"] = {
        {"alg", "sha256-salted"},
        {"commitment", HexEncode(crypto::AsBytes(crypto::Sha256({salt, content})))}};
    leaf.confidential = std::move(content);
  }
  ASSIGN_OR_RETURN(leaf.entry, CanonicalJson(entry));
  if (leaf.entry.size() > kMaxEntryBytes) {
    return MakeError(ErrorCode::kResourceExhausted,
                     "entry is " + std::to_string(leaf.entry.size()) + " bytes; at most " +
                         std::to_string(kMaxEntryBytes) + " fit a tile bundle");
  }
  leaf.leaf_hash = LeafHash(leaf.entry);
  return leaf;
}

void Ledger::AppendAsync(AppendRequest request, AppendCallback done) {
  auto leaf = BuildLeaf(request, FormatRfc3339(SystemNow()));
  if (!leaf.ok()) {
    done(std::move(leaf).error());
    return;
  }
  Enqueue(std::move(leaf).value(), std::move(done));
}

void Ledger::AppendRawAsync(std::string entry, AppendCallback done) {
  if (entry.size() > kMaxEntryBytes) {
    done(MakeError(ErrorCode::kResourceExhausted, "entry larger than 65535 bytes"));
    return;
  }
  storage::LedgerLeaf leaf;
  leaf.leaf_hash = LeafHash(entry);
  leaf.entry = std::move(entry);
  Enqueue(std::move(leaf), std::move(done));
}

Result<Appended> Ledger::Append(AppendRequest request) {
  std::promise<Result<Appended>> p;
  auto f = p.get_future();
  AppendAsync(std::move(request), [&p](Result<Appended> r) { p.set_value(std::move(r)); });
  return f.get();
}

Result<std::vector<Appended>> Ledger::AppendMany(std::vector<AppendRequest> requests) {
  // Queued together, so the sequencer commits them in as few transactions as it can.
  struct Wait {
    std::mutex mu;
    std::condition_variable cv;
    size_t left;
    std::vector<Appended> out;
    std::optional<Error> error;
  } w;
  w.left = requests.size();
  w.out.resize(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    AppendAsync(std::move(requests[i]), [&w, i](Result<Appended> r) {
      std::lock_guard<std::mutex> lock(w.mu);
      if (r.ok()) w.out[i] = *r;
      else if (!w.error) w.error = std::move(r).error();
      if (--w.left == 0) w.cv.notify_all();
    });
  }
  std::unique_lock<std::mutex> lock(w.mu);
  w.cv.wait(lock, [&] { return w.left == 0; });
  if (w.error) return *w.error;
  return std::move(w.out);
}

void Ledger::Enqueue(storage::LedgerLeaf leaf, AppendCallback done) {
  {
    std::unique_lock<std::mutex> lock(queue_mu_);
    if (stopping_) {
      lock.unlock();
      done(MakeError(ErrorCode::kUnavailable, "ledger is shutting down"));
      return;
    }
    if (queue_.size() >= options_.max_queue) {
      lock.unlock();
      done(MakeError(ErrorCode::kResourceExhausted, "ledger queue is full; retry later"));
      return;
    }
    queue_.push_back(Pending{std::move(leaf), std::move(done), Clock::now()});
  }
  queue_cv_.notify_one();
}

void Ledger::SequencerLoop() {
  std::vector<Pending> batch;
  std::vector<storage::LedgerLeaf> leaves;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(queue_mu_);
      queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty() && stopping_) return;
      size_t n = std::min(queue_.size(), options_.max_batch);
      batch.clear();
      for (size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    leaves.clear();
    for (auto& p : batch) leaves.push_back(std::move(p.leaf));
    uint64_t first = Size();
    Status st = store_.AppendLeaves(first, leaves);
    if (!st.ok()) {
      // Fail closed: nobody is told "recorded" unless it is. The commit may still have
      // landed (a lost connection after COMMIT), so adopt what storage holds.
      M().append_errors.Add(batch.size());
      log::Error("ledger append failed", {{"error", st.error().message}, {"batch", batch.size()}});
      Status rs = Resync();
      if (!rs.ok()) log::Error("ledger resync failed", {{"error", rs.error().message}});
      for (auto& p : batch) {
        p.done(MakeError(ErrorCode::kUnavailable, "evidence could not be recorded: " + st.error().message));
      }
      batch.clear();
      continue;
    }
    {
      std::unique_lock<std::shared_mutex> lock(tree_mu_);
      for (const auto& l : leaves) tree_.Append(l.leaf_hash);
    }
    auto now = Clock::now();
    {
      std::lock_guard<std::mutex> lock(checkpoint_mu_);
      // Only if the publisher has not already covered these entries meanwhile.
      if (!oldest_unpublished_ && checkpoint_.size < first + batch.size()) oldest_unpublished_ = now;
      checkpoint_cv_.notify_one();
    }
    M().appends.Add(batch.size());
    M().batch_size.Observe(static_cast<double>(batch.size()));
    M().size.Set(static_cast<double>(first + batch.size()));
    for (size_t i = 0; i < batch.size(); ++i) {
      M().latency.Observe(std::chrono::duration<double>(now - batch[i].enqueued).count());
      batch[i].done(Appended{first + i, leaves[i].leaf_hash});
    }
    // Drop the callbacks now: they may own what their callers hold (an HTTP connection).
    batch.clear();
  }
}

Status Ledger::Resync() {
  ASSIGN_OR_RETURN(uint64_t stored, store_.LedgerSize());
  uint64_t have = Size();
  if (stored <= have) return OkStatus();
  ASSIGN_OR_RETURN(auto hashes, store_.ReadLeafHashes(have, stored));
  std::unique_lock<std::shared_mutex> lock(tree_mu_);
  for (const auto& h : hashes) tree_.Append(h);
  return OkStatus();
}

void Ledger::CheckpointLoop() {
  std::unique_lock<std::mutex> lock(checkpoint_mu_);
  while (!checkpoint_stop_) {
    // Wake when the tree has grown past the checkpoint, then wait out the interval since
    // the last publication so that checkpoints are batched but never later than it.
    checkpoint_cv_.wait(lock, [&] { return checkpoint_stop_ || Size() != checkpoint_.size; });
    if (checkpoint_stop_) break;
    auto due = last_publish_ + options_.checkpoint_interval;
    if (checkpoint_cv_.wait_until(lock, due, [&] { return checkpoint_stop_; })) break;
    Status st = PublishLocked();
    if (!st.ok()) {
      log::Error("checkpoint publication failed", {{"error", st.error().message}});
      last_publish_ = Clock::now();  // retry after one interval, not in a hot loop
    }
  }
}

Status Ledger::PublishCheckpoint() {
  std::lock_guard<std::mutex> lock(checkpoint_mu_);
  return PublishLocked();
}

Status Ledger::PublishLocked() {
  Checkpoint cp;
  cp.origin = signer_.name();
  {
    std::shared_lock<std::shared_mutex> lock(tree_mu_);
    cp.size = tree_.size();
    cp.root = *tree_.Root(cp.size);
  }
  if (cp.size == checkpoint_.size) return OkStatus();
  std::string text = FormatCheckpoint(cp);
  std::string signature_line = crypto::FormatSignatureLine(signer_.Sign(text));
  // Durable before served: after a restart we resume from exactly what readers saw.
  RETURN_IF_ERROR(store_.SaveCheckpoint(cp.size, text + "\n" + signature_line));
  if (oldest_unpublished_) {
    M().checkpoint_delay.Observe(std::chrono::duration<double>(Clock::now() - *oldest_unpublished_).count());
    oldest_unpublished_.reset();
  }
  checkpoint_ = cp;
  signature_line_ = std::move(signature_line);
  checkpoint_note_ = FormatCheckpoint(cp) + "\n" + signature_line_;  // no cosignatures yet
  last_publish_ = Clock::now();
  M().checkpoint_size.Set(static_cast<double>(cp.size));
  return OkStatus();
}

uint64_t Ledger::Size() const {
  std::shared_lock<std::shared_mutex> lock(tree_mu_);
  return tree_.size();
}

std::string Ledger::CheckpointNote() const {
  std::lock_guard<std::mutex> lock(checkpoint_mu_);
  return checkpoint_note_;
}

Checkpoint Ledger::LatestCheckpoint() const {
  std::lock_guard<std::mutex> lock(checkpoint_mu_);
  return checkpoint_;
}

Result<std::string> Ledger::ReadTile(const TileRef& ref) const {
  if (!ref.entries) {
    std::shared_lock<std::shared_mutex> lock(tree_mu_);
    return ReadHashTile(tree_, ref);
  }
  if (ref.index > (UINT64_MAX - ref.width) / kTileWidth) return MakeError(ErrorCode::kNotFound, "no such bundle");
  uint64_t first = ref.index * kTileWidth;
  if (first + ref.width > Size()) return MakeError(ErrorCode::kNotFound, "entry bundle not yet in the log");
  ASSIGN_OR_RETURN(auto entries, store_.ReadEntries(first, first + ref.width));
  if (entries.size() != ref.width) return MakeError(ErrorCode::kDataLoss, "ledger: entries missing from storage");
  return EncodeEntryBundle(entries);
}

Result<std::string> Ledger::ReadEntry(uint64_t index) const {
  if (index >= Size()) {
    return MakeError(ErrorCode::kNotFound, "no entry " + std::to_string(index) + " (log size " +
                                               std::to_string(Size()) + ")");
  }
  ASSIGN_OR_RETURN(auto entries, store_.ReadEntries(index, index + 1));
  if (entries.size() != 1) return MakeError(ErrorCode::kDataLoss, "ledger: entry missing from storage");
  return std::move(entries[0]);
}

Result<Hash> Ledger::Root(uint64_t size) const {
  std::shared_lock<std::shared_mutex> lock(tree_mu_);
  return tree_.Root(size);
}

Result<std::vector<Hash>> Ledger::InclusionProof(uint64_t index, uint64_t size) const {
  std::shared_lock<std::shared_mutex> lock(tree_mu_);
  return tree_.InclusionProof(index, size);
}

Result<std::vector<Hash>> Ledger::ConsistencyProof(uint64_t from, uint64_t to) const {
  std::shared_lock<std::shared_mutex> lock(tree_mu_);
  return tree_.ConsistencyProof(from, to);
}

Result<std::optional<ConfidentialPart>> Ledger::ReadConfidential(uint64_t index) const {
  if (index >= Size()) return MakeError(ErrorCode::kNotFound, "no entry " + std::to_string(index));
  ASSIGN_OR_RETURN(auto c, store_.ReadConfidential(index));
  if (!c) return std::optional<ConfidentialPart>();
  return std::optional<ConfidentialPart>(ConfidentialPart{HexEncode(c->salt), c->content});
}

Result<Appended> Ledger::EraseConfidential(uint64_t index, const std::string& reason,
                                           const std::string& actor) {
  ASSIGN_OR_RETURN(auto existing, ReadConfidential(index));
  if (!existing) return MakeError(ErrorCode::kNotFound, "entry " + std::to_string(index) + " has no confidential content");
  if (reason.empty() || reason.size() > 1024) {
    return MakeError(ErrorCode::kInvalidArgument, "reason is required (at most 1024 bytes)");
  }
  AppendRequest rec{"ledger.erasure", {{"index", index}, {"reason", reason}}, actor, std::nullopt};
  ASSIGN_OR_RETURN(Appended appended, Append(std::move(rec)));
  RETURN_IF_ERROR(store_.EraseConfidential(index));
  log::Info("confidential content erased", {{"index", index}, {"record", appended.index}, {"actor", actor}});
  return appended;
}

Result<size_t> Ledger::AddCosignatures(std::string_view signed_note) {
  ASSIGN_OR_RETURN(crypto::Note note, crypto::ParseNote(signed_note));
  std::lock_guard<std::mutex> lock(checkpoint_mu_);
  if (note.text != FormatCheckpoint(checkpoint_)) {
    return MakeError(ErrorCode::kFailedPrecondition, "cosigned checkpoint is not the log's current checkpoint");
  }
  std::vector<std::pair<std::string, std::string>> accepted;  // witness, line
  for (const auto& sig : note.signatures) {
    for (const auto& w : options_.witnesses) {
      if (w.name() != sig.name || w.key_id() != sig.key_id) continue;
      if (!w.Verify(note.text, sig.signature)) {
        return MakeError(ErrorCode::kPermissionDenied, "invalid cosignature by " + sig.name);
      }
      accepted.emplace_back(w.name(), crypto::FormatSignatureLine(sig));
    }
  }
  if (accepted.empty()) return MakeError(ErrorCode::kPermissionDenied, "no cosignature by a configured witness");
  for (const auto& [witness, line] : accepted) {
    RETURN_IF_ERROR(store_.SaveCosignature(witness, checkpoint_.size, line));
  }
  RETURN_IF_ERROR(ComposeNoteLocked());
  return accepted.size();
}

Status Ledger::ComposeNoteLocked() {
  ASSIGN_OR_RETURN(auto cosignatures, store_.Cosignatures(checkpoint_.size));
  std::string note = FormatCheckpoint(checkpoint_) + "\n" + signature_line_;
  for (const auto& line : cosignatures) note += line;
  checkpoint_note_ = std::move(note);
  return OkStatus();
}

void Ledger::Stop() {
  std::call_once(stop_once_, [this] {
    {
      std::lock_guard<std::mutex> lock(queue_mu_);
      stopping_ = true;
    }
    queue_cv_.notify_all();
    if (sequencer_.joinable()) sequencer_.join();
    {
      std::lock_guard<std::mutex> lock(checkpoint_mu_);
      checkpoint_stop_ = true;
    }
    checkpoint_cv_.notify_all();
    if (checkpointer_.joinable()) checkpointer_.join();
    Status st = PublishCheckpoint();
    if (!st.ok()) log::Error("final checkpoint failed", {{"error", st.error().message}});
  });
}

}  // namespace cloudpact::ledger
