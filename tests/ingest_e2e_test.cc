// Audit-log ingestion through the real binary: `cloudpact serve --demo --ingest-config`
// follows the log of a real sshd on loopback; a direct SSH login to a host the gateway fronts
// becomes a finding whose evidence `cloudpact findings show` verifies; `cloudpact ingest`
// pushes a file once, however often it is run; a restart re-reads nothing twice.
#include <gtest/gtest.h>

#include "core/json.h"
#include "e2e_support.h"
#include "net/http_client.h"
#include "testing/backends.h"
#include "testing/sshd.h"

namespace cloudpact {
namespace {

using namespace std::chrono_literals;

class IngestWalkthrough : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = testing::TempDir("ingest-e2e");
    dir_ = root_ / "data";
    alice_key_ = testing::GenerateSshKey(root_, "alice").value();
    auto sshd = testing::Sshd::Start(root_ / "sshd", {alice_key_.public_line});
    ASSERT_TRUE(sshd.ok()) << sshd.error().message;
    sshd_ = std::move(*sshd);
    config_ = root_ / "ingest.yaml";
    std::ofstream(config_) << "sources:\n"
                           << "  - name: sh-node-01-sshd\n"
                           << "    formats: [sshd]\n"
                           << "    file: " << (sshd_->dir() / "sshd.log").string() << "\n"
                           << "    platform: k8s-sh\n"
                           << "    resource: sh-node-01\n"
                           << "  - name: sh-node-01-syslog\n"
                           << "    formats: [sshd, sudo]\n"
                           << "    syslog: {listen: \"127.0.0.1:0\"}\n"
                           << "    platform: k8s-sh\n"
                           << "    resource: sh-node-01\n";
    Start();
    // The host is fronted by the gateway (its directory entry has ssh:), and alice's key is
    // registered, so that the log's key fingerprint names her whatever account she used.
    fs::path yaml = root_ / "targets.yaml";
    std::ofstream(yaml) << "resources:\n"
                        << "  - {id: sh-node-01, platform: k8s-sh, type: host, labels: {env: dev}, ssh: {host: 127.0.0.1, port: "
                        << sshd_->port() << ", host_key: \"" << sshd_->host_key_line() << "\"}}\n"
                        << "staff:\n"
                        << "  - {id: alice, name: \"Alice 王\", roles: [sre], ssh_keys: [\"" << alice_key_.public_line << "\"]}\n";
    auto [code, out] = As("dave", "apply -f " + yaml.string());
    ASSERT_EQ(code, 0) << out;
  }

  void Start() {
    server_ = std::make_unique<Server>(dir_, std::vector<std::string>{"--demo", "--ingest-config", config_.string()});
    url_ = server_->WaitUrl();
    ASSERT_FALSE(url_.empty());
  }

  std::pair<int, std::string> As(const std::string& who, const std::string& args) {
    return RunCommand(std::string(CLOUDPACT_BIN) + " " + args + " --url " + url_ + " --token-file " +
                      (dir_ / "demo" / (who + ".token")).string() + " 2>&1");
  }

  void LoginDirectly() {
    auto args = testing::SshClientArgs(sshd_->port(), sshd_->login(), alice_key_.private_key_path);
    args.push_back("true");
    auto r = testing::RunSsh(args, "", 60s);
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_EQ(r->exit_code, 0) << r->stderr_text << sshd_->log();
  }

  // Findings of a kind, once `want` of them are there (the file is followed, not pushed).
  Json WaitFindings(const std::string& kind, size_t want) {
    Json items;
    for (int i = 0; i < 300; ++i) {
      auto [code, out] = As("dave", "findings list --json --kind " + kind);
      if (code == 0) {
        items = (*ParseJson(out))["items"];
        if (items.size() >= want) return items;
      }
      std::this_thread::sleep_for(100ms);
    }
    ADD_FAILURE() << "expected " << want << " " << kind << " findings, have " << items.dump() << "\n" << server_->log();
    return items;
  }

  fs::path root_, dir_, config_;
  testing::SshKeyPair alice_key_;
  std::unique_ptr<testing::Sshd> sshd_;
  std::unique_ptr<Server> server_;
  std::string url_;
};

TEST_F(IngestWalkthrough, ADirectLoginIsFoundProvableAndNotCountedTwiceAfterARestart) {
  LoginDirectly();
  Json found = WaitFindings("gateway_bypassed", 1);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0]["principal"], "alice");
  EXPECT_EQ(found[0]["resource"], "sh-node-01");
  EXPECT_EQ(found[0]["source"], "sh-node-01-sshd");
  const std::string id = found[0]["id"];

  // The evidence checks out locally, from the event's bytes to the ledger entry.
  auto [code, shown] = As("dave", "findings show " + id);
  EXPECT_EQ(code, 0) << shown;
  EXPECT_NE(shown.find("evidence verified"), std::string::npos) << shown;
  EXPECT_NE(shown.find("绕过运维网关的登录"), std::string::npos) << shown;
  // Someone without findings:read is refused.
  auto [denied, why] = As("alice", "findings list");
  EXPECT_NE(denied, 0) << why;

  // Restart: the file is not read again from the start, so nothing is counted twice; a new
  // login after the restart is.
  ASSERT_EQ(server_->Kill(SIGTERM), 0);
  Start();
  LoginDirectly();
  Json after = WaitFindings("gateway_bypassed", 2);
  std::this_thread::sleep_for(1s);  // a duplicate, if any, would come with the same read
  after = WaitFindings("gateway_bypassed", 2);
  EXPECT_EQ(after.size(), 2u) << after.dump();

  auto metrics = net::HttpClient::Create(url_).value()->Request("GET", "/metrics", "", {});
  ASSERT_TRUE(metrics.ok());
  EXPECT_NE(metrics->body.find("cloudpact_ingest_events_total"), std::string::npos);
}

// util-linux's logger(1) sends sudo's line over TCP with RFC 6587 octet counting, as rsyslog
// forwarding would; the listener spools it and the pipeline correlates it.
TEST_F(IngestWalkthrough, SyslogOverTcpFromARealSender) {
  int port = 0;
  {
    std::istringstream lines(server_->log());
    std::string line;
    while (std::getline(lines, line)) {
      auto j = ParseJson(line);
      if (j.ok() && (*j)["msg"] == "syslog listening") port = (*j)["port"];
    }
  }
  ASSERT_GT(port, 0) << server_->log();
  auto [code, out] = RunCommand("logger --tcp --octet-count --rfc5424 --server 127.0.0.1 --port " + std::to_string(port) +
                                " --tag sudo -- 'alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id'");
  ASSERT_EQ(code, 0) << out;
  Json found = WaitFindings("privileged_without_grant", 1);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0]["principal"], "alice");
  EXPECT_EQ(found[0]["action"], "sudo.exec");
  EXPECT_EQ(found[0]["source"], "sh-node-01-syslog");
  auto [shown_code, shown] = As("dave", "findings show " + found[0]["id"].get<std::string>());
  EXPECT_EQ(shown_code, 0) << shown;
}

TEST_F(IngestWalkthrough, AFilePushedTwiceIsIngestedOnce) {
  const std::string sample = std::string(CLOUDPACT_SOURCE_DIR) + "/src/ingest/testdata/json/k8s_audit.ndjson";
  auto [code, out] = As("dave", "ingest " + sample + " --source k8s-sh-audit --format k8s-audit --platform k8s-sh --json");
  ASSERT_EQ(code, 0) << out;
  Json first = *ParseJson(out);
  EXPECT_GT(first["events"].get<uint64_t>(), 0u);
  EXPECT_EQ(first["duplicate_chunks"], 0);

  auto [code2, out2] = As("dave", "ingest " + sample + " --source k8s-sh-audit --format k8s-audit --platform k8s-sh --json");
  ASSERT_EQ(code2, 0) << out2;
  Json second = *ParseJson(out2);
  EXPECT_EQ(second["duplicate_chunks"], 1);
  EXPECT_EQ(second["finding_ids"], first["finding_ids"]);

  // Pushing needs ingest:write.
  auto [denied, why] = As("alice", "ingest " + sample + " --source x --format k8s-audit");
  EXPECT_NE(denied, 0) << why;
  // A format nobody knows is refused with the list of known ones.
  auto [bad, msg] = As("dave", "ingest " + sample + " --source x --format syslog-ng");
  EXPECT_NE(bad, 0);
  EXPECT_NE(msg.find("k8s-audit"), std::string::npos) << msg;
}

}  // namespace
}  // namespace cloudpact
