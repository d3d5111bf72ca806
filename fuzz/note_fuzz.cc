// Signed notes, checkpoints and verifier keys as they arrive from logs and witnesses.
#include <cstdlib>
#include <string_view>

#include "crypto/note.h"
#include "ledger/checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)cloudpact::crypto::NoteVerifier::Parse(in);
  (void)cloudpact::crypto::NoteSigner::ParsePrivateKey(in);
  auto note = cloudpact::crypto::ParseNote(in);
  if (note.ok()) {
    // Whatever parses must re-serialise to the same bytes.
    if (cloudpact::crypto::FormatNote(*note) != in) std::abort();
    auto v = cloudpact::crypto::NoteVerifier::FromPublicKey("example.com/log", cloudpact::crypto::NoteSigType::kEd25519,
                                                            std::string(32, 'k'));
    (void)cloudpact::crypto::VerifyNote(*note, {v});
  }
  auto cp = cloudpact::ledger::ParseCheckpoint(in);
  if (cp.ok() && cloudpact::ledger::FormatCheckpoint(*cp) != in) std::abort();
  return 0;
}
