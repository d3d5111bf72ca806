// `cloudpact sessions|exec|target credential` client commands for the O&M gateway: they
// call a server's REST API (docs/API.md, "O&M gateway") and print for people (or JSON with
// --json). Each returns the process exit code: 0 success, 1 the server refused or
// verification failed, 2 usage or a local file problem — except Exec, which returns the
// remote command's exit status.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "client/governance_client.h"

namespace cloudpact::client {

// A table of sessions the caller may see (their own; everyone's with sessions:read).
int SessionsList(const Context& c, bool active_only, const std::string& operator_id);
// One session with its command lines (and their decisions) and file operations.
int SessionsShow(const Context& c, const std::string& id);
// Fetches the asciicast v2 recording and checks that its SHA-256 equals the server's
// X-Content-SHA256 (the recording's content address) before writing anything: to out_file
// (created 0600) or, when out_file is empty, to stdout. Returns 1 and writes nothing when the
// digest is missing or differs.
int SessionsRecording(const Context& c, const std::string& id, const std::string& out_file);
int SessionsTerminate(const Context& c, const std::string& id, const std::string& reason);
// Commands held for review (sessions:control).
int SessionsReviews(const Context& c);
int SessionsReview(const Context& c, const std::string& id, int64_t seq, const std::string& decision,
                   const std::string& comment);

struct ExecArgs {
  std::string target, login;
  // Joined with single spaces into the remote command line, as ssh(1) does: the remote shell
  // splits it again, so quote for the remote shell, not for the local one.
  std::vector<std::string> command;
  std::string stdin_file;   // sent as the command's stdin; empty: none
  int timeout_seconds = 0;  // 0: the server's default (60 s)
};
// Runs one command through POST /v1/exec. Writes the remote stdout and stderr unchanged to
// ours and returns the remote exit status; 128+N when the command died of signal N; 255 (as
// ssh does) when it was refused, denied by a command rule or never ran.
int Exec(const Context& c, const ExecArgs& a);

// Reads the secret from a file, never from the command line. A private key file must not be
// accessible by group or others (like ssh(1), the file is refused otherwise), nor a password
// file. Exactly one of key_file and password_file is given.
int TargetCredentialSet(const Context& c, const std::string& target, const std::string& login,
                        const std::string& key_file, const std::string& password_file);
// Logins with a credential on the target and their key fingerprints (never secrets).
int TargetCredentialList(const Context& c, const std::string& target);

}  // namespace cloudpact::client
