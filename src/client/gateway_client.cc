#include "client/gateway_client.h"

#include <sys/stat.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <map>
#include <optional>

#include "core/encoding.h"
#include "core/files.h"
#include "core/json.h"
#include "core/time.h"
#include "crypto/sha256.h"
#include "client/http_call.h"
#include "net/http_client.h"

namespace cloudpact::client {
namespace {

constexpr size_t kMaxRecordingBytes = (256u << 20) + 4096;  // the server's limit, plus headers
constexpr int kDefaultExecTimeout = 60;                      // the server's default

std::string SessionDuration(const Json& s) {
  int64_t started = s.value("started", int64_t{0}), ended = s.value("ended", int64_t{0});
  if (started <= 0) return "-";
  if (ended <= 0) ended = UnixSeconds(SystemNow());
  return DurationText(ended - started);
}

void PrintCommand(const Json& cmd) {
  std::cout << "  #" << cmd.value("seq", int64_t{0}) << "  " << TimeText(cmd.value("time", int64_t{0})) << "  "
            << cmd.value("decision", "") << "/" << cmd.value("state", "") << "  " << cmd.value("text", "");
  if (!cmd.value("rule", "").empty()) std::cout << "  [rule " << cmd.value("rule", "") << "]";
  if (!cmd.value("message", "").empty()) std::cout << "  (" << cmd.value("message", "") << ")";
  if (!cmd.value("reviewer", "").empty()) {
    std::cout << "  reviewed by " << cmd.value("reviewer", "")
              << (cmd.value("review_comment", "").empty() ? "" : ": " + cmd.value("review_comment", ""));
  }
  std::cout << "\n";
}

void PrintSession(const Json& s) {
  std::cout << s.value("id", "") << "  [" << s.value("state", "") << "]"
            << "\n  操作员 operator:   " << s.value("operator", "")
            << (s.value("grant", "").empty() ? "" : "  (grant " + s.value("grant", "") + ")")
            << (s.value("role", "").empty() ? "" : "  (role " + s.value("role", "") + ")")
            << "\n  目标 target:       " << s.value("login", "") << "@" << s.value("target", "")
            << "\n  方式 mode:         " << s.value("mode", "")
            << (s.value("command", "").empty() ? "" : ": " + s.value("command", "")) << "  via "
            << s.value("client", "")
            << "\n  时间 time:         " << TimeText(s.value("started", int64_t{0})) << " → "
            << TimeText(s.value("ended", int64_t{0})) << "  (" << SessionDuration(s) << ")";
  if (!s.value("end_reason", "").empty()) std::cout << "\n  结束原因 ended:    " << s.value("end_reason", "");
  if (s.value("exit_status", -1) >= 0) std::cout << "\n  退出码 exit:       " << s.value("exit_status", -1);
  std::cout << "\n  录像 recording:    "
            << (s.value("recording_sha256", "").empty() ? (s.value("state", "") == "active" ? "(still running)" : "(none)")
                                                        : "sha256 " + s.value("recording_sha256", "") + ", " +
                                                              std::to_string(s.value("recording_bytes", uint64_t{0})) +
                                                              " bytes");
  if (s.contains("watchers") && !s["watchers"].empty()) {
    std::cout << "\n  旁观 watchers:     ";
    for (const auto& w : s["watchers"]) std::cout << w.get<std::string>() << " ";
  }
  if (s.contains("ledger_indexes") && !s["ledger_indexes"].empty()) {
    std::cout << "\n  账本 ledger:       ";
    for (const auto& i : s["ledger_indexes"]) std::cout << "#" << i.dump() << " ";
  }
  std::cout << "\n  命令 commands (" << s.value("command_count", size_t{0}) << "):\n";
  for (const auto& cmd : s.value("commands", Json::array())) PrintCommand(cmd);
  std::cout << "  文件 files (" << s.value("file_count", size_t{0}) << "):\n";
  for (const auto& f : s.value("files", Json::array())) {
    std::cout << "  " << TimeText(f.value("time", int64_t{0})) << "  " << f.value("op", "") << " "
              << f.value("direction", "") << " " << f.value("path", "")
              << (f.value("path2", "").empty() ? "" : " → " + f.value("path2", ""));
    if (f.value("bytes", uint64_t{0}) > 0) std::cout << "  " << f.value("bytes", uint64_t{0}) << " bytes";
    if (!f.value("sha256", "").empty()) std::cout << "  sha256 " << f.value("sha256", "");
    if (!f.value("complete", true)) std::cout << "  INCOMPLETE";
    if (!f.value("sequential", true)) std::cout << "  (not sequential: no digest)";
    std::cout << "\n";
  }
}

// Reads a secret file that only its owner may access.
std::optional<std::string> ReadSecretFile(const std::string& path, const char* what) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    std::cerr << "error: " << path << ": cannot read the " << what << " file\n";
    return std::nullopt;
  }
  if (!S_ISREG(st.st_mode)) {
    std::cerr << "error: " << path << ": the " << what << " file is not a regular file\n";
    return std::nullopt;
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    std::cerr << "error: " << path << ": the " << what << " file is accessible by group or others (mode " << mode
              << "); refusing to use it. Run: chmod 600 " << path << "\n";
    return std::nullopt;
  }
  auto text = ReadFile(path);
  if (!text.ok()) {
    std::cerr << "error: " << text.error().message << "\n";
    return std::nullopt;
  }
  return std::move(*text);
}

int SignalNumber(const std::string& name) {
  static const std::map<std::string, int> kSignals = {
      {"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"ILL", SIGILL},   {"ABRT", SIGABRT},
      {"FPE", SIGFPE},   {"KILL", SIGKILL}, {"SEGV", SIGSEGV}, {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},
      {"TERM", SIGTERM}, {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"BUS", SIGBUS},   {"XCPU", SIGXCPU}};
  std::string n = name.rfind("SIG", 0) == 0 ? name.substr(3) : name;
  auto it = kSignals.find(n);
  return it == kSignals.end() ? 0 : it->second;
}

}  // namespace

int SessionsList(const Context& c, bool active_only, const std::string& operator_id) {
  std::string q = active_only ? "?state=active" : "?state=any";
  if (!operator_id.empty()) q += "&operator=" + QueryEscape(operator_id);
  return Print(c, Call(c, "GET", "/v1/sessions" + q), [](const Json& j) {
    if (j["items"].empty()) {
      std::cout << "(no sessions / 无会话)\n";
      return;
    }
    std::vector<std::vector<std::string>> rows = {
        {"SESSION", "STATE", "OPERATOR", "LOGIN@TARGET", "MODE", "STARTED", "DURATION", "CMDS", "FILES", "END"}};
    for (const auto& s : j["items"]) {
      rows.push_back({s.value("id", ""), s.value("state", ""), s.value("operator", ""),
                      s.value("login", "") + "@" + s.value("target", ""), s.value("mode", ""),
                      TimeText(s.value("started", int64_t{0})), SessionDuration(s),
                      std::to_string(s.value("command_count", size_t{0})),
                      std::to_string(s.value("file_count", size_t{0})), Shorten(s.value("end_reason", ""), 60)});
    }
    PrintTable(rows);
  });
}

int SessionsShow(const Context& c, const std::string& id) {
  if (!SafeSegment(id, "session")) return 2;
  return Print(c, Call(c, "GET", "/v1/sessions/" + id), PrintSession);
}

int SessionsRecording(const Context& c, const std::string& id, const std::string& out_file) {
  if (!SafeSegment(id, "session")) return 2;
  auto r = Send(c, "GET", "/v1/sessions/" + id + "/recording", "", std::chrono::milliseconds(120000), kMaxRecordingBytes);
  if (!r) return 1;
  if (r->status != 200) {
    PrintHttpError(*r);
    return 1;
  }
  std::string expected = r->headers.count("x-content-sha256") ? r->headers["x-content-sha256"] : "";
  std::transform(expected.begin(), expected.end(), expected.begin(),
                 [](char ch) { return static_cast<char>(std::tolower(static_cast<unsigned char>(ch))); });
  std::string got = HexEncode(crypto::AsBytes(crypto::Sha256(r->body)));
  if (expected.empty()) {
    std::cerr << "VERIFICATION FAILED: the server sent no X-Content-SHA256; nothing written\n";
    return 1;
  }
  if (expected != got) {
    std::cerr << "VERIFICATION FAILED: the recording's SHA-256 is " << got << " but the server says " << expected
              << "; nothing written\n";
    return 1;
  }
  if (out_file.empty()) {
    std::cout.write(r->body.data(), static_cast<std::streamsize>(r->body.size()));
    std::cout.flush();
  } else if (auto st = WriteFileAtomic(out_file, r->body, 0600); !st.ok()) {
    std::cerr << "error: " << st.error().message << "\n";
    return 1;
  }
  // The verdict goes to stderr so that stdout stays a clean asciicast when piped.
  std::cerr << "recording " << id << ": " << r->body.size() << " bytes, sha256 " << got
            << " matches X-Content-SHA256 (verified / 已校验)"
            << (out_file.empty() ? "" : "; written to " + out_file) << "\n";
  return 0;
}

int SessionsTerminate(const Context& c, const std::string& id, const std::string& reason) {
  if (!SafeSegment(id, "session")) return 2;
  Json body = Json::object();
  if (!reason.empty()) body["reason"] = reason;
  return Print(c, Call(c, "POST", "/v1/sessions/" + id + "/terminate", body.dump()), [](const Json& j) {
    std::cout << "session " << j.value("session", "") << " is being terminated / 会话正在终止\n";
  });
}

int SessionsReviews(const Context& c) {
  return Print(c, Call(c, "GET", "/v1/sessions/reviews"), [](const Json& j) {
    if (j["items"].empty()) {
      std::cout << "(no commands awaiting review / 无待审命令)\n";
      return;
    }
    for (const auto& p : j["items"]) {
      const Json& cmd = p["command"];
      std::cout << p.value("session", "") << " #" << cmd.value("seq", int64_t{0}) << "  " << p.value("operator", "")
                << " as " << p.value("login", "") << "@" << p.value("target", "") << " (grant " << p.value("grant", "")
                << ")\n  命令 command:  " << cmd.value("text", "")
                << "\n  规则 rule:     " << cmd.value("rule", "")
                << (cmd.value("message", "").empty() ? "" : " — " + cmd.value("message", ""))
                << "\n  截止 decide by: " << TimeText(p.value("deadline", int64_t{0})) << "\n";
    }
  });
}

int SessionsReview(const Context& c, const std::string& id, int64_t seq, const std::string& decision,
                   const std::string& comment) {
  if (!SafeSegment(id, "session")) return 2;
  Json body = {{"decision", decision}};
  if (!comment.empty()) body["comment"] = comment;
  return Print(c, Call(c, "POST", "/v1/sessions/" + id + "/commands/" + std::to_string(seq) + "/review", body.dump()),
               [](const Json& cmd) {
                 std::cout << "command #" << cmd.value("seq", int64_t{0}) << " is " << cmd.value("state", "") << ": "
                           << cmd.value("text", "") << "\n";
               });
}

int Exec(const Context& c, const ExecArgs& a) {
  std::string command;
  for (const auto& w : a.command) command += (command.empty() ? "" : " ") + w;
  if (command.empty()) {
    std::cerr << "error: give the command after --\n";
    return 2;
  }
  Json body = {{"target", a.target}, {"login", a.login}, {"command", command}};
  if (!a.stdin_file.empty()) {
    auto in = ReadFile(a.stdin_file);
    if (!in.ok()) {
      std::cerr << "error: --stdin-file: " << in.error().message << "\n";
      return 2;
    }
    body["stdin"] = *in;
  }
  if (a.timeout_seconds > 0) body["timeout_seconds"] = a.timeout_seconds;
  // The server answers when the command ends (or its timeout passes, or a review is decided).
  int wait = (a.timeout_seconds > 0 ? a.timeout_seconds : kDefaultExecTimeout) + 30;
  auto j = Call(c, "POST", "/v1/exec", body.dump(), std::chrono::milliseconds(int64_t{wait} * 1000));
  if (!j) return 255;
  if (c.json) {
    std::cout << j->dump(2) << "\n";
  } else {
    const std::string out = j->value("stdout", ""), err = j->value("stderr", "");
    std::cout.write(out.data(), static_cast<std::streamsize>(out.size()));
    std::cout.flush();
    std::cerr.write(err.data(), static_cast<std::streamsize>(err.size()));
    if (j->value("truncated", false)) std::cerr << "cloudpact exec: output truncated by the gateway\n";
  }
  const std::string decision = j->value("decision", ""), message = j->value("message", "");
  const std::string signal = j->value("exit_signal", "");
  const int status = j->value("exit_status", -1);
  if (decision == "deny") {
    std::cerr << "cloudpact exec: denied by the command rules / 命令被拒绝" << (message.empty() ? "" : ": " + message)
              << " (session " << j->value("session", "") << ")\n";
    return 255;
  }
  if (status >= 0) return status & 0xff;
  if (!signal.empty()) {
    std::cerr << "cloudpact exec: the command was killed by signal " << signal << " (session "
              << j->value("session", "") << ")\n";
    int n = SignalNumber(signal);
    return n > 0 ? 128 + n : 255;
  }
  std::cerr << "cloudpact exec: the command did not finish" << (message.empty() ? "" : ": " + message)
            << " (session " << j->value("session", "") << ")\n";
  return 255;
}

int TargetCredentialSet(const Context& c, const std::string& target, const std::string& login,
                        const std::string& key_file, const std::string& password_file) {
  if (!SafeSegment(target, "target")) return 2;
  if (key_file.empty() == password_file.empty()) {
    std::cerr << "error: give exactly one of --key-file and --password-file\n";
    return 2;
  }
  const bool key = !key_file.empty();
  auto secret = ReadSecretFile(key ? key_file : password_file, key ? "key" : "password");
  if (!secret) return 2;
  if (!key) {
    // A password file holds one line; its line ending is not part of the password.
    if (!secret->empty() && secret->back() == '\n') secret->pop_back();
    if (!secret->empty() && secret->back() == '\r') secret->pop_back();
  }
  if (secret->empty()) {
    std::cerr << "error: " << (key ? key_file : password_file) << " is empty\n";
    return 2;
  }
  Json body = {{"login", login}, {"kind", key ? "key" : "password"}, {"secret", *secret}};
  auto j = Call(c, "POST", "/v1/targets/" + target + "/credentials", body.dump());
  std::fill(secret->begin(), secret->end(), '\0');
  return Print(c, j, [](const Json& r) {
    std::cout << "credential set / 凭据已设置: " << r.value("login", "") << "@" << r.value("target", "") << "  "
              << r.value("kind", "")
              << (r.value("fingerprint", "").empty() ? "" : "  " + r.value("fingerprint", "")) << "\n";
  });
}

int TargetCredentialList(const Context& c, const std::string& target) {
  if (!SafeSegment(target, "target")) return 2;
  return Print(c, Call(c, "GET", "/v1/targets/" + target + "/credentials"), [](const Json& j) {
    if (j["items"].empty()) {
      std::cout << "(no credentials for " << j.value("target", "") << " / 无凭据)\n";
      return;
    }
    std::vector<std::vector<std::string>> rows = {{"LOGIN", "KIND", "FINGERPRINT", "SET BY", "SET"}};
    for (const auto& cred : j["items"]) {
      rows.push_back({cred.value("login", ""), cred.value("kind", ""),
                      cred.value("fingerprint", "").empty() ? "-" : cred.value("fingerprint", ""),
                      cred.value("set_by", ""), TimeText(cred.value("set", int64_t{0}))});
    }
    PrintTable(rows);
  });
}

}  // namespace cloudpact::client
