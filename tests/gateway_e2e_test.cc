// The gateway through the real binary, as an operator would meet it: `cloudpact serve --demo`
// with its SSH gateway, a target host registered in the directory with its pinned host key
// (a real sshd on loopback), a credential set through the API, a grant requested and approved
// with the CLI, and then the real OpenSSH client through the gateway — TOTP included.
#include <gtest/gtest.h>

#include "core/encoding.h"
#include "core/json.h"
#include "core/time.h"
#include "crypto/sha256.h"
#include "crypto/totp.h"
#include "e2e_support.h"
#include "net/http_client.h"
#include "testing/backends.h"
#include "testing/sshd.h"

namespace cloudpact {
namespace {

using namespace std::chrono_literals;

class GatewayWalkthrough : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::TempDir("gw-e2e") / "data";
    work_ = dir_.parent_path() / "work";
    fs::create_directories(work_);
    target_key_ = testing::GenerateSshKey(dir_.parent_path(), "gateway-to-target").value();
    alice_key_ = testing::GenerateSshKey(dir_.parent_path(), "alice").value();
    auto sshd = testing::Sshd::Start(dir_.parent_path() / "sshd", {target_key_.public_line});
    ASSERT_TRUE(sshd.ok()) << sshd.error().message;
    sshd_ = std::move(*sshd);
    server_ = std::make_unique<Server>(dir_, std::vector<std::string>{"--demo"});
    url_ = server_->WaitUrl();
    ASSERT_FALSE(url_.empty());
    ssh_port_ = server_->SshPort();
    ASSERT_GT(ssh_port_, 0) << server_->log();
    http_ = net::HttpClient::Create(url_).value();
  }

  std::pair<int, std::string> As(const std::string& who, const std::string& args) {
    return RunCommand(std::string(CLOUDPACT_BIN) + " " + args + " --url " + url_ + " --token-file " +
                      (dir_ / "demo" / (who + ".token")).string() + " 2>&1");
  }
  std::string TokenOf(const std::string& who) {
    std::string t = ReadAll(dir_ / "demo" / (who + ".token"));
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
    return t;
  }
  net::HttpResponse Call(const std::string& who, const std::string& method, const std::string& path, const std::string& body = "") {
    auto r = http_->Request(method, path, body,
                            {{"Authorization", "Bearer " + TokenOf(who)}, {"Content-Type", "application/json"}});
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? *r : net::HttpResponse{};
  }

  fs::path dir_, work_;
  testing::SshKeyPair target_key_, alice_key_;
  std::unique_ptr<testing::Sshd> sshd_;
  std::unique_ptr<Server> server_;
  std::string url_;
  int ssh_port_ = 0;
  std::unique_ptr<net::HttpClient> http_;
};

TEST_F(GatewayWalkthrough, AnApprovedOperatorWorksThroughTheGatewayAndEverythingIsOnRecord) {
  const std::string login = sshd_->login();
  // 1. The security admin registers the host's SSH endpoint (pinned host key) and alice's key.
  fs::path yaml = dir_.parent_path() / "targets.yaml";
  std::ofstream(yaml) << "resources:\n"
                      << "  - {id: sh-node-01, platform: k8s-sh, type: host, labels: {env: dev}, ssh: {host: 127.0.0.1, port: "
                      << sshd_->port() << ", host_key: \"" << sshd_->host_key_line() << "\"}}\n"
                      << "staff:\n"
                      << "  - {id: alice, name: \"Alice 王\", roles: [sre], ssh_keys: [\"" << alice_key_.public_line << "\"]}\n";
  auto [code, out] = As("dave", "apply -f " + yaml.string());
  ASSERT_EQ(code, 0) << out;

  // 2. … and the credential the gateway logs in with; nobody reads it back.
  Json cred = {{"login", login}, {"kind", "key"}, {"secret", target_key_.private_pem}};
  auto set = Call("dave", "POST", "/v1/targets/sh-node-01/credentials", cred.dump());
  ASSERT_EQ(set.status, 200) << set.body;
  EXPECT_EQ(set.body.find("PRIVATE KEY"), std::string::npos);
  EXPECT_EQ(Call("alice", "POST", "/v1/targets/sh-node-01/credentials", cred.dump()).status, 403);

  // 3. Alice enrols TOTP (her role is privileged, so the gateway will ask for a code).
  ASSERT_EQ(Call("dave", "POST", "/v1/accounts/alice/password", R"({"password":"correct horse battery"})").status, 204);
  auto signin = http_->Request("POST", "/v1/auth/signin", R"({"principal":"alice","password":"correct horse battery"})",
                               {{"Content-Type", "application/json"}});
  ASSERT_TRUE(signin.ok());
  ASSERT_EQ(signin->status, 200) << signin->body;
  std::string cookie = signin->headers["set-cookie"].substr(0, signin->headers["set-cookie"].find(';'));
  std::string csrf = (*ParseJson(signin->body))["csrf_token"];
  // A password-only session of someone who needs MFA can do nothing but enrol: no exec.
  auto early = http_->Request("POST", "/v1/exec",
                              Json{{"target", "sh-node-01"}, {"login", login}, {"command", "id"}}.dump(),
                              {{"Cookie", cookie}, {"X-CSRF-Token", csrf}, {"Content-Type", "application/json"}});
  ASSERT_TRUE(early.ok());
  EXPECT_EQ(early->status, 403) << early->body;
  EXPECT_NE(early->body.find("enrol a TOTP authenticator first"), std::string::npos) << early->body;
  auto enrol = http_->Request("POST", "/v1/auth/totp", "", {{"Cookie", cookie}, {"X-CSRF-Token", csrf}});
  ASSERT_TRUE(enrol.ok());
  ASSERT_EQ(enrol->status, 200) << enrol->body;
  auto secret = crypto::Base32Decode((*ParseJson(enrol->body))["secret_base32"].get<std::string>());
  ASSERT_TRUE(secret.ok());
  const int64_t now = UnixSeconds(SystemNow());
  auto confirm = http_->Request("POST", "/v1/auth/totp/confirm", Json{{"code", *crypto::TotpCode(*secret, now)}}.dump(),
                                {{"Cookie", cookie}, {"X-CSRF-Token", csrf}, {"Content-Type", "application/json"}});
  ASSERT_TRUE(confirm.ok());
  ASSERT_EQ(confirm->status, 204) << confirm->body;

  auto ssh = [&](const std::string& command, int64_t code_time) {
    testing::ProcessOptions o;
    o.askpass_answer = *crypto::TotpCode(*secret, code_time);
    o.askpass_dir = dir_.parent_path() / ("askpass-" + std::to_string(code_time));
    auto args = testing::SshClientArgs(ssh_port_, "alice:" + login + ":sh-node-01", alice_key_.private_key_path);
    args.push_back(command);
    return testing::RunSsh(args, "", 60s, o);
  };

  // 4. Without a grant the gateway refuses.
  auto refused = ssh("echo never", now + 30);
  ASSERT_TRUE(refused.ok());
  EXPECT_NE(refused->exit_code, 0);
  EXPECT_NE(refused->stderr_text.find("no active grant covers login:" + login + " on sh-node-01"), std::string::npos)
      << refused->stderr_text;

  // 5. Alice asks, erin approves: a grant for login:<login> on the host.
  std::tie(code, out) = As("alice", "access request --resource sh-node-01 --action login:" + login +
                                        " --reason maintenance --justification 'rotate logs' --ticket CHG-9");
  ASSERT_EQ(code, 0) << out;
  const std::string id = out.substr(out.find("req_"), 20);
  std::tie(code, out) = As("erin", "access review " + id + " --approve");
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("[active]"), std::string::npos) << out;

  // 6. Through the gateway: allowed, then denied by the demo policy (never reaches the target).
  auto ok = ssh("echo through-the-gateway-$((6*7))", now + 60);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->exit_code, 0) << ok->stderr_text;
  EXPECT_EQ(ok->stdout_text, "through-the-gateway-42\n");
  const fs::path victim = work_ / "payload-ran";
  auto denied = ssh("echo dG91Y2gK | base64 -d | sh; touch " + victim.string(), now + 90);
  ASSERT_TRUE(denied.ok());
  EXPECT_NE(denied->exit_code, 0);
  EXPECT_NE(denied->stderr_text.find("rule no-decoded-payloads"), std::string::npos) << denied->stderr_text;
  EXPECT_FALSE(fs::exists(victim));

  // 7. The sessions, their commands and the recording, through the API.
  auto list = Call("alice", "GET", "/v1/sessions");
  ASSERT_EQ(list.status, 200) << list.body;
  auto items = (*ParseJson(list.body))["items"];
  ASSERT_GE(items.size(), 3u);  // refused, allowed, denied
  std::string allowed_id;
  for (const auto& s : items) {
    if (s["command"] == "echo through-the-gateway-$((6*7))") allowed_id = s["id"];
  }
  ASSERT_FALSE(allowed_id.empty()) << list.body;
  auto detail = Call("erin", "GET", "/v1/sessions/" + allowed_id);
  ASSERT_EQ(detail.status, 200) << detail.body;
  auto session = *ParseJson(detail.body);
  EXPECT_EQ(session["grant"], id);
  EXPECT_EQ(session["state"], "ended");
  auto rec = Call("alice", "GET", "/v1/sessions/" + allowed_id + "/recording");
  ASSERT_EQ(rec.status, 200) << rec.body;
  EXPECT_NE(rec.body.find("through-the-gateway-42"), std::string::npos);
  EXPECT_EQ(HexEncode(crypto::AsBytes(crypto::Sha256(rec.body))), session["recording_sha256"]);
  // Someone else's sessions are not alice's to read; frank (ops-lead) may read them all.
  EXPECT_EQ(Call("bob", "GET", "/v1/sessions/" + allowed_id).status, 404);
  EXPECT_EQ(Call("frank", "GET", "/v1/sessions/" + allowed_id).status, 200);
  // The assessor reads sessions and their recordings too.
  EXPECT_EQ(Call("audrey", "GET", "/v1/sessions/" + allowed_id + "/recording").status, 200);

  // 8. The same through the exec API.
  auto exec = Call("alice", "POST", "/v1/exec",
                   Json{{"target", "sh-node-01"}, {"login", login}, {"command", "echo via-api-$((1+1))"}}.dump());
  ASSERT_EQ(exec.status, 200) << exec.body;
  EXPECT_EQ((*ParseJson(exec.body))["stdout"], "via-api-2\n");
  EXPECT_EQ(Call("bob", "POST", "/v1/exec",
                 Json{{"target", "sh-node-01"}, {"login", login}, {"command", "id"}}.dump()).status, 403);

  // 9. The grant's own record lists every session entry, as the tenant-facing log would.
  auto grant = Call("erin", "GET", "/v1/access/requests/" + id);
  ASSERT_EQ(grant.status, 200) << grant.body;
  EXPECT_GE((*ParseJson(grant.body))["ledger_indexes"].size(), 2u + 2u * 3u);
}

}  // namespace
}  // namespace cloudpact
