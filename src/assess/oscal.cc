#include "assess/oscal.h"

#include <openssl/evp.h>

#include <array>
#include <cstdio>

namespace cloudpact::assess {
namespace {

Json Prop(std::string_view name, std::string_view value, bool ours = true) {
  Json p = {{"name", name}, {"value", value}};
  if (ours) p["ns"] = kOscalNamespace;
  return p;
}

Json Control(const Requirement& q) {
  Json props = Json::array();
  props.push_back(Prop("label-zh", q.title_zh));
  props.push_back(Prop("assessment", AssessmentName(q.assessment)));
  for (ServiceModel m : q.service_models) {
    props.push_back(Prop("service-model", ServiceModelName(m)));
    // One prop per model, grouped by the model so a reader can pair them.
    Json r = Prop("responsibility", ResponsibilityName(q.responsibility.at(m)));
    r["class"] = ServiceModelName(m);
    props.push_back(std::move(r));
  }
  for (const auto& check : q.checks) props.push_back(Prop("check", check));
  if (q.level != Level::kNone) props.push_back(Prop("level", LevelName(q.level)));
  Json parts = Json::array();
  parts.push_back({{"id", q.id + "_smt"}, {"name", "statement"}, {"prose", q.text_en}});
  parts.push_back({{"id", q.id + "_smt.zh"},
                   {"name", "statement-zh"},
                   {"ns", kOscalNamespace},
                   {"title", "中文"},
                   {"prose", q.text_zh}});
  return {{"id", q.id}, {"class", "requirement"}, {"title", q.title_en}, {"props", props}, {"parts", parts}};
}

}  // namespace

std::string NameUuid(std::string_view name) {
  // RFC 4122 4.3: SHA-1 over the namespace's bytes then the name; set version and variant.
  static constexpr std::array<unsigned char, 16> kUrlNamespace = {0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1,
                                                                   0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8};
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha1(), nullptr) == 1 &&
                  EVP_DigestUpdate(ctx, kUrlNamespace.data(), kUrlNamespace.size()) == 1 &&
                  EVP_DigestUpdate(ctx, name.data(), name.size()) == 1 && EVP_DigestFinal_ex(ctx, digest, &len) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok || len < 16) std::abort();  // SHA-1 is always available in OpenSSL 3's default provider
  digest[6] = static_cast<unsigned char>((digest[6] & 0x0f) | 0x50);
  digest[8] = static_cast<unsigned char>((digest[8] & 0x3f) | 0x80);
  std::string out;
  char hex[3];
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    std::snprintf(hex, sizeof hex, "%02x", digest[i]);
    out += hex;
  }
  return out;
}

Json ToOscalCatalog(const Catalog& catalog) {
  Json groups = Json::array();
  for (const auto& g : catalog.groups) {
    Json group = {{"id", g.id},
                  {"class", "group"},
                  {"title", g.title_en},
                  {"props", Json::array({Prop("label-zh", g.title_zh)})}};
    if (!g.requirements.empty()) {
      Json controls = Json::array();
      for (const auto& q : g.requirements) controls.push_back(Control(q));
      group["controls"] = std::move(controls);
    }
    groups.push_back(std::move(group));
  }
  Json metadata = {{"title", catalog.title_en},
                   {"last-modified", catalog.last_modified},
                   {"version", catalog.version},
                   {"oscal-version", "1.1.2"},
                   {"props", Json::array({Prop("title-zh", catalog.title_zh), Prop("source", catalog.source)})}};
  Json out = {{"uuid", NameUuid("cloudpact:catalog:" + catalog.id)}, {"metadata", metadata}};
  if (!groups.empty()) out["groups"] = std::move(groups);
  return {{"catalog", std::move(out)}};
}

}  // namespace cloudpact::assess
