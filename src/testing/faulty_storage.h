// A Storage decorator that fails on demand, for fail-closed tests: "if evidence cannot be
// recorded, the action does not proceed" is only believable when a test has made the
// recording fail.
#pragma once

#include <atomic>

#include "storage/storage.h"

namespace cloudpact::testing {

class FaultyStorage final : public storage::Storage {
 public:
  explicit FaultyStorage(storage::Storage& inner) : inner_(inner) {}

  std::atomic<bool> fail_ledger{false};   // AppendLeaves fails
  std::atomic<bool> fail_records{false};  // WriteRecords fails

  std::string Backend() const override { return inner_.Backend(); }
  Result<int> SchemaVersion() override { return inner_.SchemaVersion(); }
  Result<uint64_t> LedgerSize() override { return inner_.LedgerSize(); }
  Status AppendLeaves(uint64_t first, const std::vector<storage::LedgerLeaf>& leaves) override {
    if (fail_ledger) return MakeError(ErrorCode::kUnavailable, "injected ledger storage failure");
    return inner_.AppendLeaves(first, leaves);
  }
  Result<std::vector<std::string>> ReadEntries(uint64_t b, uint64_t e) override { return inner_.ReadEntries(b, e); }
  Result<std::vector<crypto::Hash>> ReadLeafHashes(uint64_t b, uint64_t e) override { return inner_.ReadLeafHashes(b, e); }
  Result<std::optional<storage::Confidential>> ReadConfidential(uint64_t i) override { return inner_.ReadConfidential(i); }
  Status EraseConfidential(uint64_t i) override { return inner_.EraseConfidential(i); }
  Status SaveCheckpoint(uint64_t size, const std::string& note) override { return inner_.SaveCheckpoint(size, note); }
  Result<std::optional<std::string>> LatestCheckpoint() override { return inner_.LatestCheckpoint(); }
  Status SaveCosignature(const std::string& w, uint64_t size, const std::string& line) override {
    return inner_.SaveCosignature(w, size, line);
  }
  Result<std::vector<std::string>> Cosignatures(uint64_t size) override { return inner_.Cosignatures(size); }
  Status PutToken(const storage::ApiToken& t) override { return inner_.PutToken(t); }
  Result<std::optional<storage::ApiToken>> FindToken(const crypto::Hash& h) override { return inner_.FindToken(h); }
  Result<std::vector<storage::ApiToken>> ListTokens() override { return inner_.ListTokens(); }
  Status WriteRecords(const std::vector<storage::RecordWrite>& writes) override {
    if (fail_records) return MakeError(ErrorCode::kUnavailable, "injected record storage failure");
    return inner_.WriteRecords(writes);
  }
  Result<std::optional<storage::Record>> GetRecord(const std::string& k, const std::string& id) override {
    return inner_.GetRecord(k, id);
  }
  Result<std::vector<storage::Record>> ListRecords(const std::string& k) override { return inner_.ListRecords(k); }
  Status ExecuteSql(const std::vector<storage::SqlBatch>& batches) override {
    if (fail_records) return MakeError(ErrorCode::kUnavailable, "injected record storage failure");
    return inner_.ExecuteSql(batches);
  }
  Status QuerySql(const std::string& sql, const std::vector<storage::SqlValue>& params,
                  const storage::SqlRowFn& on_row, std::chrono::milliseconds timeout) override {
    return inner_.QuerySql(sql, params, on_row, timeout);
  }

 private:
  storage::Storage& inner_;
};

}  // namespace cloudpact::testing
