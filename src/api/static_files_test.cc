// The web console's file serving: what is served, with which type and headers, what falls
// back to index.html, and that nothing outside the console directory can ever be reached.
#include "api/static_files.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "api/api.h"
#include "api/http_server.h"
#include "net/http_client.h"
#include "testing/backends.h"

namespace cloudpact::api {
namespace {

namespace fs = std::filesystem;

constexpr const char* kIndex = "<!doctype html><title>cloudpact console</title><script type=module src=/assets/index-1a2b3c4d.js></script>";
constexpr const char* kSecret = "SECRET-OUTSIDE-THE-CONSOLE";
constexpr const char* kCsp =
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

void Write(const fs::path& p, const std::string& content) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << content;
}

// TMP/outside/secret.txt next to TMP/dist/ — the console — which holds what Vite emits plus
// the ways a directory can point outside itself.
struct ConsoleTree {
  fs::path base = testing::TempDir("static-files");
  fs::path dist = base / "dist";
  ConsoleTree() {
    Write(base / "secret.txt", kSecret);
    Write(base / "outside" / "secret.txt", kSecret);
    Write(dist / "index.html", kIndex);
    Write(dist / "assets" / "index-1a2b3c4d.js", "console.log('console')");
    Write(dist / "assets" / "index-1a2b3c4d.js.map", "{\"version\":3}");
    Write(dist / "assets" / "index-5e6f7a8b.css", "body{margin:0}");
    Write(dist / "assets" / "noto-9c0d.woff2", std::string("wOF2\0\1", 6));
    Write(dist / "favicon.svg", "<svg xmlns=\"http://www.w3.org/2000/svg\"/>");
    Write(dist / "logo.png", std::string("\x89PNG\r\n\x1a\n", 8));
    Write(dist / "locales" / "zh-CN.json", "{\"hello\":\"你好\"}");
    Write(dist / "with space.txt", "spaced");
    Write(dist / ".vite" / "manifest.json", "{}");
    Write(dist / ".env", "HIDDEN=1");
    fs::create_symlink(base / "secret.txt", dist / "escape.txt");           // absolute, outside
    fs::create_symlink("../secret.txt", dist / "assets" / "relative.js");   // relative, still outside
    fs::create_directory_symlink(base / "outside", dist / "outside");      // a directory outside
    fs::create_symlink("index-1a2b3c4d.js", dist / "assets" / "alias.js");  // inside: fine
  }
};

class StaticFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto f = StaticFiles::Load(tree_.dist);
    ASSERT_TRUE(f.ok()) << f.error().message;
    files_ = std::move(f).value();
    store_ = testing::OpenFresh("sqlite", "static-files");
    auto l = ledger::Ledger::Open(*store_, crypto::NoteSigner("static.test/log", crypto::Ed25519PrivateKey::Generate()), {});
    ASSERT_TRUE(l.ok()) << l.error().message;
    ledger_ = std::move(l).value();
    auth_ = std::make_unique<Authenticator>(*store_);
    api_ = std::make_unique<Api>(*ledger_, *auth_);
    api_->SetStaticFiles(files_.get());
  }

  // Through Api::Handle, as the transport calls it: the path exactly as it came on the wire.
  Response Get(const std::string& path, const std::string& method = "GET",
               std::map<std::string, std::string> headers = {}) {
    Request r;
    r.method = method;
    r.path = path;
    r.headers = std::move(headers);
    Response out;
    bool answered = false;
    api_->Handle(r, [&](Response res) {
      out = std::move(res);
      answered = true;
    });
    EXPECT_TRUE(answered) << path;
    return out;
  }
  static std::string Header(const Response& r, const std::string& name) {
    auto it = r.headers.find(name);
    return it == r.headers.end() ? "" : it->second;
  }

  ConsoleTree tree_;
  std::unique_ptr<StaticFiles> files_;
  std::unique_ptr<storage::Storage> store_;
  std::unique_ptr<ledger::Ledger> ledger_;
  std::unique_ptr<Authenticator> auth_;
  std::unique_ptr<Api> api_;
};

TEST_F(StaticFilesTest, ServesEachFileWithItsContentType) {
  const std::pair<const char*, const char*> cases[] = {
      {"/index.html", "text/html; charset=utf-8"},
      {"/assets/index-1a2b3c4d.js", "text/javascript; charset=utf-8"},
      {"/assets/index-5e6f7a8b.css", "text/css; charset=utf-8"},
      {"/assets/index-1a2b3c4d.js.map", "application/json"},
      {"/assets/noto-9c0d.woff2", "font/woff2"},
      {"/favicon.svg", "image/svg+xml"},
      {"/logo.png", "image/png"},
      {"/locales/zh-CN.json", "application/json"},
  };
  for (const auto& [path, type] : cases) {
    Response r = Get(path);
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    EXPECT_EQ(r.content_type, type) << path;
    EXPECT_EQ(Header(r, "x-content-type-options"), "nosniff") << path;
  }
  EXPECT_EQ(Get("/assets/index-5e6f7a8b.css").body, "body{margin:0}");
  EXPECT_EQ(Get("/logo.png").body, std::string("\x89PNG\r\n\x1a\n", 8));  // binary intact
  EXPECT_EQ(Get("/with%20space.txt").body, "spaced");                      // names are percent-decoded
  EXPECT_EQ(StaticFiles::ContentType("a/b.JS"), "text/javascript; charset=utf-8");
  EXPECT_EQ(StaticFiles::ContentType("noext"), "application/octet-stream");
  EXPECT_EQ(StaticFiles::ContentType("dir.v2/noext"), "application/octet-stream");
}

TEST_F(StaticFilesTest, RootAndSpaRoutesAnswerIndexWithStrictHeaders) {
  for (const char* path : {"/", "/index.html", "/approvals", "/tenant/acme/transparency", "/requests/req_01/",
                           "/zh-CN/approvals"}) {
    Response r = Get(path);
    EXPECT_EQ(r.status, 200) << path;
    EXPECT_EQ(r.body, kIndex) << path;
    EXPECT_EQ(r.content_type, "text/html; charset=utf-8") << path;
    EXPECT_EQ(Header(r, "content-security-policy"), kCsp) << path;
    EXPECT_EQ(Header(r, "x-content-type-options"), "nosniff") << path;
    EXPECT_EQ(Header(r, "referrer-policy"), "no-referrer") << path;
    // index.html names the current hashed assets, so it must be revalidated every time.
    EXPECT_EQ(Header(r, "cache-control"), "no-cache") << path;
  }
}

TEST_F(StaticFilesTest, HashedAssetsAreImmutableOthersRevalidate) {
  EXPECT_EQ(Header(Get("/assets/index-1a2b3c4d.js"), "cache-control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(Header(Get("/assets/noto-9c0d.woff2"), "cache-control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(Header(Get("/favicon.svg"), "cache-control"), "no-cache");
  // Only HTML carries the page policy.
  EXPECT_EQ(Header(Get("/assets/index-1a2b3c4d.js"), "content-security-policy"), "");
}

TEST_F(StaticFilesTest, RevalidationWithTheETagAnswers304WithoutBody) {
  Response first = Get("/");
  std::string etag = Header(first, "etag");
  ASSERT_FALSE(etag.empty());
  Response again = Get("/", "GET", {{"if-none-match", etag}});
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  EXPECT_EQ(Header(again, "etag"), etag);
  EXPECT_EQ(Get("/", "GET", {{"if-none-match", "\"stale\""}}).status, 200);
  // Different files, different tags.
  EXPECT_NE(Header(Get("/favicon.svg"), "etag"), etag);
}

TEST_F(StaticFilesTest, ApiAndLedgerPathsKeepTheirOwnAnswers) {
  for (const char* path : {"/v1", "/v1/", "/v1/no-such-route", "/v1/console/approvals", "/ledger/nope",
                           "/healthz/x", "/metrics/x"}) {
    Response r = Get(path);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(r.content_type, "application/json") << path;
    EXPECT_NE(r.body.find("no route for"), std::string::npos) << path << ": " << r.body;
  }
  // Real routes are untouched.
  EXPECT_EQ(Get("/healthz").status, 200);
  EXPECT_EQ(Get("/metrics").content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(Get("/v1/ledger/info").status, 200);
  EXPECT_EQ(Get("/v1/ledger/entries", "POST").status, 401);
  // A traversal that starts under /v1 is the API's 404, never a file.
  EXPECT_EQ(Get("/v1/../index.html").status, 404);
}

TEST_F(StaticFilesTest, DottedNamesThatAreNotFilesAre404NotIndex) {
  for (const char* path : {"/missing.js", "/assets/index-00000000.js", "/robots.txt", "/assets/"}) {
    Response r = Get(path);
    if (std::string(path) == "/assets/") {  // a directory with a trailing slash is a route
      EXPECT_EQ(r.body, kIndex);
      continue;
    }
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(r.body.find("<!doctype"), std::string::npos) << path;
  }
}

TEST_F(StaticFilesTest, OnlyGetAndHead) {
  for (const char* method : {"POST", "PUT", "DELETE", "PATCH", "OPTIONS"}) {
    Response r = Get("/", method);
    EXPECT_EQ(r.status, 405) << method;
    EXPECT_EQ(Header(r, "allow"), "GET, HEAD") << method;
    EXPECT_EQ(Get("/assets/index-1a2b3c4d.js", method).status, 405) << method;
  }
  EXPECT_EQ(Get("/", "HEAD").status, 200);
  EXPECT_EQ(Get("/", "HEAD").content_type, "text/html; charset=utf-8");
}

// Whatever the request says, nothing outside dist/ comes back: traversal segments, their
// encodings, backslashes and NULs are refused outright (400), and symlinks that leave the
// directory were never loaded.
TEST_F(StaticFilesTest, TraversalIsRefused) {
  for (const char* path : {"/..", "/../secret.txt", "/assets/../../secret.txt", "/./index.html",
                           "/%2e%2e/secret.txt", "/%2E%2E/secret.txt", "/.%2e/secret.txt", "/..%2fsecret.txt",
                           "/assets%2f..%2f..%2fsecret.txt", "/%2e%2e%5csecret.txt", "/..\\secret.txt",
                           "/assets\\..\\..\\secret.txt", "/index.html%00.js", "/%00", "/a%0d%0aSet-Cookie:x",
                           "/%zz", "/%2", "/%"}) {
    Response r = Get(path);
    EXPECT_EQ(r.status, 400) << path << ": " << r.body;
    EXPECT_EQ(r.body.find(kSecret), std::string::npos) << path;
  }
  std::string nul("/index.html\0.js", 15);
  EXPECT_EQ(Get(nul).status, 400);
}

TEST_F(StaticFilesTest, SymlinksOutsideTheRootAreNeverServed) {
  for (const char* path : {"/escape.txt", "/assets/relative.js", "/outside/secret.txt"}) {
    Response r = Get(path);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(r.body.find(kSecret), std::string::npos) << path;
  }
  // Inside the root a symlink is an ordinary file.
  EXPECT_EQ(Get("/assets/alias.js").body, "console.log('console')");
  // Dot-files (Vite's manifest, env files) are not part of the console.
  EXPECT_EQ(Get("/.vite/manifest.json").status, 404);
  EXPECT_EQ(Get("/.env").status, 404);
  EXPECT_EQ(Get("/.env").body.find("HIDDEN"), std::string::npos);
}

TEST_F(StaticFilesTest, RequestsNeverTouchTheDisk) {
  size_t n = files_->file_count();
  EXPECT_EQ(n, 10u);  // 9 written, plus the inside symlink
  fs::remove_all(tree_.dist);
  EXPECT_EQ(Get("/").body, kIndex);
  EXPECT_EQ(Get("/assets/index-5e6f7a8b.css").body, "body{margin:0}");
}

TEST(StaticFilesLoad, RefusesWhatIsNotABuiltConsole) {
  auto base = testing::TempDir("static-files-load");
  auto missing = StaticFiles::Load(base / "nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  Write(base / "empty" / "main.js", "x");
  auto no_index = StaticFiles::Load(base / "empty");
  ASSERT_FALSE(no_index.ok());
  EXPECT_NE(no_index.error().message.find("index.html"), std::string::npos);
  // An explicit --console-dir that holds no console stops the start, naming the flag.
  auto flagged = StaticFiles::ForServe((base / "nope").string());
  ASSERT_FALSE(flagged.ok());
  EXPECT_NE(flagged.error().message.find("--console-dir"), std::string::npos);
}

TEST(StaticFilesLoad, SizeBoundsSkipFilesButKeepTheRest) {
  auto base = testing::TempDir("static-files-bounds");
  Write(base / "index.html", "<!doctype html>");
  Write(base / "assets" / "big-1.js", std::string(2000, 'x'));
  Write(base / "assets" / "small-1.js", std::string(100, 'y'));
  StaticFilesOptions o;
  o.max_file_bytes = 1000;
  auto f = StaticFiles::Load(base, o);
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ((*f)->file_count(), 2u);  // index.html and small-1.js
  EXPECT_EQ((*f)->total_bytes(), 15u + 100u);

  o = {};
  Write(base / "assets" / "other-1.js", std::string(100, 'z'));
  o.max_total_bytes = 15 + 100;  // index.html and one of the two small files, whichever comes first
  auto g = StaticFiles::Load(base, o);
  ASSERT_TRUE(g.ok()) << g.error().message;
  EXPECT_EQ((*g)->file_count(), 2u);
  EXPECT_EQ((*g)->total_bytes(), 115u);

  o = {};
  o.max_files = 1;
  auto h = StaticFiles::Load(base, o);
  // The one slot goes to whichever file is listed first; without index.html it is no console.
  if (h.ok()) EXPECT_EQ((*h)->file_count(), 1u);
  else EXPECT_EQ(h.error().code, ErrorCode::kNotFound);
}

// No console built: the start goes on, "/" explains how to build it in both languages, and
// the API is unchanged.
TEST(StaticFilesPlaceholder, ExplainsHowToBuildTheConsole) {
  auto files = StaticFiles::Placeholder();
  EXPECT_TRUE(files->placeholder());
  auto answer = [&](const std::string& path, const std::string& method = "GET") {
    Request r;
    r.method = method;
    r.path = path;
    std::optional<Response> out;
    bool handled = files->Handle(r, [&](Response res) { out = std::move(res); });
    return std::make_pair(handled, out);
  };
  for (const char* path : {"/", "/approvals"}) {
    auto [handled, res] = answer(path);
    ASSERT_TRUE(handled && res) << path;
    EXPECT_EQ(res->status, 404);
    EXPECT_EQ(res->content_type, "text/plain; charset=utf-8");
    EXPECT_NE(res->body.find("make run"), std::string::npos);
    EXPECT_NE(res->body.find("scripts/setup.sh"), std::string::npos);
    EXPECT_NE(res->body.find("控制台尚未构建"), std::string::npos);
    EXPECT_NE(res->body.find("has not been built"), std::string::npos);
    EXPECT_EQ(res->headers["x-content-type-options"], "nosniff");
  }
  EXPECT_FALSE(answer("/v1/anything").first);
  EXPECT_FALSE(answer("/main.js").first);
  EXPECT_EQ(answer("/../x").second->status, 400);
}

// Through a real socket, as a browser gets it: Beast keeps the headers, HEAD has no body,
// 304 has none either, and the API next to the console still answers.
TEST_F(StaticFilesTest, OverHttp) {
  HttpServerOptions o;
  o.listen = "127.0.0.1:0";
  auto server = HttpServer::Start(*api_, o);
  ASSERT_TRUE(server.ok()) << server.error().message;
  auto client = net::HttpClient::Create((*server)->url());
  ASSERT_TRUE(client.ok());
  auto index = (*client)->Request("GET", "/tenant/acme");
  ASSERT_TRUE(index.ok()) << index.error().message;
  EXPECT_EQ(index->status, 200);
  EXPECT_EQ(index->body, kIndex);
  EXPECT_EQ(index->headers["content-type"], "text/html; charset=utf-8");
  EXPECT_EQ(index->headers["content-security-policy"], kCsp);
  EXPECT_EQ(index->headers["referrer-policy"], "no-referrer");
  EXPECT_EQ(index->headers["x-content-type-options"], "nosniff");

  auto head = (*client)->Request("HEAD", "/assets/index-1a2b3c4d.js");
  ASSERT_TRUE(head.ok()) << head.error().message;
  EXPECT_EQ(head->status, 200);
  EXPECT_TRUE(head->body.empty());
  EXPECT_EQ(head->headers["content-type"], "text/javascript; charset=utf-8");

  auto cached = (*client)->Request("GET", "/", "", {{"If-None-Match", index->headers["etag"]}});
  ASSERT_TRUE(cached.ok()) << cached.error().message;
  EXPECT_EQ(cached->status, 304);
  EXPECT_TRUE(cached->body.empty());

  for (const char* path : {"/%2e%2e/secret.txt", "/..%2f..%2fsecret.txt", "/../secret.txt", "/escape.txt"}) {
    auto r = (*client)->Request("GET", path);
    ASSERT_TRUE(r.ok()) << path << ": " << r.error().message;
    EXPECT_TRUE(r->status == 400 || r->status == 404) << path << ": " << r->status;
    EXPECT_EQ(r->body.find(kSecret), std::string::npos) << path;
  }
  auto info = (*client)->Request("GET", "/v1/ledger/info");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->status, 200);
  EXPECT_NE(info->body.find("static.test/log"), std::string::npos);
  (*server)->Shutdown(std::chrono::milliseconds(100));
}

}  // namespace
}  // namespace cloudpact::api
