#include "ledger/tiles.h"
#include "ledger/verifier.h"
#include "net/http_client.h"

namespace cloudpact::ledger {
namespace {

class HttpSource final : public TileSource {
 public:
  explicit HttpSource(std::unique_ptr<net::HttpClient> client) : client_(std::move(client)) {}
  Result<std::string> Get(const std::string& path) override {
    ASSIGN_OR_RETURN(net::HttpResponse r, client_->Request("GET", "/" + path, "", {}, kMaxBundleBytes));
    if (r.status == 404) return MakeError(ErrorCode::kNotFound, path + ": not found (404)");
    if (r.status != 200) {
      return MakeError(ErrorCode::kUnavailable, path + ": HTTP " + std::to_string(r.status));
    }
    return std::move(r.body);
  }

 private:
  std::unique_ptr<net::HttpClient> client_;
};

}  // namespace

Result<std::unique_ptr<TileSource>> HttpTileSource(const std::string& url) {
  ASSIGN_OR_RETURN(auto client, net::HttpClient::Create(url));
  return std::unique_ptr<TileSource>(new HttpSource(std::move(client)));
}

}  // namespace cloudpact::ledger
