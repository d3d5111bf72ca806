#include "net/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/version.hpp>

#include <optional>

namespace cloudpact::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

class BeastClient final : public HttpClient {
 public:
  explicit BeastClient(ParsedUrl url) : url_(std::move(url)), ssl_(asio::ssl::context::tls_client) {
    ssl_.set_verify_mode(asio::ssl::verify_peer);
  }
  Status TrustStore(const std::string& ca_file) {
    boost::system::error_code ec;
    if (ca_file.empty()) ssl_.set_default_verify_paths(ec);
    else ssl_.load_verify_file(ca_file, ec);
    if (ec) return MakeError(ErrorCode::kInvalidArgument, "cannot load CA certificates: " + ec.message());
    return OkStatus();
  }

  Result<HttpResponse> Request(const std::string& method, const std::string& path,
                               const std::string& body,
                               const std::map<std::string, std::string>& headers,
                               size_t max_body) override {
    // One retry: a keep-alive connection the server has since closed fails on first use.
    for (int attempt = 0; attempt < 2; ++attempt) {
      bool fresh = !connected_;
      auto r = RequestOnce(method, path, body, headers, max_body);
      if (r.ok() || fresh) return r;
      Close();
    }
    return MakeError(ErrorCode::kUnavailable, "http: request failed");
  }

 private:
  Result<HttpResponse> RequestOnce(const std::string& method, const std::string& path,
                                   const std::string& body,
                                   const std::map<std::string, std::string>& headers, size_t max_body) {
    try {
      if (!connected_) Connect();
      http::request<http::string_body> req(http::string_to_verb(method), url_.path + path, 11);
      req.set(http::field::host, url_.host);
      req.set(http::field::user_agent, "cloudpact");
      for (const auto& [k, v] : headers) req.set(k, v);
      if (!body.empty() || method == "POST" || method == "PUT") {
        req.body() = body;
        req.prepare_payload();
      }
      http::response_parser<http::string_body> parser;
      parser.body_limit(max_body);
      parser.header_limit(64 * 1024);
      beast::flat_buffer buffer;
      if (tls_) {
        beast::get_lowest_layer(*tls_).expires_after(timeout_);
        http::write(*tls_, req);
        http::read(*tls_, buffer, parser);
      } else {
        tcp_->expires_after(timeout_);
        http::write(*tcp_, req);
        http::read(*tcp_, buffer, parser);
      }
      auto res = parser.release();
      HttpResponse out;
      out.status = static_cast<int>(res.result_int());
      out.body = std::move(res.body());
      for (const auto& f : res) {
        std::string name(f.name_string());
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        out.headers[name] = std::string(f.value());
      }
      if (!res.keep_alive()) Close();
      return out;
    } catch (const std::exception& e) {
      Close();
      return MakeError(ErrorCode::kUnavailable, "http: " + url_.host + ":" + url_.port + path + ": " + e.what());
    }
  }

  void Connect() {
    tcp::resolver resolver(ioc_);
    auto endpoints = resolver.resolve(url_.host, url_.port);
    if (url_.tls) {
      tls_.emplace(ioc_, ssl_);
      if (!SSL_set_tlsext_host_name(tls_->native_handle(), url_.host.c_str())) {
        throw std::runtime_error("cannot set SNI");
      }
      tls_->set_verify_callback(asio::ssl::host_name_verification(url_.host));
      beast::get_lowest_layer(*tls_).expires_after(timeout_);
      beast::get_lowest_layer(*tls_).connect(endpoints);
      tls_->handshake(asio::ssl::stream_base::client);
    } else {
      tcp_.emplace(ioc_);
      tcp_->expires_after(timeout_);
      tcp_->connect(endpoints);
    }
    connected_ = true;
  }

  void Close() {
    beast::error_code ec;
    if (tcp_) tcp_->socket().shutdown(tcp::socket::shutdown_both, ec);
    tcp_.reset();
    tls_.reset();
    connected_ = false;
  }

  ParsedUrl url_;
  asio::io_context ioc_;
  asio::ssl::context ssl_;
  std::optional<beast::tcp_stream> tcp_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_;
  bool connected_ = false;
};

}  // namespace

Result<ParsedUrl> ParseUrl(const std::string& url) {
  ParsedUrl u;
  std::string rest;
  if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else if (url.rfind("https://", 0) == 0) {
    u.tls = true;
    rest = url.substr(8);
  } else {
    return MakeError(ErrorCode::kInvalidArgument, "url must start with http:// or https://: " + url);
  }
  size_t slash = rest.find('/');
  std::string hostport = rest.substr(0, slash);
  u.path = slash == std::string::npos ? "" : rest.substr(slash);
  while (!u.path.empty() && u.path.back() == '/') u.path.pop_back();
  if (!hostport.empty() && hostport[0] == '[') {
    size_t close = hostport.find(']');
    if (close == std::string::npos) return MakeError(ErrorCode::kInvalidArgument, "url: bad IPv6 host");
    u.host = hostport.substr(1, close - 1);
    std::string after = hostport.substr(close + 1);
    u.port = after.empty() ? "" : after.substr(1);
  } else {
    size_t colon = hostport.rfind(':');
    u.host = hostport.substr(0, colon);
    u.port = colon == std::string::npos ? "" : hostport.substr(colon + 1);
  }
  if (u.port.empty()) u.port = u.tls ? "443" : "80";
  if (u.host.empty()) return MakeError(ErrorCode::kInvalidArgument, "url: missing host");
  return u;
}

Result<std::unique_ptr<HttpClient>> HttpClient::Create(const std::string& base_url,
                                                      const std::string& ca_file) {
  ASSIGN_OR_RETURN(ParsedUrl u, ParseUrl(base_url));
  auto client = std::make_unique<BeastClient>(std::move(u));
  RETURN_IF_ERROR(client->TrustStore(ca_file));
  return std::unique_ptr<HttpClient>(std::move(client));
}

}  // namespace cloudpact::net
