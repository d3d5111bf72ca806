// A witness (C2SP tlog-witness semantics, pull mode): follows one log, accepts a new
// checkpoint only if it is signed by the log and provably consistent with the last one it
// accepted, then cosigns it (C2SP tlog-cosignature, cosignature/v1) and hands the
// cosignature back to the log. Its state only ever moves forward.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "core/result.h"
#include "crypto/note.h"
#include "ledger/verifier.h"
#include "net/http_client.h"

namespace cloudpact::ledger {

struct WitnessStep {
  Checkpoint checkpoint;
  bool advanced = false;   // the checkpoint was newer than the state
  bool submitted = false;  // the cosignature was accepted by the log
};

// One round against the log at `log` (base URL of `cloudpact serve`). `state` is the last
// accepted checkpoint (empty on first contact) and is updated, and saved through `save`,
// before anything is cosigned. Errors: kPermissionDenied for a bad log signature,
// kDataLoss for a rollback, a split view or a failed consistency proof — the evidence that
// a witness exists to catch.
Result<WitnessStep> WitnessOnce(net::HttpClient& log, const crypto::NoteVerifier& log_key,
                                const crypto::NoteSigner& witness, std::optional<VerifierState>& state,
                                const std::function<Status(const VerifierState&)>& save,
                                uint64_t now_unix);

}  // namespace cloudpact::ledger
