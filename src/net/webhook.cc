#include "net/webhook.h"

#include "core/encoding.h"
#include "core/time.h"
#include "crypto/sha256.h"
#include "net/http_client.h"

namespace cloudpact::net {

WebhookSender::WebhookSender(WebhookOptions options, Outcome outcome)
    : options_(options), outcome_(std::move(outcome)), thread_([this] { Loop(); }) {}

WebhookSender::~WebhookSender() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

std::string WebhookSender::Signature(const std::string& secret, const std::string& body) {
  return "sha256=" + HexEncode(crypto::AsBytes(crypto::HmacSha256(secret, body)));
}

bool WebhookSender::Send(const std::string& url, const std::string& secret, Json event) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || queue_.size() >= options_.max_queue) return false;
    queue_.push_back({url, secret, std::move(event)});
  }
  cv_.notify_one();
  return true;
}

void WebhookSender::Loop() {
  while (true) {
    Item item;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      item = std::move(queue_.front());
      queue_.pop_front();
    }
    item.event["sent"] = FormatRfc3339(SystemNow());
    const std::string body = item.event.dump();
    std::string detail;
    bool delivered = false;
    auto delay = options_.first_retry;
    for (int attempt = 0; attempt < options_.attempts && !delivered; ++attempt) {
      if (attempt > 0) {
        std::unique_lock<std::mutex> lock(mu_);
        // On shutdown, stop retrying but still report the outcome.
        if (cv_.wait_for(lock, delay, [&] { return stopping_; })) break;
        delay *= 2;
      }
      auto client = HttpClient::Create(item.url);
      if (!client.ok()) { detail = client.error().message; break; }
      (*client)->set_timeout(options_.timeout);
      auto parsed = ParseUrl(item.url);
      const std::string target = parsed.ok() && parsed->path.empty() ? "/" : "";
      auto r = (*client)->Request("POST", target, body,
                                  {{"Content-Type", "application/json"},
                                   {"X-Cloudpact-Signature", Signature(item.secret, body)}},
                                  64 << 10);
      if (!r.ok()) detail = r.error().message;
      else if (r->status >= 200 && r->status < 300) delivered = true;
      else detail = "HTTP " + std::to_string(r->status);
    }
    if (outcome_) outcome_(item.url, item.event, delivered, delivered ? "" : detail);
  }
}

}  // namespace cloudpact::net
