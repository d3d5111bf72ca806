#include "core/metrics.h"

#include <cstdio>

namespace cloudpact::metrics {
namespace {
std::string FormatDouble(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}
}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i] = 0;
}

void Histogram::Observe(double v) {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  double cur = sum_.load(std::memory_order_relaxed);
  while (!sum_.compare_exchange_weak(cur, cur + v, std::memory_order_relaxed)) {
  }
}

std::string Histogram::Render(const std::string& name) const {
  std::string out;
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    out += name + "_bucket{le=\"" + FormatDouble(bounds_[i]) + "\"} " + std::to_string(cumulative) + "\n";
  }
  cumulative += buckets_[bounds_.size()].load(std::memory_order_relaxed);
  out += name + "_bucket{le=\"+Inf\"} " + std::to_string(cumulative) + "\n";
  out += name + "_sum " + FormatDouble(sum_.load(std::memory_order_relaxed)) + "\n";
  out += name + "_count " + std::to_string(cumulative) + "\n";
  return out;
}

Registry& Registry::Global() {
  static Registry* r = new Registry;
  return *r;
}

Counter& Registry::NewCounter(const std::string& name, const std::string& help) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& x : entries_) if (x->name == name && x->counter) return *x->counter;
  }
  auto e = std::make_unique<Entry>();
  e->name = name, e->help = help, e->type = "counter";
  e->counter = std::make_unique<Counter>();
  Counter& c = *e->counter;
  std::lock_guard<std::mutex> lock(mu_);
  entries_.push_back(std::move(e));
  return c;
}

Gauge& Registry::NewGauge(const std::string& name, const std::string& help) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& x : entries_) if (x->name == name && x->gauge) return *x->gauge;
  }
  auto e = std::make_unique<Entry>();
  e->name = name, e->help = help, e->type = "gauge";
  e->gauge = std::make_unique<Gauge>();
  Gauge& g = *e->gauge;
  std::lock_guard<std::mutex> lock(mu_);
  entries_.push_back(std::move(e));
  return g;
}

Histogram& Registry::NewHistogram(const std::string& name, const std::string& help,
                                  std::vector<double> bounds) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& x : entries_) if (x->name == name && x->histogram) return *x->histogram;
  }
  auto e = std::make_unique<Entry>();
  e->name = name, e->help = help, e->type = "histogram";
  e->histogram = std::make_unique<Histogram>(std::move(bounds));
  Histogram& h = *e->histogram;
  std::lock_guard<std::mutex> lock(mu_);
  entries_.push_back(std::move(e));
  return h;
}

std::string Registry::Render() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  for (const auto& e : entries_) {
    out += "# HELP " + e->name + " " + e->help + "\n";
    out += "# TYPE " + e->name + " " + e->type + "\n";
    if (e->counter) out += e->name + " " + std::to_string(e->counter->Value()) + "\n";
    if (e->gauge) out += e->name + " " + FormatDouble(e->gauge->Value()) + "\n";
    if (e->histogram) out += e->histogram->Render(e->name);
  }
  return out;
}

}  // namespace cloudpact::metrics
