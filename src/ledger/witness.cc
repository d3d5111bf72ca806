#include "ledger/witness.h"

#include "core/encoding.h"
#include "core/json.h"

namespace cloudpact::ledger {
namespace {

Result<std::vector<Hash>> FetchConsistency(net::HttpClient& log, uint64_t from, uint64_t to) {
  ASSIGN_OR_RETURN(net::HttpResponse r, log.Request("GET", "/v1/ledger/proof/consistency?from=" +
                                                               std::to_string(from) + "&to=" + std::to_string(to)));
  if (r.status != 200) {
    return MakeError(ErrorCode::kUnavailable, "consistency proof: HTTP " + std::to_string(r.status) + ": " + r.body);
  }
  ASSIGN_OR_RETURN(Json j, ParseJson(r.body));
  if (!j.is_object() || !j.contains("hashes") || !j["hashes"].is_array() || j["hashes"].size() > 63) {
    return MakeError(ErrorCode::kInvalidArgument, "consistency proof: malformed response");
  }
  std::vector<Hash> out;
  for (const auto& h : j["hashes"]) {
    auto raw = h.is_string() ? Base64Decode(h.get<std::string>()) : Result<std::string>(Error{});
    if (!raw.ok() || raw->size() != 32) return MakeError(ErrorCode::kInvalidArgument, "consistency proof: bad hash");
    Hash hash;
    std::copy(raw->begin(), raw->end(), hash.begin());
    out.push_back(hash);
  }
  return out;
}

}  // namespace

Result<WitnessStep> WitnessOnce(net::HttpClient& log, const crypto::NoteVerifier& log_key,
                                const crypto::NoteSigner& witness, std::optional<VerifierState>& state,
                                const std::function<Status(const VerifierState&)>& save,
                                uint64_t now_unix) {
  ASSIGN_OR_RETURN(net::HttpResponse r, log.Request("GET", "/ledger/checkpoint", "", {}, crypto::kMaxNoteBytes));
  if (r.status != 200) return MakeError(ErrorCode::kUnavailable, "checkpoint: HTTP " + std::to_string(r.status));
  ASSIGN_OR_RETURN(crypto::Note note, crypto::ParseNote(r.body));
  auto verified = crypto::VerifyNote(note, {log_key});
  if (!verified.ok()) return MakeError(ErrorCode::kPermissionDenied, "checkpoint signature: " + verified.error().message);
  WitnessStep step;
  ASSIGN_OR_RETURN(step.checkpoint, ParseCheckpoint(note.text));
  const Checkpoint& cp = step.checkpoint;
  if (cp.origin != log_key.name()) {
    return MakeError(ErrorCode::kPermissionDenied, "checkpoint origin \"" + cp.origin + "\" is not the log's key name");
  }

  if (state) {
    if (cp.size < state->size) {
      return MakeError(ErrorCode::kDataLoss, "log rolled back from size " + std::to_string(state->size) + " to " +
                                                 std::to_string(cp.size));
    }
    if (cp.size == state->size && cp.root != state->root) {
      return MakeError(ErrorCode::kDataLoss, "split view: two roots for size " + std::to_string(cp.size));
    }
    if (cp.size > state->size) {
      ASSIGN_OR_RETURN(auto proof, FetchConsistency(log, state->size, cp.size));
      auto ok = VerifyConsistency(state->size, cp.size, state->root, cp.root, proof);
      if (!ok.ok()) {
        return MakeError(ErrorCode::kDataLoss, "checkpoint of size " + std::to_string(cp.size) +
                                                   " is not consistent with the witnessed size " +
                                                   std::to_string(state->size) + ": " + ok.error().message);
      }
    }
  }
  step.advanced = !state || cp.size > state->size;
  VerifierState next{cp.origin, cp.size, cp.root};
  // Remember before vouching: after a crash the witness must never cosign an older view.
  RETURN_IF_ERROR(save(next));
  state = next;

  crypto::Note cosigned{note.text, {witness.Sign(note.text, now_unix)}};
  ASSIGN_OR_RETURN(net::HttpResponse s, log.Request("POST", "/v1/ledger/cosignatures", crypto::FormatNote(cosigned),
                                                    {{"Content-Type", "text/plain; charset=utf-8"}}));
  if (s.status == 200) {
    step.submitted = true;
  } else if (s.status != 409) {  // 409: the log moved on meanwhile; the next round catches up
    return MakeError(ErrorCode::kUnavailable, "log refused the cosignature: HTTP " + std::to_string(s.status) +
                                                  ": " + s.body);
  }
  return step;
}

}  // namespace cloudpact::ledger
