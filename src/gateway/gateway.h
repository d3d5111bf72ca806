// The O&M gateway (convention articles 5 and 6): an SSH server inside `cloudpact serve`
// through which operators reach targets, and the `POST /v1/exec` path for automation.
//
// Every session is authorised by the access module (an active grant must cover the
// operator, the login and the target, checked again continuously), runs over the gateway's
// own connection to the target (sealed credential, pinned host key), has its command lines
// reconstructed and decided by the policy's command rules before they reach the target, is
// recorded as asciicast v2, and leaves ledger entries as it happens. If evidence cannot be
// written — ledger or recording — the session is refused or ended, never continued
// unrecorded. See docs/GATEWAY.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "access/access.h"
#include "core/json.h"
#include "core/result.h"
#include "directory/directory.h"
#include "gateway/credentials.h"
#include "gateway/recording.h"
#include "ledger/ledger.h"
#include "storage/storage.h"

namespace cloudpact::gateway {

struct GatewayOptions {
  std::string host = "127.0.0.1";
  int port = 2222;                     // 0: any free port (tests)
  std::filesystem::path host_key;      // OpenSSH private key; ed25519 generated (0600) if missing
  int connect_timeout_seconds = 10;    // to reach a target
  int login_grace_seconds = 60;        // to authenticate and ask for a shell, exec or sftp
  size_t max_connections = 1000;
  size_t max_exec_output_bytes = 1 << 20;  // per stream, for POST /v1/exec
  int check_interval_ms = 250;         // how often a session re-checks its grant
  // After a TOTP code at the gateway, the same operator with the same key is not asked again
  // for this long (each code is single-use, so scripts opening several sessions would
  // otherwise wait for the next 30-second step). 0: ask every time.
  int mfa_remember_seconds = 600;
};

struct GatewayDeps {
  storage::Storage* store = nullptr;
  ledger::Ledger* ledger = nullptr;
  directory::Directory* directory = nullptr;
  access::AccessService* access = nullptr;
  Credentials* credentials = nullptr;
  RecordingStore* recordings = nullptr;
  // Checks a TOTP code of a principal (the second factor where the policy asks for MFA).
  // Without it, operators who need MFA cannot sign in to the gateway.
  std::function<Status(const std::string& principal, const std::string& code)> verify_totp;
  std::function<int64_t()> clock;  // unix seconds; empty: the system clock
};

struct CommandRecord {
  int64_t seq = 0;
  std::string text;
  std::string decision;  // allow, deny, review, alert
  std::string rule, message;
  bool from_echo = false;
  // allowed, denied, pending, approved, rejected, timed_out, withdrawn
  std::string state;
  std::string reviewer, review_comment;
  int64_t time = 0;
  uint64_t ledger_index = 0;
};

struct FileRecord {
  std::string op;  // open, transfer, remove, rename, mkdir, rmdir, setstat, symlink
  std::string path, path2, direction, sha256;
  uint64_t bytes = 0;
  bool sequential = true, complete = true;
  int64_t time = 0;
  uint64_t ledger_index = 0;
};

struct SessionInfo {
  std::string id;  // "ses_" + 16 hex digits
  std::string operator_id, login, target, grant, role;
  std::string mode;     // shell, exec, sftp, scp
  std::string command;  // exec: the command
  std::string client;   // "ssh HOST:PORT" or "api"
  std::string state;    // active, ended, refused
  int64_t started = 0, ended = 0;
  std::string end_reason;
  int exit_status = -1;
  std::string recording_sha256;
  uint64_t recording_bytes = 0;
  std::vector<CommandRecord> commands;
  std::vector<FileRecord> files;
  std::vector<std::string> watchers;
  std::vector<uint64_t> ledger_indexes;
};
Json ToJson(const SessionInfo& s, bool with_commands = true);
Json ToJson(const CommandRecord& c);

struct PendingCommand {
  std::string session, operator_id, login, target, grant;
  CommandRecord command;
  int64_t deadline = 0;
};
Json ToJson(const PendingCommand& p);

struct ExecRequest {
  std::string principal, target, login, command, stdin_data;
  int timeout_seconds = 60;  // for the command to finish (and a review to be decided)
};

struct ExecResult {
  std::string session;
  int exit_status = -1;
  std::string exit_signal;
  std::string stdout_data, stderr_data;
  bool truncated = false;
  std::string decision, message;  // the command rules' verdict
};

class Gateway {
 public:
  // Binds the SSH listener and starts accepting. The dependencies must outlive the gateway.
  static Result<std::unique_ptr<Gateway>> Start(GatewayDeps deps, GatewayOptions options);
  ~Gateway();  // stops accepting, ends every session ("gateway stopping"), waits for them

  int port() const;
  std::string host_key_line() const;  // the gateway's public host key, for known_hosts

  std::vector<SessionInfo> Sessions(bool active_only) const;
  Result<SessionInfo> GetSession(const std::string& id) const;
  // Ends a live session; the operator is told who ended it and why. Ledgered first.
  Status Terminate(const std::string& id, const std::string& actor, const std::string& reason);
  std::vector<PendingCommand> PendingReviews() const;
  // Approves or rejects a held command. The reviewer may not be its operator.
  Result<CommandRecord> ReviewCommand(const std::string& session, int64_t seq, const std::string& reviewer,
                                      bool approve, const std::string& comment);
  // Runs one command on a target for automation: same grant check, command rules,
  // recording and ledger as an SSH exec session.
  Result<ExecResult> Exec(const ExecRequest& request);
  // The session's asciicast (decompressed), verified against its content address.
  Result<std::string> Recording(const std::string& session, size_t max_bytes) const;

  struct Impl;

 private:
  explicit Gateway(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The gateway's SSH user-name syntax (docs/GATEWAY.md):
//   OPERATOR                  list the targets OPERATOR holds grants for
//   OPERATOR:LOGIN:TARGET     a session as LOGIN on TARGET
//   OPERATOR:watch:SESSION    watch a live session, read-only (sessions:read)
struct GatewayUser {
  enum class Kind { kList, kSession, kWatch } kind = Kind::kList;
  std::string operator_id, login, target, session;
};
Result<GatewayUser> ParseGatewayUser(std::string_view user);

}  // namespace cloudpact::gateway
