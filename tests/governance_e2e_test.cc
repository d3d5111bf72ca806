// The README's lockbox walkthrough, with the real binary and CLI: an outsourced DBA asks for
// a tenant's database, two organisations approve, the tenant signs with its own key, the
// grant works, and the tenant verifies every access from the ledger alone.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <mutex>

#include "core/encoding.h"
#include "core/json.h"
#include "core/time.h"
#include "crypto/sha256.h"
#include "crypto/totp.h"
#include "e2e_support.h"
#include "ledger/merkle.h"
#include "net/http_client.h"
#include "testing/backends.h"

namespace cloudpact {
namespace {

// A minimal HTTP receiver for webhooks on loopback: records each request's headers and body.
class HookReceiver {
 public:
  HookReceiver() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 16);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { Loop(); });
  }
  ~HookReceiver() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }
  std::vector<std::pair<std::string, std::string>> Received() {  // (signature header, body)
    std::lock_guard<std::mutex> lock(mu_);
    return got_;
  }

 private:
  void Loop() {
    while (!stop_) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string data;
      char buf[4096];
      while (true) {
        size_t head = data.find("\r\n\r\n");
        if (head != std::string::npos) {
          std::string lower = data.substr(0, head);
          for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
          size_t cl = lower.find("content-length: ");
          size_t n = cl == std::string::npos ? 0 : std::stoul(lower.substr(cl + 16));
          if (data.size() >= head + 4 + n) {
            size_t sig = lower.find("x-cloudpact-signature: ");
            std::string s = sig == std::string::npos ? "" : data.substr(sig + 23, data.find("\r\n", sig) - sig - 23);
            std::lock_guard<std::mutex> lock(mu_);
            got_.push_back({s, data.substr(head + 4, n)});
            break;
          }
        }
        ssize_t r = ::recv(c, buf, sizeof buf, 0);
        if (r <= 0) break;
        data.append(buf, r);
      }
      const char* ok = "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      (void)::send(c, ok, std::strlen(ok), MSG_NOSIGNAL);
      ::close(c);
    }
  }
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::pair<std::string, std::string>> got_;
};

class LockboxWalkthrough : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::TempDir("lockbox") / "data";
    server_ = std::make_unique<Server>(dir_, std::vector<std::string>{"--demo"});
    url_ = server_->WaitUrl();
    ASSERT_FALSE(url_.empty());
  }
  // Runs `cloudpact ARGS` as demo person `who`.
  std::pair<int, std::string> As(const std::string& who, const std::string& args) {
    return RunCommand(std::string(CLOUDPACT_BIN) + " " + args + " --url " + url_ + " --token-file " +
                      (dir_ / "demo" / (who + ".token")).string());
  }
  std::string RequestId(const std::string& out) {
    size_t at = out.find("req_");
    return at == std::string::npos ? "" : out.substr(at, 20);
  }
  std::string VerifierKey() {
    std::string k = ReadAll(dir_ / "ledger-key.pub");
    while (!k.empty() && k.back() == '\n') k.pop_back();
    return k;
  }
  fs::path dir_;
  std::unique_ptr<Server> server_;
  std::string url_;
};

TEST_F(LockboxWalkthrough, TenantApprovedAccessIsGrantedAndVerifiable) {
  // The demo wrote tokens and the tenants' keys owner-only.
  struct stat st{};
  ASSERT_EQ(::stat((dir_ / "demo" / "acme-ann.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  // Webhooks for acme go to our receiver (the admin changes the tenant record).
  HookReceiver hooks;
  fs::path tenant_yaml = dir_.parent_path() / "tenant.yaml";
  std::ofstream(tenant_yaml) << "tenants:\n  - {id: acme, name: \"Acme 公司 / Acme Corp\", webhook_url: \"" << hooks.url() << "\"}\n";
  auto [code, out] = As("dave", "apply -f " + tenant_yaml.string());
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("1 updated"), std::string::npos) << out;

  std::tie(code, out) = As("bob", "access request --resource acme-db-01 --action db:read --reason customer_support "
                                  "--justification '租户报告慢查询 / slow queries reported' --ticket SUP-1024");
  ASSERT_EQ(code, 0) << out;
  std::string id = RequestId(out);
  ASSERT_FALSE(id.empty()) << out;
  EXPECT_NE(out.find("[pending]"), std::string::npos);

  std::tie(code, out) = As("bob", "access review " + id + " --approve");
  EXPECT_EQ(code, 1);
  EXPECT_NE(out.find("nobody may review their own request"), std::string::npos) << out;
  std::tie(code, out) = As("erin", "access review " + id + " --approve --comment ok");
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("[pending]"), std::string::npos) << out;
  std::tie(code, out) = As("frank", "access review " + id + " --approve");
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("[pending]"), std::string::npos) << out;  // still needs the tenant
  std::tie(code, out) = As("bob", "authz check --principal bob --action db:read --resource acme-db-01");
  EXPECT_EQ(code, 1) << out;  // his token lists authz:check, but none of his roles confers it
  EXPECT_NE(out.find("bob lacks permission \"authz:check\""), std::string::npos) << out;
  std::tie(code, out) = RunCommand(std::string(CLOUDPACT_BIN) + " authz check --principal bob --action db:read --resource acme-db-01 --url " +
                                   url_ + " --token-file " + (dir_ / "initial-admin-token").string());
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("DENY"), std::string::npos) << out;

  // The tenant signs with its own key, over the digest the CLI recomputes itself.
  std::tie(code, out) = As("acme-ann", "access review " + id + " --approve --key " + (dir_ / "demo" / "acme-ann.key").string());
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("[active]"), std::string::npos) << out;
  std::tie(code, out) = RunCommand(std::string(CLOUDPACT_BIN) + " authz check --principal bob --action db:read --resource acme-db-01 --url " +
                                   url_ + " --token-file " + (dir_ / "initial-admin-token").string());
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("ALLOW  grant " + id), std::string::npos) << out;

  // The tenant's own verification, from the ledger alone.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the next checkpoint
  std::tie(code, out) = RunCommand(std::string(CLOUDPACT_BIN) + " tenant verify --tenant acme --url " + url_ + " --key " + VerifierKey());
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("TENANT VERIFIED"), std::string::npos) << out;
  EXPECT_NE(out.find(id), std::string::npos) << out;
  EXPECT_NE(out.find("signed by acme-ann"), std::string::npos) << out;
  // Pinning a key the tenant holds elsewhere: the provider-registered one no longer counts.
  std::tie(code, out) = RunCommand(std::string(CLOUDPACT_BIN) + " tenant keygen --out " + (dir_.parent_path() / "other.key").string());
  ASSERT_EQ(code, 0) << out;
  std::string other_pub = out.substr(0, out.find('\n'));
  std::tie(code, out) = RunCommand(std::string(CLOUDPACT_BIN) + " tenant verify --tenant acme --url " + url_ + " --key " + VerifierKey() +
                                   " --approver-key " + other_pub);
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("did not pin"), std::string::npos) << out;

  // The access log API: the tenant's approver reads it, with inclusion proofs.
  auto c = net::HttpClient::Create(url_);
  auto ann = ReadAll(dir_ / "demo" / "acme-ann.token");
  ann.pop_back();
  auto log = (*c)->Request("GET", "/v1/tenants/acme/access-log", "", {{"Authorization", "Bearer " + ann}});
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->status, 200) << log->body;
  auto j = *ParseJson(log->body);
  ASSERT_EQ(j["requests"].size(), 1u);
  size_t proven = 0;
  // Root of the served checkpoint, from its third line.
  std::string note = j["checkpoint"];
  size_t l1 = note.find('\n'), l2 = note.find('\n', l1 + 1), l3 = note.find('\n', l2 + 1);
  auto root_raw = *Base64Decode(note.substr(l2 + 1, l3 - l2 - 1));
  ledger::Hash root;
  std::memcpy(root.data(), root_raw.data(), 32);
  for (const auto& e : j["requests"][0]["entries"]) {
    if (!e.contains("inclusion_proof")) continue;
    std::vector<ledger::Hash> proof;
    for (const auto& h : e["inclusion_proof"]) {
      auto raw = *Base64Decode(h.get<std::string>());
      ledger::Hash x;
      std::memcpy(x.data(), raw.data(), 32);
      proof.push_back(x);
    }
    EXPECT_TRUE(ledger::VerifyInclusion(e["index"], j["tree_size"], ledger::LeafHash(e["entry"].get<std::string>()), proof, root).ok());
    ++proven;
  }
  EXPECT_GE(proven, 4u);  // request, 3 reviews, grant (all before the checkpoint we waited for)
  auto gus = ReadAll(dir_ / "demo" / "globex-gus.token");
  gus.pop_back();
  EXPECT_EQ((*c)->Request("GET", "/v1/tenants/acme/access-log", "", {{"Authorization", "Bearer " + gus}})->status, 403);

  // The tenant's webhook heard of the request and the grant, signed with its secret.
  for (int i = 0; i < 100 && hooks.Received().size() < 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto got = hooks.Received();
  ASSERT_GE(got.size(), 2u);
  EXPECT_NE(got[0].second.find("\"access.request\""), std::string::npos) << got[0].second;
  EXPECT_EQ(got[0].first.rfind("sha256=", 0), 0u);
  // The secret is HMAC(webhook-key, "tenant-webhook:acme"): recompute and check the body's signature.
  std::string key = ReadAll(dir_ / "webhook-key");
  key.pop_back();
  std::string secret = HexEncode(crypto::AsBytes(crypto::HmacSha256(key, "tenant-webhook:acme")));
  EXPECT_EQ(got[0].first, "sha256=" + HexEncode(crypto::AsBytes(crypto::HmacSha256(secret, got[0].second))));
}

TEST_F(LockboxWalkthrough, PolicyChangeNeedsASecondAdminAndPostureShowsDifferences) {
  fs::path policy = fs::path(CLOUDPACT_SOURCE_DIR) / "examples" / "demo" / "policy.yaml";
  auto [code, out] = As("dave", "policy propose -f " + policy.string());
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("policy version 2 is proposed"), std::string::npos) << out;
  std::tie(code, out) = As("dave", "policy approve 2");
  EXPECT_EQ(code, 1);
  EXPECT_NE(out.find("needs a second security admin"), std::string::npos) << out;
  std::tie(code, out) = As("bob", "policy approve 2");
  EXPECT_EQ(code, 1);
  EXPECT_NE(out.find("lacks permission \"policy:approve\""), std::string::npos) << out;
  std::tie(code, out) = As("sara", "policy approve 2");
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("policy version 2 is active"), std::string::npos) << out;

  fs::path bad = dir_.parent_path() / "bad.yaml";
  std::ofstream(bad) << "roles:\n  - name: sre\n    permisions: []\n";
  std::tie(code, out) = As("dave", "policy propose -f " + bad.string());
  EXPECT_EQ(code, 1);
  EXPECT_NE(out.find("line 3"), std::string::npos) << out;

  std::tie(code, out) = As("audrey", "posture");
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("approval_rule outsourced-on-tenant-data applies to outsourced only"), std::string::npos) << out;
  EXPECT_NE(out.find("常设特权账号 standing privileged accounts: 1"), std::string::npos) << out;  // alice (sre)

  // Break-glass by the on-call engineer: immediate, and awaiting review in the posture.
  std::tie(code, out) = As("olga", "access breakglass --resource globex-bucket-01 --action data:read --reason incident_response "
                                   "--justification 'P1 outage INC-7'");
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("BREAK-GLASS"), std::string::npos);
  EXPECT_NE(out.find("[active]"), std::string::npos);
  std::tie(code, out) = As("audrey", "posture");
  EXPECT_NE(out.find("待复核紧急访问 break-glass awaiting review: 1"), std::string::npos) << out;
}

TEST_F(LockboxWalkthrough, SignInWithPasswordAndTotpThenCookieWithCsrf) {
  auto c = net::HttpClient::Create(url_).value();
  auto token = [&](const std::string& who) {
    std::string t = ReadAll(dir_ / "demo" / (who + ".token"));
    return "Bearer " + t.substr(0, t.find('\n'));
  };
  // An admin sets erin's first password (ledgered; the password never is).
  auto r = c->Request("POST", "/v1/accounts/erin/password", R"({"password":"correct horse battery"})",
                      {{"Authorization", token("dave")}, {"Content-Type", "application/json"}});
  ASSERT_EQ(r->status, 204) << r->body;
  r = c->Request("POST", "/v1/accounts/erin/password", R"({"password":"short"})",
                 {{"Authorization", token("dave")}, {"Content-Type", "application/json"}});
  EXPECT_EQ(r->status, 400) << r->body;
  EXPECT_EQ(c->Request("POST", "/v1/accounts/erin/password", R"({"password":"correct horse battery"})",
                       {{"Authorization", token("bob")}, {"Content-Type", "application/json"}})->status, 403);

  auto signin = [&](const std::string& password, const std::string& code) {
    Json body = {{"principal", "erin"}, {"password", password}};
    if (!code.empty()) body["totp"] = code;
    return *c->Request("POST", "/v1/auth/signin", body.dump(), {{"Content-Type", "application/json"}});
  };
  auto cookie_of = [](const net::HttpResponse& res) {
    std::string sc = res.headers.at("set-cookie");
    EXPECT_NE(sc.find("HttpOnly"), std::string::npos);
    EXPECT_NE(sc.find("Secure"), std::string::npos);
    EXPECT_NE(sc.find("SameSite=Strict"), std::string::npos);
    return sc.substr(0, sc.find(';'));
  };
  EXPECT_EQ(signin("wrong password!!", "").status, 401);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // the back-off after one failure
  // erin approves access, so she must use a second factor: first a session that can only enrol.
  auto first = signin("correct horse battery", "");
  ASSERT_EQ(first.status, 200) << first.body;
  auto fj = *ParseJson(first.body);
  EXPECT_TRUE(fj["enrolment_only"].get<bool>());
  std::string cookie = cookie_of(first), csrf = fj["csrf_token"];
  EXPECT_EQ(c->Request("GET", "/v1/access/requests", "", {{"Cookie", cookie}})->status, 403);
  auto enrol = c->Request("POST", "/v1/auth/totp", "", {{"Cookie", cookie}, {"X-CSRF-Token", csrf}});
  ASSERT_EQ(enrol->status, 200) << enrol->body;
  std::string secret = *crypto::Base32Decode((*ParseJson(enrol->body))["secret_base32"].get<std::string>());
  auto code_at = [&](int64_t t) { return *crypto::TotpCode(secret, t); };
  int64_t now = UnixSeconds(SystemNow());
  auto confirm = c->Request("POST", "/v1/auth/totp/confirm", Json{{"code", code_at(now)}}.dump(),
                            {{"Cookie", cookie}, {"X-CSRF-Token", csrf}, {"Content-Type", "application/json"}});
  ASSERT_EQ(confirm->status, 204) << confirm->body;
  // Confirming ended every session; sign in again with the next code (a step is single use).
  auto full = signin("correct horse battery", code_at(now + 30));
  ASSERT_EQ(full.status, 200) << full.body;
  auto j = *ParseJson(full.body);
  EXPECT_TRUE(j["mfa"].get<bool>());
  EXPECT_FALSE(j["enrolment_only"].get<bool>());
  cookie = cookie_of(full);
  csrf = j["csrf_token"];
  auto me = c->Request("GET", "/v1/auth/me", "", {{"Cookie", cookie}});
  ASSERT_EQ(me->status, 200);
  EXPECT_EQ((*ParseJson(me->body))["principal"], "erin");
  EXPECT_EQ(c->Request("GET", "/v1/access/requests", "", {{"Cookie", cookie}})->status, 200);

  // A write with the cookie alone (what a cross-site form would send) is refused.
  auto req = c->Request("POST", "/v1/access/requests",
                        R"({"resources":["sh-node-01"],"actions":["exec"],"reason":"maintenance","justification":"x"})",
                        {{"Authorization", token("alice")}, {"Content-Type", "application/json"}});
  ASSERT_EQ(req->status, 201) << req->body;
  std::string id = (*ParseJson(req->body))["id"];
  std::string review = R"({"decision":"approve"})";
  auto no_csrf = c->Request("POST", "/v1/access/requests/" + id + "/reviews", review, {{"Cookie", cookie}, {"Content-Type", "application/json"}});
  EXPECT_EQ(no_csrf->status, 403);
  EXPECT_NE(no_csrf->body.find("CSRF"), std::string::npos);
  auto ok = c->Request("POST", "/v1/access/requests/" + id + "/reviews", review,
                       {{"Cookie", cookie}, {"X-CSRF-Token", csrf}, {"Content-Type", "application/json"}});
  EXPECT_EQ(ok->status, 200) << ok->body;

  // Sign-out ends the session.
  EXPECT_EQ(c->Request("POST", "/v1/auth/signout", "", {{"Cookie", cookie}, {"X-CSRF-Token", csrf}})->status, 204);
  EXPECT_EQ(c->Request("GET", "/v1/auth/me", "", {{"Cookie", cookie}})->status, 401);

  // Repeated failures: the back-off doubles (1 s, 2 s, 4 s, …), so rapid attempts soon get
  // 429 with a Retry-After, however slow this machine is.
  bool throttled = false;
  for (int i = 0; i < 10 && !throttled; ++i) {
    auto bad = signin("not the password", "");
    throttled = bad.status == 429;
    if (throttled) EXPECT_TRUE(bad.headers.count("retry-after"));
    else EXPECT_EQ(bad.status, 401);
  }
  EXPECT_TRUE(throttled);
}

}  // namespace
}  // namespace cloudpact
