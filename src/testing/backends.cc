#include "testing/backends.h"

#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <stdexcept>

namespace cloudpact::testing {
namespace {
std::atomic<int> g_counter{0};

std::string PgUrl() {
  const char* u = std::getenv("CLOUDPACT_TEST_PG_URL");
  return u ? u : "";
}

std::string Sanitize(const std::string& s) {
  std::string out;
  for (char c : s) out += (std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(c)) : '_');
  return out.substr(0, 40);
}
}  // namespace

std::vector<std::string> BackendNames() {
  std::vector<std::string> out = {"sqlite"};
  if (!PgUrl().empty()) out.push_back("postgresql");
  return out;
}

std::filesystem::path TempDir(const std::string& tag) {
  auto base = std::filesystem::temp_directory_path() /
              ("cloudpact-" + Sanitize(tag) + "-" + std::to_string(::getpid()) + "-" +
               std::to_string(g_counter++));
  std::filesystem::remove_all(base);
  std::filesystem::create_directories(base);
  return base;
}

std::string FreshStorageUrl(const std::string& backend, const std::string& tag) {
  if (backend == "sqlite") return "sqlite:" + (TempDir(tag) / "cloudpact.db").string();
  // One database per test: create it through the maintenance URL.
  std::string base = PgUrl();
  std::string db = "t_" + Sanitize(tag) + "_" + std::to_string(::getpid()) + "_" + std::to_string(g_counter++);
  PGconn* c = PQconnectdb(base.c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(c);
    PQfinish(c);
    throw std::runtime_error("cannot connect to test PostgreSQL: " + msg);
  }
  PQclear(PQexec(c, ("DROP DATABASE IF EXISTS " + db).c_str()));
  PGresult* r = PQexec(c, ("CREATE DATABASE " + db).c_str());
  bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  std::string msg = PQerrorMessage(c);
  PQclear(r);
  PQfinish(c);
  if (!ok) throw std::runtime_error("cannot create test database: " + msg);
  // Replace the database name in the URL: postgresql://user@host:port/NAME?params
  size_t q = base.find('?');
  std::string params = q == std::string::npos ? "" : base.substr(q);
  std::string head = base.substr(0, q);
  size_t slash = head.find('/', head.find("//") + 2);
  head = (slash == std::string::npos ? head : head.substr(0, slash)) + "/" + db;
  return head + params;
}

std::unique_ptr<storage::Storage> OpenFresh(const std::string& backend, const std::string& tag) {
  auto s = storage::Storage::Open(FreshStorageUrl(backend, tag));
  if (!s.ok()) throw std::runtime_error("cannot open storage: " + s.error().message);
  return std::move(s).value();
}

}  // namespace cloudpact::testing
