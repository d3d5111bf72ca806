#include "ledger/checkpoint.h"

#include "core/encoding.h"

namespace cloudpact::ledger {

std::string FormatCheckpoint(const Checkpoint& cp) {
  std::string out = cp.origin + "\n" + std::to_string(cp.size) + "\n" +
                    Base64Encode(crypto::AsBytes(cp.root)) + "\n";
  for (const auto& e : cp.extensions) out += e + "\n";
  return out;
}

Result<Checkpoint> ParseCheckpoint(std::string_view text) {
  if (text.empty() || text.back() != '\n') {
    return MakeError(ErrorCode::kInvalidArgument, "checkpoint: must end in a newline");
  }
  std::vector<std::string_view> lines;
  text.remove_suffix(1);
  while (true) {
    size_t nl = text.find('\n');
    lines.push_back(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  if (lines.size() < 3) return MakeError(ErrorCode::kInvalidArgument, "checkpoint: fewer than three lines");
  for (auto l : lines) {
    if (l.empty()) return MakeError(ErrorCode::kInvalidArgument, "checkpoint: empty line");
  }
  Checkpoint cp;
  cp.origin = std::string(lines[0]);
  auto size = ParseDecimal(lines[1]);
  if (!size.ok()) return MakeError(ErrorCode::kInvalidArgument, "checkpoint: bad tree size: " + size.error().message);
  cp.size = *size;
  auto root = Base64Decode(lines[2]);
  if (!root.ok() || root->size() != 32) {
    return MakeError(ErrorCode::kInvalidArgument, "checkpoint: root hash must be 32 bytes in base64");
  }
  std::copy(root->begin(), root->end(), cp.root.begin());
  for (size_t i = 3; i < lines.size(); ++i) cp.extensions.emplace_back(lines[i]);
  return cp;
}

}  // namespace cloudpact::ledger
