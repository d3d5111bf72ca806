// The sshd, sudo and auditd parsers against documented sample lines (testdata/), edge cases,
// and the log of a real sshd run during the test. sudo and auditd cannot run in the test
// container (no setuid root sudo policy to exercise, no kernel audit netlink), so their
// inputs are documented samples only.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

#include "core/files.h"
#include "ingest/event.h"
#include "ingest/syslog.h"
#include "testing/backends.h"
#include "testing/fixtures.h"
#include "testing/sshd.h"

namespace cloudpact::ingest {
namespace {

using std::chrono::milliseconds;

constexpr int64_t kNowMs = 1795824000000;  // 2026-11-28T00:00:00Z, the tests' clock

SyslogOptions FixedClock(int64_t ms = kNowMs) {
  return SyslogOptions{[ms] { return SystemTime(milliseconds(ms)); }};
}

std::string TestData(const std::string& name) {
  return cloudpact::testing::ReadFixture(std::string(CLOUDPACT_SOURCE_DIR) +
                                         "/src/ingest/testdata/" + name);
}

struct Fed {
  std::vector<OperationEvent> events;
  std::vector<std::string> errors;  // "line N: message"
};

// Feeds `text` line by line (numbered from 1), then Finish().
Fed FeedAll(LineParser& parser, std::string_view text, bool finish = true) {
  Fed out;
  uint64_t n = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    auto r = parser.Feed(line, ++n);
    if (!r.ok()) {
      out.errors.push_back("line " + std::to_string(n) + ": " + r.error().message);
      continue;
    }
    for (auto& e : *r) out.events.push_back(std::move(e));
  }
  if (finish)
    for (auto& e : parser.Finish()) out.events.push_back(std::move(e));
  return out;
}

std::vector<std::string> Actions(const std::vector<OperationEvent>& events) {
  std::vector<std::string> a;
  for (const auto& e : events) a.push_back(e.action);
  return a;
}

// ---- syslog framing ----

TEST(SyslogFrameTest, Rfc5424WithStructuredDataAndBom) {
  std::string line =
      "<38>1 2026-11-27T18:00:01.123456+01:00 web1 sshd 1234 - "
      "[origin ip=\"192.0.2.1\"][meta x=\"a\\]b\"] \xEF\xBB\xBF" "Accepted password for bob";
  auto f = ParseSyslogLine(line, kNowMs);
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_TRUE(f->framed);
  EXPECT_TRUE(f->has_time);
  EXPECT_EQ(f->time_ms, 1795798801123);  // 17:00:01.123Z
  EXPECT_EQ(f->host, "web1");
  EXPECT_EQ(f->app, "sshd");
  EXPECT_EQ(f->msg, "Accepted password for bob");

  auto nil = ParseSyslogLine("<13>1 - - - - - -", kNowMs);
  ASSERT_TRUE(nil.ok()) << nil.error().message;
  EXPECT_FALSE(nil->has_time);
  EXPECT_EQ(nil->host, "");
  EXPECT_EQ(nil->msg, "");
}

TEST(SyslogFrameTest, Rfc3164TakesTheYearFromTheClock) {
  for (std::string line : {"<86>Nov 27 18:00:01 web1 sshd[42]: hello",
                           "Nov 27 18:00:01 web1 sshd[42]: hello"}) {
    auto f = ParseSyslogLine(line, kNowMs);
    ASSERT_TRUE(f.ok()) << f.error().message;
    EXPECT_TRUE(f->framed) << line;
    EXPECT_EQ(f->time_ms, 1795802401000) << line;  // 2026-11-27T18:00:01Z
    EXPECT_EQ(f->host, "web1");
    EXPECT_EQ(f->app, "sshd");
    EXPECT_EQ(f->msg, "hello");
  }
  // Space-padded day.
  auto padded = ParseSyslogLine("Nov  3 09:15:42 web1 sshd[3001]: x", kNowMs);
  ASSERT_TRUE(padded.ok());
  EXPECT_EQ(padded->time_ms, 1793697342000);
  // A December line read on 2 January belongs to the year before.
  auto december = ParseSyslogLine("Dec 31 23:59:59 web1 CRON[1]: x", 1767312000000);
  ASSERT_TRUE(december.ok());
  EXPECT_EQ(december->time_ms, 1767225599000);  // 2025-12-31T23:59:59Z
  // A tag without a PID.
  auto sudo = ParseSyslogLine("Nov 27 18:00:09 web1 sudo:    alice : TTY=pts/0", kNowMs);
  ASSERT_TRUE(sudo.ok());
  EXPECT_EQ(sudo->app, "sudo");
  EXPECT_EQ(sudo->msg, "   alice : TTY=pts/0");
}

TEST(SyslogFrameTest, RsyslogIsoShortForm) {
  auto f = ParseSyslogLine("2026-11-27T19:30:00.500000+01:00 db2 sshd[812]: Disconnected", kNowMs);
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_TRUE(f->framed);
  EXPECT_EQ(f->time_ms, 1795804200500);  // 18:30:00.5Z
  EXPECT_EQ(f->host, "db2");
  EXPECT_EQ(f->app, "sshd");
  EXPECT_EQ(f->msg, "Disconnected");
}

TEST(SyslogFrameTest, UnframedLinesKeepTheirMessage) {
  auto plain = ParseSyslogLine("Accepted publickey for root from 127.0.0.1 port 1 ssh2\r", kNowMs);
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->framed);
  EXPECT_FALSE(plain->has_time);
  EXPECT_EQ(plain->msg, "Accepted publickey for root from 127.0.0.1 port 1 ssh2");
  // "error: …" is not a TAG: unframed lines need TAG[PID].
  auto error = ParseSyslogLine("error: maximum authentication attempts exceeded", kNowMs);
  ASSERT_TRUE(error.ok());
  EXPECT_FALSE(error->framed);
  EXPECT_EQ(error->msg, "error: maximum authentication attempts exceeded");
  // A timestamp followed by a bare message.
  auto stamped = ParseSyslogLine("2026-11-27T18:00:01Z Accepted password for x", kNowMs);
  ASSERT_TRUE(stamped.ok());
  EXPECT_TRUE(stamped->has_time);
  EXPECT_FALSE(stamped->framed);
  EXPECT_EQ(stamped->msg, "Accepted password for x");
}

TEST(SyslogFrameTest, BrokenFramesAreErrorsThatSayWhy) {
  struct Case {
    std::string line, expect;
  };
  for (const Case& c : std::vector<Case>{
           {"<999>Nov 27 18:00:01 h a: m", "above 191"},
           {"<12 Nov 27", "<PRI>"},
           {"<>x", "<PRI>"},
           {"<13>1 2026-11-27T18:00:01Z host", "RFC 5424 header"},
           {"<13>1 yesterday host app - - - msg", "RFC 3339"},
           {"<13>1 - host app - - [open x=\"1\" msg", "unterminated"},
           {"<13>1 - host app - - {sd} msg", "STRUCTURED-DATA"},
       }) {
    auto f = ParseSyslogLine(c.line, kNowMs);
    ASSERT_FALSE(f.ok()) << c.line;
    EXPECT_EQ(f.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(f.error().message.find(c.expect), std::string::npos)
        << c.line << " → " << f.error().message;
  }
}

// ---- sshd ----

TEST(SshdParserTest, FactoriesAndNames) {
  for (std::string name : {"sshd", "sudo", "auditd"}) {
    auto p = MakeParser(name);
    ASSERT_TRUE(p.ok()) << p.error().message;
    ASSERT_NE(*p, nullptr) << name;
    EXPECT_EQ((*p)->name(), name);
  }
}

TEST(SshdParserTest, AcceptedPublickeyFromAuthLog) {
  auto p = MakeSshdParser(FixedClock());
  std::string line =
      "Nov 27 18:00:01 web1 sshd[2101]: Accepted publickey for alice from 192.0.2.10 port 51022 "
      "ssh2: ED25519 SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s";
  auto r = p->Feed(line, 7);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 1u);
  const OperationEvent& e = (*r)[0];
  EXPECT_EQ(e.time_ms, 1795802401000);
  EXPECT_EQ(e.source, "sshd");
  EXPECT_EQ(e.action, "ssh.login");
  EXPECT_EQ(e.outcome, "success");
  EXPECT_EQ(e.actor, "alice");
  EXPECT_EQ(e.target_login, "alice");
  EXPECT_EQ(e.source_ip, "192.0.2.10");
  EXPECT_EQ(e.target, "web1");
  EXPECT_FALSE(e.privileged);
  EXPECT_EQ(e.detail, "publickey ED25519 SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s");
  EXPECT_EQ(e.line, 7u);
  EXPECT_EQ(e.ocsf_class_uid, 3002);
  EXPECT_EQ(e.ocsf_activity_id, 1);
  // sha256sum of the line's bytes.
  EXPECT_EQ(e.raw_sha256, "3e16597c56fdbaf1882de8125a4d99966516f02e8829e08465aee9174fd66d61");
  EXPECT_TRUE(p->Finish().empty());
}

TEST(SshdParserTest, AuthLogFile) {
  auto p = MakeSshdParser(FixedClock());
  Fed fed = FeedAll(*p, TestData("auth.log"));
  EXPECT_TRUE(fed.errors.empty()) << fed.errors[0];
  EXPECT_EQ(Actions(fed.events),
            (std::vector<std::string>{"ssh.login", "ssh.login_failed", "ssh.login_failed",
                                      "ssh.login_failed", "ssh.login", "ssh.logout", "ssh.logout",
                                      "ssh.login"}));
  ASSERT_EQ(fed.events.size(), 8u);
  const auto& invalid = fed.events[1];
  EXPECT_EQ(invalid.actor, "admin");
  EXPECT_EQ(invalid.source_ip, "203.0.113.66");
  EXPECT_EQ(invalid.outcome, "failure");
  EXPECT_EQ(invalid.line, 8u);
  const auto& failed = fed.events[2];
  EXPECT_EQ(failed.actor, "admin");  // "invalid user " is not part of the name
  EXPECT_EQ(failed.detail, "password");
  const auto& root_failed = fed.events[3];
  EXPECT_EQ(root_failed.actor, "root");
  EXPECT_TRUE(root_failed.privileged);
  const auto& root = fed.events[4];
  EXPECT_EQ(root.action, "ssh.login");
  EXPECT_TRUE(root.privileged);
  EXPECT_EQ(root.detail, "password");
  EXPECT_EQ(fed.events[5].actor, "alice");
  EXPECT_EQ(fed.events[5].source_ip, "192.0.2.10");
  EXPECT_EQ(fed.events[5].ocsf_activity_id, 2);
  EXPECT_EQ(fed.events[6].actor, "alice");
  const auto& bob = fed.events[7];
  EXPECT_EQ(bob.actor, "bob");
  EXPECT_EQ(bob.detail, "keyboard-interactive/pam");
  EXPECT_EQ(bob.time_ms, 1793697342000);
}

TEST(SshdParserTest, DebianIsoFormAndOtherProgramsLines) {
  auto p = MakeSshdParser(FixedClock());
  Fed fed = FeedAll(*p, TestData("auth_iso.log"));
  EXPECT_TRUE(fed.errors.empty()) << fed.errors[0];
  ASSERT_EQ(Actions(fed.events), (std::vector<std::string>{"ssh.login", "ssh.logout"}));
  EXPECT_EQ(fed.events[0].time_ms, 1795802401123);
  EXPECT_EQ(fed.events[0].target, "db2");
  EXPECT_EQ(fed.events[0].actor, "deploy");
  EXPECT_EQ(fed.events[1].time_ms, 1795804200500);
  EXPECT_EQ(fed.events[1].line, 3u);
}

TEST(SshdParserTest, LinesWithoutAnOperationGiveNoEventAndNoError) {
  auto p = MakeSshdParser(FixedClock());
  for (std::string line : {
           "",
           "Server listening on 0.0.0.0 port 22.",
           "Connection from 127.0.0.1 port 39226 on 127.0.0.1 port 53597 rdomain \"\"",
           "Failed none for invalid user x from 192.0.2.1 port 1 ssh2",
           "Disconnected from authenticating user root 192.0.2.1 port 2 [preauth]",
           "Connection closed by authenticating user root 192.0.2.1 port 3 [preauth]",
           "Accepted key ED25519 SHA256:abc found at /tmp/authorized_keys:1",
           "Accepted publickey for",
           "Nov 27 18:00:09 web1 sudo:    alice : TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/bin/ls",
           "Nov 27 18:00:09 web1 su[9]: Accepted password for root from 1.2.3.4 port 5 ssh2",
       }) {
    auto r = p->Feed(line, 1);
    ASSERT_TRUE(r.ok()) << line << ": " << r.error().message;
    EXPECT_TRUE(r->empty()) << line << " gave " << (*r)[0].action;
  }
}

TEST(SshdParserTest, PlainSshdOutputWithCarriageReturnsAndHostileNames) {
  auto p = MakeSshdParser(FixedClock());
  auto r = p->Feed("Accepted publickey for root from 127.0.0.1 port 39242 ssh2: ED25519 SHA256:x\r", 3);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].time_ms, kNowMs);  // unstamped: the clock's time
  EXPECT_EQ((*r)[0].target, "");
  EXPECT_EQ((*r)[0].detail, "publickey ED25519 SHA256:x");
  EXPECT_TRUE((*r)[0].privileged);
  // A client-chosen name containing " from " and a control character.
  auto odd = p->Feed("Invalid user a from b\x01 from 192.0.2.9 port 4", 4);
  ASSERT_TRUE(odd.ok());
  ASSERT_EQ(odd->size(), 1u);
  EXPECT_EQ((*odd)[0].actor, "a from b\\x01");
  EXPECT_EQ((*odd)[0].source_ip, "192.0.2.9");
  // Old sshd: "Invalid user X from IP" without a port.
  auto old = p->Feed("Invalid user guest from 192.0.2.8", 5);
  ASSERT_TRUE(old.ok());
  ASSERT_EQ(old->size(), 1u);
  EXPECT_EQ((*old)[0].source_ip, "192.0.2.8");
}

TEST(SshdParserTest, LinesOverTheBoundAreRejected) {
  for (auto make : {+[] { return MakeSshdParser(); }, +[] { return MakeSudoParser(); },
                    +[] { return MakeAuditdParser(); }}) {
    auto p = make();
    std::string at_limit = "Accepted password for u from 192.0.2.1 port 1 ssh2";
    at_limit.resize(kMaxLineBytes, 'x');
    EXPECT_TRUE(p->Feed(at_limit, 1).ok() || p->name() == "auditd") << p->name();
    std::string over(kMaxLineBytes + 1, 'x');
    auto r = p->Feed(over, 2);
    ASSERT_FALSE(r.ok()) << p->name();
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message.find("65536-byte limit"), std::string::npos) << r.error().message;
  }
}

// A real sshd (Debian's OpenSSH, LogLevel VERBOSE, -E log file): one login with a
// generated key, one attempt with a key it does not know.
TEST(SshdParserTest, ParsesTheLogOfARealSshd) {
  namespace t = cloudpact::testing;
  auto dir = t::TempDir("syslog-parsers-sshd");
  auto good = t::GenerateSshKey(dir / "client", "good");
  ASSERT_TRUE(good.ok()) << good.error().message;
  auto bad = t::GenerateSshKey(dir / "client", "unknown");
  ASSERT_TRUE(bad.ok()) << bad.error().message;
  auto sshd = t::Sshd::Start(dir / "sshd", {good->public_line});
  ASSERT_TRUE(sshd.ok()) << sshd.error().message;
  const auto timeout = std::chrono::seconds(30);

  auto ok_args = t::SshClientArgs((*sshd)->port(), (*sshd)->login(), good->private_key_path);
  ok_args.push_back("true");
  auto ok = t::RunSsh(ok_args, "", timeout);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  ASSERT_EQ(ok->exit_code, 0) << ok->stderr_text << (*sshd)->log();

  auto bad_args = t::SshClientArgs((*sshd)->port(), (*sshd)->login(), bad->private_key_path,
                                   {"PasswordAuthentication=no", "KbdInteractiveAuthentication=no"});
  bad_args.push_back("true");
  auto denied = t::RunSsh(bad_args, "", timeout);
  ASSERT_TRUE(denied.ok()) << denied.error().message;
  ASSERT_EQ(denied->exit_code, 255) << denied->stderr_text;

  // sshd writes the failure when the connection ends; wait for it (bounded).
  std::string log;
  for (int i = 0; i < 100; ++i) {
    log = (*sshd)->log();
    if (log.find("Failed publickey") != std::string::npos &&
        log.find("Connection closed by authenticating user") != std::string::npos)
      break;
    ::usleep(50000);
  }
  auto p = MakeSshdParser(FixedClock());
  Fed fed = FeedAll(*p, log);
  EXPECT_TRUE(fed.errors.empty()) << fed.errors[0] << "\n" << log;
  int logins = 0, failures = 0;
  for (const auto& e : fed.events) {
    if (e.action == "ssh.login") {
      ++logins;
      EXPECT_EQ(e.actor, (*sshd)->login());
      EXPECT_EQ(e.source_ip, "127.0.0.1");
      EXPECT_EQ(e.outcome, "success");
      EXPECT_TRUE(e.detail.starts_with("publickey ED25519 SHA256:")) << e.detail;
      EXPECT_EQ(e.privileged, (*sshd)->login() == "root");
    } else if (e.action == "ssh.login_failed") {
      ++failures;
      EXPECT_EQ(e.actor, (*sshd)->login());
      EXPECT_EQ(e.outcome, "failure");
    }
    EXPECT_EQ(e.raw_sha256.size(), 64u);
  }
  EXPECT_EQ(logins, 1) << log;
  EXPECT_EQ(failures, 1) << log;
}

// ---- sudo ----

TEST(SudoParserTest, ClassicSyslogLine) {
  auto p = MakeSudoParser(FixedClock());
  auto r = p->Feed(
      "Nov 27 18:00:09 web1 sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; "
      "COMMAND=/usr/bin/systemctl restart nginx",
      5);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 1u);
  const auto& e = (*r)[0];
  EXPECT_EQ(e.source, "sudo");
  EXPECT_EQ(e.action, "sudo.exec");
  EXPECT_EQ(e.outcome, "success");
  EXPECT_EQ(e.actor, "alice");
  EXPECT_EQ(e.target_login, "root");
  EXPECT_TRUE(e.privileged);
  EXPECT_EQ(e.detail, "/usr/bin/systemctl restart nginx");
  EXPECT_EQ(e.target, "web1");
  EXPECT_EQ(e.time_ms, 1795802409000);
  EXPECT_EQ(e.ocsf_class_uid, 1007);
  EXPECT_EQ(e.line, 5u);
}

TEST(SudoParserTest, DenialsAreFailures) {
  auto p = MakeSudoParser(FixedClock());
  struct Case {
    std::string line, reason;
  };
  for (const Case& c : std::vector<Case>{
           {"Nov 27 18:00:09 web1 sudo:    alice : 3 incorrect password attempts ; TTY=pts/0 ; "
            "PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/cat /etc/shadow",
            "3 incorrect password attempts"},
           {"Nov 27 18:00:09 web1 sudo:  mallory : command not allowed ; TTY=pts/2 ; PWD=/ ; "
            "USER=root ; COMMAND=/bin/sh",
            "command not allowed"},
           {"Nov 27 18:00:09 web1 sudo:      eve : user NOT in sudoers ; TTY=pts/3 ; PWD=/ ; "
            "USER=root ; COMMAND=/bin/id",
            "user NOT in sudoers"},
       }) {
    auto r = p->Feed(c.line, 1);
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_EQ(r->size(), 1u) << c.line;
    EXPECT_EQ((*r)[0].action, "sudo.denied");
    EXPECT_EQ((*r)[0].outcome, "failure");
    EXPECT_EQ((*r)[0].target_login, "root");
    EXPECT_NE((*r)[0].detail.find("(" + c.reason + ")"), std::string::npos) << (*r)[0].detail;
  }
}

TEST(SudoParserTest, RunAsAnotherUserEnvAndSemicolonsInTheCommand) {
  auto p = MakeSudoParser(FixedClock());
  Fed fed = FeedAll(*p, TestData("auth_iso.log"));
  EXPECT_TRUE(fed.errors.empty()) << fed.errors[0];
  ASSERT_EQ(fed.events.size(), 1u);
  EXPECT_EQ(fed.events[0].actor, "deploy");
  EXPECT_EQ(fed.events[0].target_login, "postgres");
  EXPECT_FALSE(fed.events[0].privileged);
  EXPECT_EQ(fed.events[0].detail, "/usr/bin/psql -c 'select 1'");

  auto r = p->Feed("Nov 27 18:00:09 web1 sudo: bob : TTY=pts/0 ; PWD=/ ; USER=root ; "
                   "ENV=A=1 ; COMMAND=/bin/sh -c a ; b",
                   9);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].detail, "/bin/sh -c a ; b");
}

TEST(SudoParserTest, SudoLogFileForm) {
  auto p = MakeSudoParser(FixedClock());
  for (std::string line :
       {"Nov 27 18:00:09 : alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/ls",
        "Nov 27 18:00:09 2026 : alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/ls"}) {
    auto r = p->Feed(line, 1);
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_EQ(r->size(), 1u) << line;
    EXPECT_EQ((*r)[0].actor, "alice");
    EXPECT_EQ((*r)[0].detail, "/bin/ls");
    EXPECT_EQ((*r)[0].time_ms, 1795802409000);
  }
}

TEST(SudoParserTest, OtherLinesGiveNoEvent) {
  auto p = MakeSudoParser(FixedClock());
  Fed fed = FeedAll(*p, TestData("auth.log"));
  EXPECT_TRUE(fed.errors.empty()) << fed.errors[0];
  ASSERT_EQ(fed.events.size(), 1u);  // only the sudo COMMAND line; pam_unix and sshd give none
  EXPECT_EQ(fed.events[0].line, 5u);
}

TEST(SudoParserTest, JsonAcceptRejectAndCee) {
  auto p = MakeSudoParser(FixedClock());
  Fed fed = FeedAll(*p, TestData("sudo_json.log"));
  EXPECT_TRUE(fed.errors.empty()) << fed.errors[0];
  ASSERT_EQ(Actions(fed.events),
            (std::vector<std::string>{"sudo.exec", "sudo.denied", "sudo.exec"}));
  const auto& accept = fed.events[0];
  EXPECT_EQ(accept.actor, "alice");
  EXPECT_EQ(accept.target_login, "root");
  EXPECT_TRUE(accept.privileged);
  EXPECT_EQ(accept.detail, "/bin/ls -l '/tmp/my file'");
  EXPECT_EQ(accept.time_ms, 1700000499900);  // submit_time
  EXPECT_EQ(accept.target, "web1");
  EXPECT_EQ(accept.outcome, "success");
  const auto& reject = fed.events[1];
  EXPECT_EQ(reject.actor, "mallory");
  EXPECT_EQ(reject.outcome, "failure");
  EXPECT_EQ(reject.detail, "/bin/cat /etc/shadow (command not allowed)");
  const auto& cee = fed.events[2];
  EXPECT_EQ(cee.actor, "bob");
  EXPECT_EQ(cee.target_login, "www-data");
  EXPECT_FALSE(cee.privileged);
  EXPECT_EQ(cee.line, 4u);
}

TEST(SudoParserTest, MalformedJsonIsAnErrorThatSaysWhy) {
  auto p = MakeSudoParser(FixedClock());
  auto broken = p->Feed(R"({"accept":{"submituser":"alice")", 3);
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(broken.error().message.find("line 3: malformed sudo JSON"), std::string::npos)
      << broken.error().message;
  auto anonymous = p->Feed(R"({"accept":{"runuser":"root","command":"/bin/ls"}})", 4);
  ASSERT_FALSE(anonymous.ok());
  EXPECT_NE(anonymous.error().message.find("submituser"), std::string::npos);
  auto not_object = p->Feed(R"({"reject":[1]})", 5);
  ASSERT_FALSE(not_object.ok());
  EXPECT_NE(not_object.error().message.find("not an object"), std::string::npos);
}

// ---- auditd ----

TEST(AuditdParserTest, ExecveEventIsJoinedAtEoe) {
  auto p = MakeAuditdParser(FixedClock());
  std::string text = TestData("audit.log");
  std::vector<std::string> lines;
  for (size_t s = 0; s < text.size();) {
    size_t nl = text.find('\n', s);
    lines.push_back(text.substr(s, nl - s));
    s = nl + 1;
  }
  ASSERT_GE(lines.size(), 7u);
  for (size_t i = 0; i < 6; ++i) {
    auto r = p->Feed(lines[i], i + 1);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_TRUE(r->empty()) << "completed before its EOE at line " << i + 1;
  }
  auto r = p->Feed(lines[6], 7);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 1u);
  const auto& e = (*r)[0];
  EXPECT_EQ(e.source, "auditd");
  EXPECT_EQ(e.action, "process.exec");
  EXPECT_EQ(e.outcome, "success");
  EXPECT_EQ(e.time_ms, 1700000000123);
  EXPECT_EQ(e.actor, "uid:1000");
  EXPECT_EQ(e.target_login, "uid:0");
  EXPECT_TRUE(e.privileged);  // uid 0, logged in as 1000
  EXPECT_EQ(e.detail, "systemctl restart nginx");
  EXPECT_EQ(e.line, 1u);
  EXPECT_EQ(e.ocsf_class_uid, 1007);
  // sha256sum of the seven lines joined by "\n".
  EXPECT_EQ(e.raw_sha256, "152abeb2f0b5f09e3a4476fad4e967bf8bffd0a5839151dd30d3fc64333bbce1");
  EXPECT_TRUE(p->Finish().empty());
}

TEST(AuditdParserTest, DocumentedSampleFile) {
  auto p = MakeAuditdParser(FixedClock());
  Fed fed = FeedAll(*p, TestData("audit.log"));
  EXPECT_TRUE(fed.errors.empty()) << fed.errors[0];
  // The file watch (open of sshd_config) and CRED_ACQ record no operation.
  ASSERT_EQ(Actions(fed.events),
            (std::vector<std::string>{"process.exec", "ssh.login", "ssh.login_failed",
                                      "sudo.exec", "user.change"}));
  const auto& login = fed.events[1];
  EXPECT_EQ(login.actor, "uid:1000");
  EXPECT_EQ(login.source_ip, "192.0.2.10");
  EXPECT_EQ(login.ocsf_class_uid, 3002);
  const auto& failed = fed.events[2];
  EXPECT_EQ(failed.actor, "(unknown)");
  EXPECT_EQ(failed.outcome, "failure");
  EXPECT_EQ(failed.source_ip, "203.0.113.66");
  const auto& cmd = fed.events[3];
  EXPECT_EQ(cmd.detail, "systemctl restart nginx");  // hex cmd= decoded
  EXPECT_EQ(cmd.actor, "uid:1000");
  const auto& add = fed.events[4];
  EXPECT_EQ(add.target_login, "uid:1001");
  EXPECT_TRUE(add.privileged);
  EXPECT_EQ(add.detail, "ADD_USER op=adding user exe=/usr/sbin/useradd");
  EXPECT_EQ(add.ocsf_class_uid, 3001);
  EXPECT_EQ(add.ocsf_activity_id, 1);
}

TEST(AuditdParserTest, HexAndChunkedArguments) {
  auto p = MakeAuditdParser(FixedClock());
  Fed fed = FeedAll(*p,
                    "type=SYSCALL msg=audit(1700000000.000:1): arch=c000003e syscall=59 "
                    "success=yes exit=0 auid=1000 uid=1000 euid=1000 comm=\"echo\" exe=\"/bin/echo\"\n"
                    "type=EXECVE msg=audit(1700000000.000:1): argc=4 a0=\"echo\" a1=68656C6C6F20776F726C64 "
                    "a2_len=6 a2[0]=\"abc\" a2[1]=\"def\" a3=\"it's\"\n"
                    "type=EOE msg=audit(1700000000.000:1):\n");
  EXPECT_TRUE(fed.errors.empty()) << fed.errors[0];
  ASSERT_EQ(fed.events.size(), 1u);
  EXPECT_EQ(fed.events[0].detail, "echo 'hello world' abcdef 'it'\\''s'");
  EXPECT_FALSE(fed.events[0].privileged);  // no root involved
}

TEST(AuditdParserTest, InterleavedSerialsAreJoinedSeparately) {
  auto p = MakeAuditdParser(FixedClock());
  Fed fed = FeedAll(*p,
                    "type=SYSCALL msg=audit(1700000000.000:10): arch=c000003e syscall=59 success=yes auid=1000 uid=0 euid=0\n"
                    "type=SYSCALL msg=audit(1700000000.001:11): arch=c000003e syscall=59 success=yes auid=1001 uid=1001 euid=1001\n"
                    "type=EXECVE msg=audit(1700000000.001:11): argc=1 a0=\"whoami\"\n"
                    "type=EXECVE msg=audit(1700000000.000:10): argc=2 a0=\"id\" a1=2D75\n"
                    "type=EOE msg=audit(1700000000.001:11):\n"
                    "type=EOE msg=audit(1700000000.000:10):\n",
                    /*finish=*/false);
  EXPECT_TRUE(fed.errors.empty()) << fed.errors[0];
  ASSERT_EQ(fed.events.size(), 2u);
  EXPECT_EQ(fed.events[0].detail, "whoami");
  EXPECT_EQ(fed.events[0].actor, "uid:1001");
  EXPECT_EQ(fed.events[0].line, 2u);
  EXPECT_FALSE(fed.events[0].privileged);
  EXPECT_EQ(fed.events[1].detail, "id -u");
  EXPECT_EQ(fed.events[1].actor, "uid:1000");
  EXPECT_EQ(fed.events[1].line, 1u);
  EXPECT_TRUE(fed.events[1].privileged);
}

std::string ExecRecords(uint64_t serial, int64_t sec, bool eoe) {
  std::string s = std::to_string(sec) + ".000:" + std::to_string(serial);
  std::string out = "type=SYSCALL msg=audit(" + s + "): arch=c000003e syscall=59 success=yes "
                    "auid=1000 uid=1000 euid=1000\ntype=EXECVE msg=audit(" + s +
                    "): argc=1 a0=\"cmd" + std::to_string(serial) + "\"\n";
  if (eoe) out += "type=EOE msg=audit(" + s + "):\n";
  return out;
}

TEST(AuditdParserTest, MissingEoeCompletesAtFinishOrWhenStale) {
  auto p = MakeAuditdParser(FixedClock());
  Fed fed = FeedAll(*p, ExecRecords(1, 1700000000, false), /*finish=*/false);
  EXPECT_TRUE(fed.events.empty());
  auto finished = p->Finish();
  ASSERT_EQ(finished.size(), 1u);
  EXPECT_EQ(finished[0].detail, "cmd1");
  EXPECT_TRUE(p->Finish().empty()) << "Finish gives each event once";

  // A record more than 5 s younger completes the older event.
  auto q = MakeAuditdParser(FixedClock());
  Fed first = FeedAll(*q, ExecRecords(2, 1700000000, false) + ExecRecords(3, 1700000004, false),
                      false);
  EXPECT_TRUE(first.events.empty());
  Fed later = FeedAll(*q, ExecRecords(4, 1700000006, false), false);
  ASSERT_EQ(later.events.size(), 1u);
  EXPECT_EQ(later.events[0].detail, "cmd2");
  EXPECT_EQ(q->Finish().size(), 2u);
}

TEST(AuditdParserTest, EventsInAssemblyAreBounded) {
  auto p = MakeAuditdParser(FixedClock());
  std::string text;
  for (uint64_t i = 0; i < 1024; ++i) text += ExecRecords(i, 1700000000, false);
  Fed fed = FeedAll(*p, text, false);
  EXPECT_TRUE(fed.events.empty());
  Fed more = FeedAll(*p, ExecRecords(5000, 1700000000, false), false);
  ASSERT_EQ(more.events.size(), 1u) << "the 1025th event completes the oldest";
  EXPECT_EQ(more.events[0].detail, "cmd0");
  EXPECT_EQ(p->Finish().size(), 1024u);
}

TEST(AuditdParserTest, RecordsPerEventAreBounded) {
  auto p = MakeAuditdParser(FixedClock());
  std::string path = "type=PATH msg=audit(1700000000.000:9): item=0 name=\"/x\"";
  for (int i = 0; i < 256; ++i) {
    auto r = p->Feed(path, i + 1);
    ASSERT_TRUE(r.ok()) << i << ": " << r.error().message;
  }
  auto r = p->Feed(path, 257);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kResourceExhausted);
  EXPECT_NE(r.error().message.find("256 records"), std::string::npos) << r.error().message;
  EXPECT_TRUE(p->Finish().empty());  // PATH records alone record no operation
}

TEST(AuditdParserTest, EnrichedNamesAndWhoIsPrivileged) {
  auto p = MakeAuditdParser(FixedClock());
  auto exec = [&](std::string fields, std::string enriched) {
    std::string s = "type=SYSCALL msg=audit(1700000000.000:7): arch=c000003e syscall=59 "
                    "success=yes " + fields + " exe=\"/usr/bin/id\"";
    if (!enriched.empty()) s += "\x1d" + enriched;
    auto r = p->Feed(s, 1);
    EXPECT_TRUE(r.ok()) << r.error().message;
    auto e = p->Feed("type=EOE msg=audit(1700000000.000:7): ", 2);
    EXPECT_TRUE(e.ok());
    return e.ok() && e->size() == 1 ? (*e)[0] : OperationEvent{};
  };
  OperationEvent enriched = exec("auid=1000 uid=0 euid=0",
                                 "ARCH=x86_64 SYSCALL=execve AUID=\"alice\" UID=\"root\" EUID=\"root\"");
  EXPECT_EQ(enriched.actor, "alice");
  EXPECT_EQ(enriched.target_login, "root");
  EXPECT_TRUE(enriched.privileged);
  EXPECT_EQ(enriched.detail, "/usr/bin/id");  // no EXECVE record: the executable

  OperationEvent root_login = exec("auid=0 uid=0 euid=0", "");
  EXPECT_EQ(root_login.actor, "uid:0");
  EXPECT_FALSE(root_login.privileged) << "root acting as itself is not someone acting as root";
  OperationEvent daemon = exec("auid=4294967295 uid=0 euid=0", "");
  EXPECT_EQ(daemon.actor, "unset");
  EXPECT_FALSE(daemon.privileged);
  OperationEvent setuid = exec("auid=1000 uid=1000 euid=0", "");
  EXPECT_TRUE(setuid.privileged);
}

TEST(AuditdParserTest, FailedExecveWithoutExecveRecord) {
  auto p = MakeAuditdParser(FixedClock());
  Fed fed = FeedAll(*p,
                    "type=SYSCALL msg=audit(1700000000.000:3): arch=c000003e syscall=59 success=no "
                    "exit=-2 auid=1000 uid=1000 euid=1000 comm=\"bash\" exe=\"/usr/bin/bash\"\n"
                    "type=PROCTITLE msg=audit(1700000000.000:3): proctitle=6C73002D6C002F746D702F6D792066696C65\n"
                    "type=EOE msg=audit(1700000000.000:3):\n");
  EXPECT_TRUE(fed.errors.empty()) << fed.errors[0];
  ASSERT_EQ(fed.events.size(), 1u);
  EXPECT_EQ(fed.events[0].outcome, "failure");
  EXPECT_EQ(fed.events[0].detail, "ls -l '/tmp/my file'");  // from PROCTITLE's NUL-separated argv
}

TEST(AuditdParserTest, SyslogAndKernelForms) {
  auto p = MakeAuditdParser(FixedClock());
  Fed fed = FeedAll(
      *p,
      "Nov 27 18:00:01 web1 audisp-syslog: type=USER_CMD msg=audit(1700000200.000:600): pid=1 "
      "uid=1000 auid=1000 ses=3 msg='cmd=6C73 exe=\"/usr/bin/sudo\" res=success'\n"
      "Nov 27 18:00:01 web1 kernel: audit: type=1300 audit(1700000000.000:5): arch=c000003e "
      "syscall=59 success=yes auid=1000 uid=1000 euid=1000\n"
      "Nov 27 18:00:01 web1 kernel: audit: type=1309 audit(1700000000.000:5): argc=1 a0=\"ls\"\n"
      "Nov 27 18:00:01 web1 kernel: audit: type=1320 audit(1700000000.000:5):\n"
      "Nov 27 18:00:01 web1 CRON[1]: pam_unix(cron:session): session closed for user root\n"
      "node=web2 type=EOE msg=audit(1700000000.000:5): \n");
  EXPECT_TRUE(fed.errors.empty()) << fed.errors[0];
  ASSERT_EQ(Actions(fed.events), (std::vector<std::string>{"sudo.exec", "process.exec"}));
  EXPECT_EQ(fed.events[0].target, "web1");
  EXPECT_EQ(fed.events[0].detail, "ls");
  EXPECT_EQ(fed.events[1].detail, "ls");
  EXPECT_EQ(fed.events[1].line, 2u);
}

TEST(AuditdParserTest, MalformedRecordsAreErrorsThatSayWhy) {
  auto p = MakeAuditdParser(FixedClock());
  struct Case {
    std::string line, expect;
  };
  for (const Case& c : std::vector<Case>{
           {"garbage", "expected \"type=NAME"},
           {"type=SYSCALL", "type= has no value"},
           {"type=SYSCALL arch=c000003e", "msg=audit(TIME:SERIAL)"},
           {"type=SYSCALL msg=audit(1700000000.000:1 arch=x", "not closed"},
           {"type=SYSCALL msg=audit(abc:1): arch=x", "not audit(SECONDS.MILLIS:SERIAL)"},
           {"type=SYSCALL msg=audit(1700000000.000:99999999999999999999): x", "SECONDS.MILLIS"},
           {"type=SYSCALL msg=audit(1700000000.000:1) arch=x", "not followed by ':'"},
           {"node=web1", "node= without type="},
       }) {
    auto r = p->Feed(c.line, 12);
    ASSERT_FALSE(r.ok()) << c.line;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message.find("line 12: malformed audit record"), std::string::npos)
        << r.error().message;
    EXPECT_NE(r.error().message.find(c.expect), std::string::npos)
        << c.line << " → " << r.error().message;
  }
  EXPECT_TRUE(p->Finish().empty());
}

TEST(AuditdParserTest, FieldsAreValidUtf8) {
  auto p = MakeAuditdParser(FixedClock());
  Fed fed = FeedAll(*p,
                    "type=SYSCALL msg=audit(1700000000.000:1): arch=c000003e syscall=59 success=yes "
                    "auid=1000 uid=1000 euid=1000\n"
                    "type=EXECVE msg=audit(1700000000.000:1): argc=2 a0=\"printf\" a1=FF0A1BC3A9\n"
                    "type=EOE msg=audit(1700000000.000:1):\n");
  ASSERT_EQ(fed.events.size(), 1u);
  EXPECT_EQ(fed.events[0].detail, "printf '\\xff\\x0a\\x1b\xC3\xA9'");
  EXPECT_NO_THROW((void)ToJson(fed.events[0]).dump());
}

}  // namespace
}  // namespace cloudpact::ingest
