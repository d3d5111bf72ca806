// The HTTP API over a real socket: authentication, permissions, bounds and error shapes.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "api/api.h"
#include "api/http_server.h"
#include "core/encoding.h"
#include "ledger/verifier.h"
#include "net/http_client.h"
#include "testing/backends.h"

namespace cloudpact::api {
namespace {

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = testing::OpenFresh("sqlite", "api");
    signer_ = std::make_unique<crypto::NoteSigner>("api.test/log", crypto::Ed25519PrivateKey::Generate());
    auto l = ledger::Ledger::Open(*store_, *signer_, {});
    ASSERT_TRUE(l.ok());
    ledger_ = std::move(l).value();
    auth_ = std::make_unique<Authenticator>(*store_);
    admin_ = auth_->Issue("admin", AllPermissions(), 0)->secret;
    reader_ = auth_->Issue("reader", {}, 0)->secret;
    api_ = std::make_unique<Api>(*ledger_, *auth_, ApiOptions{4096});
    HttpServerOptions o;
    o.listen = "127.0.0.1:0";
    o.max_body = 4096;
    auto s = HttpServer::Start(*api_, o);
    ASSERT_TRUE(s.ok()) << s.error().message;
    server_ = std::move(s).value();
    client_ = std::move(net::HttpClient::Create(server_->url()).value());
  }
  void TearDown() override {
    if (server_) server_->Shutdown(std::chrono::milliseconds(100));
  }

  net::HttpResponse Call(const std::string& method, const std::string& path, const std::string& body = "",
                         const std::string& token = "") {
    std::map<std::string, std::string> h;
    if (!token.empty()) h["Authorization"] = "Bearer " + token;
    if (!body.empty()) h["Content-Type"] = "application/json";
    auto r = client_->Request(method, path, body, h);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : net::HttpResponse{};
  }
  static std::string ErrorCodeOf(const net::HttpResponse& r) {
    auto j = ParseJson(r.body);
    if (!j.ok() || !j->contains("error")) return "<not a JSON error: " + r.body + ">";
    return (*j)["error"]["code"].get<std::string>();
  }

  std::unique_ptr<storage::Storage> store_;
  std::unique_ptr<crypto::NoteSigner> signer_;
  std::unique_ptr<ledger::Ledger> ledger_;
  std::unique_ptr<Authenticator> auth_;
  std::unique_ptr<Api> api_;
  std::unique_ptr<HttpServer> server_;
  std::unique_ptr<net::HttpClient> client_;
  std::string admin_, reader_;
};

TEST(Permissions, EveryNamedPermissionCanBeGranted) {
  for (const char* p : {perm::kLedgerAppend, perm::kLedgerReadConfidential, perm::kLedgerErase, perm::kTokensCreate,
                        perm::kAccessRequest, perm::kAccessReview, perm::kAccessRevoke, perm::kAccessBreakGlass,
                        perm::kAuthzCheck, perm::kDirectoryRead, perm::kDirectoryWrite, perm::kPolicyPropose,
                        perm::kPolicyApprove, perm::kPostureRead, perm::kTenantRead}) {
    EXPECT_EQ(std::count(AllPermissions().begin(), AllPermissions().end(), p), 1) << p;
  }
}

TEST_F(ApiTest, AppendNeedsTokenAndPermission) {
  const std::string body = R"({"type":"test.entry","body":{"x":1}})";
  auto r = Call("POST", "/v1/ledger/entries", body);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(ErrorCodeOf(r), "unauthenticated");
  r = Call("POST", "/v1/ledger/entries", body, "cpt_not-a-real-token");
  EXPECT_EQ(r.status, 401);
  r = Call("POST", "/v1/ledger/entries", body, reader_);
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(ErrorCodeOf(r), "permission_denied");
  r = Call("POST", "/v1/ledger/entries", body, admin_);
  ASSERT_EQ(r.status, 201) << r.body;
  auto j = *ParseJson(r.body);
  EXPECT_EQ(j["index"], 0);
  EXPECT_EQ(j["leaf_hash"], HexEncode(crypto::AsBytes(ledger::LeafHash(*ledger_->ReadEntry(0)))));
  EXPECT_NE(ledger_->ReadEntry(0)->find("\"actor\":\"admin\""), std::string::npos);
}

TEST_F(ApiTest, BadInputIsAClearErrorAndWritesNothing) {
  struct Case {
    std::string body;
    int status;
    std::string code;
  } cases[] = {
      {"{not json", 400, "invalid_argument"},
      {"[]", 400, "invalid_argument"},
      {R"({"type":1,"body":{}})", 400, "invalid_argument"},
      {R"({"type":"t","body":"x"})", 400, "invalid_argument"},
      {R"({"type":"t"})", 400, "invalid_argument"},
      {R"({"type":"t","body":{},"extra":1})", 400, "invalid_argument"},
      {R"({"type":"t","body":{},"type":"u"})", 400, "invalid_argument"},
      {R"({"type":"Has Spaces","body":{}})", 400, "invalid_argument"},
      {R"({"type":"t","body":{},"confidential":[1]})", 400, "invalid_argument"},
      {R"({"type":"t","body":{"n":1e400}})", 400, "invalid_argument"},
      {"{\"type\":\"t\",\"body\":{\"s\":\"\xff\"}}", 400, "invalid_argument"},
      {R"({"type":"t","body":{"pad":")" + std::string(5000, 'a') + "\"}}", 413, "payload_too_large"},
  };
  for (const auto& c : cases) {
    auto r = Call("POST", "/v1/ledger/entries", c.body, admin_);
    EXPECT_EQ(r.status, c.status) << c.body.substr(0, 60) << " -> " << r.body;
    EXPECT_EQ(ErrorCodeOf(r), c.code) << c.body.substr(0, 60);
    client_ = std::move(net::HttpClient::Create(server_->url()).value());  // 413 closes the connection
  }
  EXPECT_EQ(ledger_->Size(), 0u);
  auto r = client_->Request("POST", "/v1/ledger/entries", R"({"type":"t","body":{}})",
                            {{"Authorization", "Bearer " + admin_}, {"Content-Type", "text/plain"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 400);
}

TEST_F(ApiTest, ReadEndpointsAndRanges) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(Call("POST", "/v1/ledger/entries", R"({"type":"t","body":{"i":)" + std::to_string(i) + "}}", admin_).status, 201);
  }
  ASSERT_TRUE(ledger_->PublishCheckpoint().ok());
  auto info = *ParseJson(Call("GET", "/v1/ledger/info").body);
  EXPECT_EQ(info["origin"], "api.test/log");
  EXPECT_EQ(info["verifier_key"], signer_->Verifier().ToString());
  EXPECT_EQ(info["size"], 5);

  auto e = Call("GET", "/v1/ledger/entries/3");
  ASSERT_EQ(e.status, 200);
  auto ej = *ParseJson(e.body);
  std::string bytes = *Base64Decode(ej["entry_base64"].get<std::string>());
  std::vector<ledger::Hash> proof;
  for (const auto& h : ej["inclusion_proof"]) {
    auto raw = *Base64Decode(h.get<std::string>());
    ledger::Hash hh;
    std::copy(raw.begin(), raw.end(), hh.begin());
    proof.push_back(hh);
  }
  EXPECT_TRUE(ledger::VerifyInclusion(3, 5, ledger::LeafHash(bytes), proof, ledger_->LatestCheckpoint().root).ok());

  EXPECT_EQ(Call("GET", "/v1/ledger/entries/5").status, 404);
  EXPECT_EQ(Call("GET", "/v1/ledger/entries/abc").status, 404);
  EXPECT_EQ(Call("GET", "/v1/ledger/entries/99999999999999999999999").status, 404);
  EXPECT_EQ(Call("GET", "/v1/ledger/proof/inclusion?index=1&size=5").status, 200);
  EXPECT_EQ(Call("GET", "/v1/ledger/proof/inclusion?index=5&size=5").status, 400);
  EXPECT_EQ(Call("GET", "/v1/ledger/proof/inclusion?index=1&size=6").status, 400);
  EXPECT_EQ(Call("GET", "/v1/ledger/proof/inclusion?index=-1&size=5").status, 400);
  EXPECT_EQ(Call("GET", "/v1/ledger/proof/inclusion?size=5").status, 400);
  EXPECT_EQ(Call("GET", "/v1/ledger/proof/inclusion?index=%zz&size=5").status, 400);
  auto c = Call("GET", "/v1/ledger/proof/consistency?from=2&to=5");
  ASSERT_EQ(c.status, 200);
  EXPECT_EQ((*ParseJson(c.body))["hashes"].size(), ledger_->ConsistencyProof(2, 5)->size());
  EXPECT_EQ(Call("GET", "/v1/ledger/proof/consistency?from=6&to=5").status, 400);

  auto cp = Call("GET", "/ledger/checkpoint");
  EXPECT_EQ(cp.status, 200);
  EXPECT_EQ(cp.headers["content-type"], "text/plain; charset=utf-8");
  auto tile = Call("GET", "/ledger/tile/0/000.p/5");
  EXPECT_EQ(tile.status, 200);
  EXPECT_EQ(tile.body.size(), 5u * 32);
  EXPECT_EQ(tile.headers["content-type"], "application/octet-stream");
  EXPECT_NE(tile.headers["cache-control"].find("immutable"), std::string::npos);
  EXPECT_EQ(Call("GET", "/ledger/tile/entries/000.p/5").status, 200);
  for (const char* bad : {"/ledger/tile/0/000.p/6", "/ledger/tile/0/000", "/ledger/tile/0/00.p/5",
                          "/ledger/tile/00/000.p/5", "/ledger/tile/0/000.p/0", "/ledger/tile/x/000",
                          "/ledger/tile/64/000.p/1", "/ledger/tile/entries/000.p/256"}) {
    EXPECT_EQ(Call("GET", bad).status, 404) << bad;
  }
  EXPECT_EQ(Call("DELETE", "/ledger/checkpoint").status, 405);
  EXPECT_EQ(Call("GET", "/nowhere").status, 404);
  auto health = *ParseJson(Call("GET", "/healthz").body);
  EXPECT_EQ(health["status"], "ok");
  auto metrics = Call("GET", "/metrics");
  EXPECT_NE(metrics.body.find("cloudpact_ledger_appends_total"), std::string::npos);
  EXPECT_NE(metrics.body.find("cloudpact_ledger_append_latency_seconds_bucket"), std::string::npos);
}

TEST_F(ApiTest, ConfidentialPartNeedsPermissionAndErasureIsRecorded) {
  auto r = Call("POST", "/v1/ledger/entries",
                R"({"type":"gateway.command","body":{"s":1},"confidential":{"command":"cat /etc/shadow"}})", admin_);
  ASSERT_EQ(r.status, 201);
  auto anon = Call("GET", "/v1/ledger/entries/0");
  EXPECT_EQ(anon.body.find("shadow"), std::string::npos);
  EXPECT_EQ(Call("GET", "/v1/ledger/entries/0", "", reader_).status, 403);
  auto full = *ParseJson(Call("GET", "/v1/ledger/entries/0", "", admin_).body);
  EXPECT_EQ(full["confidential"]["content"]["command"], "cat /etc/shadow");

  EXPECT_EQ(Call("DELETE", "/v1/ledger/entries/0/confidential", R"({"reason":"x"})", reader_).status, 403);
  EXPECT_EQ(Call("DELETE", "/v1/ledger/entries/0/confidential", R"({})", admin_).status, 400);
  auto del = Call("DELETE", "/v1/ledger/entries/0/confidential", R"({"reason":"retention"})", admin_);
  ASSERT_EQ(del.status, 200) << del.body;
  EXPECT_EQ((*ParseJson(del.body))["erasure_entry_index"], 1);
  full = *ParseJson(Call("GET", "/v1/ledger/entries/0", "", admin_).body);
  EXPECT_EQ(full["confidential"]["erased"], true);
  EXPECT_EQ(Call("DELETE", "/v1/ledger/entries/0/confidential", R"({"reason":"again"})", admin_).status, 404);
}

TEST_F(ApiTest, TokensCannotEscalate) {
  auto limited = auth_->Issue("limited", {perm::kTokensCreate}, 0)->secret;
  auto r = Call("POST", "/v1/tokens", R"({"name":"x","permissions":["ledger:append"]})", limited);
  EXPECT_EQ(r.status, 403);
  r = Call("POST", "/v1/tokens", R"({"name":"appender","permissions":["ledger:append"],"expires_in_seconds":60})", admin_);
  ASSERT_EQ(r.status, 201) << r.body;
  auto issued = *ParseJson(r.body);
  std::string secret = issued["token"];
  // The issuance is evidence: in the ledger, naming the issuer, never the secret.
  auto record = ledger_->ReadEntry(issued["ledger_index"].get<uint64_t>());
  ASSERT_TRUE(record.ok());
  auto rj = *ParseJson(*record);
  EXPECT_EQ(rj["type"], "token.issued");
  EXPECT_EQ(rj["actor"], "admin");
  EXPECT_EQ(rj["body"]["token_id"], issued["id"]);
  EXPECT_EQ(record->find(secret), std::string::npos);
  EXPECT_EQ(Call("POST", "/v1/ledger/entries", R"({"type":"t","body":{}})", secret).status, 201);
  EXPECT_EQ(Call("POST", "/v1/tokens", R"({"name":"y","permissions":["nope"]})", admin_).status, 403);
  // Only the hash is stored: nothing in storage equals or contains the secret.
  bool found = false;
  auto tokens = store_->ListTokens();
  ASSERT_TRUE(tokens.ok());
  for (const auto& t : *tokens) {
    EXPECT_EQ(t.id.find(secret), std::string::npos);
    EXPECT_EQ(std::string(crypto::AsBytes(t.secret_hash)).find(secret), std::string::npos);
    found |= t.name == "appender" && t.secret_hash == crypto::Sha256(secret);
  }
  EXPECT_TRUE(found);
  auto expired = auth_->Issue("old", {perm::kLedgerAppend}, 1)->secret;
  EXPECT_EQ(Call("POST", "/v1/ledger/entries", R"({"type":"t","body":{}})", expired).status, 401);
}

TEST_F(ApiTest, VerifierAcceptsTheServedLog) {
  for (int i = 0; i < 300; ++i) {
    ASSERT_EQ(Call("POST", "/v1/ledger/entries", R"({"type":"t","body":{"i":)" + std::to_string(i) + "}}", admin_).status, 201);
  }
  ASSERT_TRUE(ledger_->PublishCheckpoint().ok());
  auto src = ledger::HttpTileSource(server_->url() + "/ledger");
  ASSERT_TRUE(src.ok());
  auto report = ledger::VerifyLog(**src, signer_->Verifier(), {});
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_EQ(report->checkpoint.size, 300u);
  EXPECT_EQ(report->entries_checked, 300u);
}

// The modules an HttpServer needs, for tests of the transport alone.
struct Stack {
  explicit Stack(const std::string& tag)
      : store(testing::OpenFresh("sqlite", tag)),
        ledger(std::move(ledger::Ledger::Open(*store, crypto::NoteSigner("x/log", crypto::Ed25519PrivateKey::Generate()), {}).value())),
        auth(*store),
        api(*ledger, auth) {}
  std::unique_ptr<storage::Storage> store;
  std::unique_ptr<ledger::Ledger> ledger;
  Authenticator auth;
  Api api;
};

TEST(HttpServerTest, RefusesPlainHttpOffLoopback) {
  Stack stack("refuse");
  Api& api = stack.api;
  HttpServerOptions o;
  o.listen = "0.0.0.0:0";
  auto s = HttpServer::Start(api, o);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(s.error().message.find("--tls-cert"), std::string::npos);
  EXPECT_TRUE(IsLoopbackHost("127.0.0.2"));
  EXPECT_TRUE(IsLoopbackHost("::1"));
  EXPECT_FALSE(IsLoopbackHost("10.0.0.1"));
  o.tls_cert = "/nonexistent.pem";
  s = HttpServer::Start(api, o);
  ASSERT_FALSE(s.ok());  // only one of the pair
  o.tls_key = "/nonexistent.key";
  s = HttpServer::Start(api, o);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
}

TEST(HttpServerTest, ServesTlsWithACertificate) {
  auto dir = testing::TempDir("tls");
  std::string cmd = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost "
                    "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout " + (dir / "key.pem").string() +
                    " -out " + (dir / "cert.pem").string() + " 2>/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "openssl CLI is needed (installed by scripts/setup.sh)";
  Stack stack("tls");
  Api& api = stack.api;
  HttpServerOptions o;
  o.listen = "127.0.0.1:0";
  o.tls_cert = (dir / "cert.pem").string();
  o.tls_key = (dir / "key.pem").string();
  auto s = HttpServer::Start(api, o);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ((*s)->url().rfind("https://", 0), 0u);
  // An unverifiable certificate is refused by our client; trusting it, requests work.
  auto client = net::HttpClient::Create((*s)->url());
  ASSERT_TRUE(client.ok());
  EXPECT_FALSE((*client)->Request("GET", "/healthz").ok());
  auto trusting = net::HttpClient::Create((*s)->url(), (dir / "cert.pem").string());
  ASSERT_TRUE(trusting.ok());
  auto ok = (*trusting)->Request("GET", "/healthz");
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->status, 200);
  // ...and the server really speaks TLS: plain HTTP to it gets no HTTP answer.
  auto plain = net::HttpClient::Create("http://127.0.0.1:" + std::to_string((*s)->port()));
  auto pr = (*plain)->Request("GET", "/healthz");
  EXPECT_TRUE(!pr.ok() || pr->status != 200);
  (*s)->Shutdown(std::chrono::milliseconds(100));
}

}  // namespace
}  // namespace cloudpact::api
