// The bilingual HTML report and the per-tenant shared-responsibility report (docs/REPORTS.md).
// One self-contained file each: inline CSS, inline SVG charts, no scripts, no external URL,
// and a Content-Security-Policy that would block either if one slipped in. Everything that
// comes from data (names, reasons, titles) goes through Esc().
#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "assess/report.h"

namespace cloudpact::assess {
namespace {

using namespace report_detail;  // NOLINT: the report files' shared helpers

std::string Esc(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 16);
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

// Chinese first, English beside it.
std::string Bi(std::string_view zh, std::string_view en) {
  return "<span lang=\"zh-CN\">" + Esc(zh) + "</span> <span class=\"en\" lang=\"en\">" + Esc(en) + "</span>";
}

std::string Fixed1(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

std::string Date(int64_t unix_seconds) { return UnixToRfc3339(unix_seconds).substr(0, 10); }

std::string_view StatusClass(ResultStatus s) {
  switch (s) {
    case ResultStatus::kPass: return "pass";
    case ResultStatus::kFail: return "fail";
    case ResultStatus::kError: return "error";
    case ResultStatus::kManual: return "manual";
    case ResultStatus::kNotApplicable: return "na";
  }
  return "error";
}

std::string_view StatusZh(ResultStatus s) {
  switch (s) {
    case ResultStatus::kPass: return "通过";
    case ResultStatus::kFail: return "不通过";
    case ResultStatus::kError: return "错误";
    case ResultStatus::kManual: return "待人工确认";
    case ResultStatus::kNotApplicable: return "不适用";
  }
  return "错误";
}

std::string Badge(ResultStatus s, bool muted = false) {
  std::string out = "<span class=\"badge " + std::string(StatusClass(s)) + "\">" + std::string(StatusZh(s)) + " " +
                    std::string(StatusName(s)) + "</span>";
  if (muted) out += " <span class=\"badge muted\">已豁免 muted</span>";
  return out;
}

std::string_view SeverityZh(Severity s) {
  switch (s) {
    case Severity::kInfo: return "提示";
    case Severity::kLow: return "低";
    case Severity::kMedium: return "中";
    case Severity::kHigh: return "高";
    case Severity::kCritical: return "严重";
  }
  return "严重";
}

std::string SeverityCell(Severity s) {
  return "<span class=\"sev " + std::string(SeverityText(s)) + "\">" + std::string(SeverityZh(s)) + " " +
         std::string(SeverityText(s)) + "</span>";
}

struct Counts {
  uint64_t pass = 0, fail = 0, error = 0, manual = 0, na = 0;
  void Add(ResultStatus s, uint64_t n = 1) {
    switch (s) {
      case ResultStatus::kPass: pass += n; break;
      case ResultStatus::kFail: fail += n; break;
      case ResultStatus::kError: error += n; break;
      case ResultStatus::kManual: manual += n; break;
      case ResultStatus::kNotApplicable: na += n; break;
    }
  }
  uint64_t Judged() const { return pass + fail + error + manual; }
  uint64_t Total() const { return Judged() + na; }
  std::string Score() const { return Judged() ? Fixed1(100.0 * static_cast<double>(pass) / Judged()) + "%" : "—"; }
};

// A horizontal stacked bar: PASS, FAIL, ERROR, MANUAL, N/A.
std::string StackedBar(const Counts& c, int width = 220) {
  const uint64_t total = c.Total();
  std::string svg = "<svg class=\"bar\" width=\"" + std::to_string(width) + "\" height=\"14\" viewBox=\"0 0 " +
                    std::to_string(width) + " 14\" role=\"img\" aria-label=\"" + std::to_string(c.pass) + " / " +
                    std::to_string(total) + "\">";
  svg += "<rect class=\"track\" x=\"0\" y=\"0\" width=\"" + std::to_string(width) + "\" height=\"14\" rx=\"3\"/>";
  if (total) {
    double x = 0;
    const std::pair<uint64_t, const char*> parts[] = {
        {c.pass, "pass"}, {c.fail, "fail"}, {c.error, "error"}, {c.manual, "manual"}, {c.na, "na"}};
    for (const auto& [n, cls] : parts) {
      if (!n) continue;
      const double w = width * static_cast<double>(n) / static_cast<double>(total);
      svg += "<rect class=\"" + std::string(cls) + "\" x=\"" + Fixed1(x) + "\" y=\"0\" width=\"" + Fixed1(w) +
             "\" height=\"14\"/>";
      x += w;
    }
  }
  return svg + "</svg>";
}

// A donut of the same five parts, with the pass score in the middle.
std::string Donut(const Counts& c, std::string_view caption_zh, std::string_view caption_en) {
  const uint64_t total = c.Total();
  std::string svg =
      "<figure class=\"donut\"><svg width=\"132\" height=\"132\" viewBox=\"0 0 42 42\" role=\"img\" aria-label=\"" +
      Esc(caption_en) + "\"><circle class=\"track\" cx=\"21\" cy=\"21\" r=\"15.915\" fill=\"none\" stroke-width=\"6\"/>";
  if (total) {
    double offset = 25;  // start at 12 o'clock (circumference 100)
    const std::pair<uint64_t, const char*> parts[] = {
        {c.pass, "pass"}, {c.fail, "fail"}, {c.error, "error"}, {c.manual, "manual"}, {c.na, "na"}};
    for (const auto& [n, cls] : parts) {
      if (!n) continue;
      const double pct = 100.0 * static_cast<double>(n) / static_cast<double>(total);
      svg += "<circle class=\"" + std::string(cls) +
             "\" cx=\"21\" cy=\"21\" r=\"15.915\" fill=\"none\" stroke-width=\"6\" stroke-dasharray=\"" + Fixed1(pct) +
             " " + Fixed1(100 - pct) + "\" stroke-dashoffset=\"" + Fixed1(offset) + "\"/>";
      offset -= pct;
    }
  }
  svg += "<text x=\"21\" y=\"23\" text-anchor=\"middle\" class=\"donut-text\">" + Esc(c.Score()) + "</text></svg>";
  svg += "<figcaption>" + Bi(caption_zh, caption_en) + "<br><small>" + std::to_string(c.pass) + " 通过 pass · " +
         std::to_string(c.fail) + " 不通过 fail · " + std::to_string(c.error) + " 错误 error · " +
         std::to_string(c.manual) + " 人工 manual · " + std::to_string(c.na) + " 不适用 n/a</small></figcaption></figure>";
  return svg;
}

// Horizontal bars of a value per label (e.g. failing results per platform).
std::string BarChart(const std::vector<std::pair<std::string, uint64_t>>& rows, std::string_view aria) {
  uint64_t max = 1;
  for (const auto& [l, v] : rows) max = std::max(max, v);
  const int row_h = 20, label_w = 170, bar_w = 300;
  const int h = static_cast<int>(rows.size()) * row_h + 4;
  std::string svg = "<svg class=\"chart\" width=\"" + std::to_string(label_w + bar_w + 80) + "\" height=\"" +
                    std::to_string(h) + "\" viewBox=\"0 0 " + std::to_string(label_w + bar_w + 80) + " " +
                    std::to_string(h) + "\" role=\"img\" aria-label=\"" + Esc(aria) + "\">";
  int y = 2;
  for (const auto& [label, v] : rows) {
    const double w = bar_w * static_cast<double>(v) / static_cast<double>(max);
    std::string shown = label.size() > 28 ? label.substr(0, 25) + "..." : label;
    svg += "<text x=\"" + std::to_string(label_w - 6) + "\" y=\"" + std::to_string(y + 13) +
           "\" text-anchor=\"end\">" + Esc(shown) + "</text>";
    svg += "<rect class=\"fail\" x=\"" + std::to_string(label_w) + "\" y=\"" + std::to_string(y + 2) + "\" width=\"" +
           Fixed1(w) + "\" height=\"14\"/>";
    svg += "<text x=\"" + Fixed1(label_w + w + 4) + "\" y=\"" + std::to_string(y + 13) + "\">" + std::to_string(v) +
           "</text>";
    y += row_h;
  }
  return svg + "</svg>";
}

// Pass rate over runs: a small line chart.
std::string TrendChart(std::vector<RunSummary> runs) {
  std::sort(runs.begin(), runs.end(), [](const RunSummary& a, const RunSummary& b) {
    return a.finished_unix != b.finished_unix ? a.finished_unix < b.finished_unix : a.id < b.id;
  });
  const int w = 520, h = 160, left = 40, right = 12, top = 10, bottom = 28;
  std::string svg = "<svg class=\"chart trend\" width=\"" + std::to_string(w) + "\" height=\"" + std::to_string(h) +
                    "\" viewBox=\"0 0 " + std::to_string(w) + " " + std::to_string(h) +
                    "\" role=\"img\" aria-label=\"pass rate over runs\">";
  const int ph = h - top - bottom, pw = w - left - right;
  for (int pct : {0, 50, 100}) {
    const int y = top + ph - ph * pct / 100;
    svg += "<line class=\"grid\" x1=\"" + std::to_string(left) + "\" y1=\"" + std::to_string(y) + "\" x2=\"" +
           std::to_string(w - right) + "\" y2=\"" + std::to_string(y) + "\"/><text x=\"" + std::to_string(left - 4) +
           "\" y=\"" + std::to_string(y + 4) + "\" text-anchor=\"end\">" + std::to_string(pct) + "%</text>";
  }
  std::string points;
  std::string dots;
  for (size_t i = 0; i < runs.size(); ++i) {
    const uint64_t judged = runs[i].pass + runs[i].fail;
    const double rate = judged ? static_cast<double>(runs[i].pass) / static_cast<double>(judged) : 0;
    const double x = runs.size() == 1 ? left + pw / 2.0 : left + pw * static_cast<double>(i) / (runs.size() - 1);
    const double y = top + ph - ph * rate;
    points += (points.empty() ? "" : " ") + Fixed1(x) + "," + Fixed1(y);
    dots += "<circle class=\"dot\" cx=\"" + Fixed1(x) + "\" cy=\"" + Fixed1(y) + "\" r=\"3\"><title>" +
            Esc(runs[i].id) + " " + Date(runs[i].finished_unix) + ": " + Fixed1(rate * 100) + "%</title></circle>";
  }
  svg += "<polyline class=\"line\" fill=\"none\" points=\"" + points + "\"/>" + dots;
  if (!runs.empty()) {
    svg += "<text x=\"" + std::to_string(left) + "\" y=\"" + std::to_string(h - 8) + "\">" +
           Date(runs.front().finished_unix) + "</text><text x=\"" + std::to_string(w - right) + "\" y=\"" +
           std::to_string(h - 8) + "\" text-anchor=\"end\">" + Date(runs.back().finished_unix) + "</text>";
  }
  return svg + "</svg>";
}

constexpr std::string_view kCss = R"css(
:root{--pass:#2e7d32;--fail:#c62828;--error:#6a1b9a;--manual:#ef6c00;--na:#9e9e9e;--ink:#1f2933;--line:#d9dee3}
*{box-sizing:border-box}
body{font-family:"PingFang SC","Noto Sans CJK SC","Microsoft YaHei","Source Han Sans SC",system-ui,sans-serif;color:var(--ink);margin:0 auto;max-width:1180px;padding:24px;line-height:1.5}
h1{font-size:1.6em;margin:0 0 .2em}h2{border-bottom:2px solid var(--line);padding-bottom:.2em;margin-top:1.8em}h3{margin-bottom:.3em}
.en{color:#52606d;font-size:.92em}
table{border-collapse:collapse;width:100%;margin:.5em 0 1em;font-size:.9em}
th,td{border:1px solid var(--line);padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f3f5f7}td.n{text-align:right;font-variant-numeric:tabular-nums}
code,.mono{font-family:"SFMono-Regular",Consolas,"Liberation Mono",monospace;font-size:.92em;word-break:break-all}
.badge{display:inline-block;border-radius:3px;padding:0 5px;color:#fff;font-size:.85em;white-space:nowrap}
.badge.pass{background:var(--pass)}.badge.fail{background:var(--fail)}.badge.error{background:var(--error)}
.badge.manual{background:var(--manual)}.badge.na{background:var(--na)}.badge.muted{background:#607d8b}
.sev{font-weight:600;white-space:nowrap}.sev.critical{color:#b71c1c}.sev.high{color:#d84315}.sev.medium{color:#ef6c00}.sev.low{color:#546e7a}.sev.info{color:#78909c}
svg .pass{fill:var(--pass);stroke:var(--pass)}svg .fail{fill:var(--fail);stroke:var(--fail)}svg .error{fill:var(--error);stroke:var(--error)}
svg .manual{fill:var(--manual);stroke:var(--manual)}svg .na{fill:var(--na);stroke:var(--na)}
svg rect.pass,svg rect.fail,svg rect.error,svg rect.manual,svg rect.na{stroke:none}
svg circle.pass,svg circle.fail,svg circle.error,svg circle.manual,svg circle.na{fill:none}
svg .track{fill:#eceff1;stroke:#eceff1}svg circle.track{fill:none}
svg text{font-size:11px;fill:var(--ink)}.donut-text{font-size:7px;font-weight:700}
svg .grid{stroke:var(--line)}svg .line{stroke:#1565c0;stroke-width:2}svg .dot{fill:#1565c0}
.cards{display:flex;flex-wrap:wrap;gap:16px}.card{border:1px solid var(--line);border-radius:6px;padding:10px 14px;min-width:150px}
.card b{font-size:1.5em;display:block}
.donut{display:inline-block;margin:0 18px 8px 0;text-align:center;vertical-align:top;max-width:260px}
.integrity{border:2px solid #1565c0;border-radius:6px;padding:10px 16px;background:#f5f9ff}
.warn{border:2px solid var(--manual);background:#fff8e1;padding:8px 12px;border-radius:6px}
details{margin:.4em 0}summary{cursor:pointer}
footer{margin-top:3em;color:#52606d;font-size:.85em}
@media print{body{max-width:none}details{display:block}}
)css";

std::string Head(std::string_view title) {
  return "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
         "img-src data:\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
         "<meta name=\"generator\" content=\"cloudpact\">\n<title>" +
         Esc(title) + "</title>\n<style>" + std::string(kCss) + "</style>\n</head>\n<body>\n";
}

std::string IntegritySection(const Run& run) {
  std::string h = "<section class=\"integrity\" id=\"integrity\"><h2>" + Bi("完整性核验", "Integrity") + "</h2>";
  h += "<table><tr><th>" + Bi("评估编号", "Run id") + "</th><td><code>" + Esc(run.id) + "</code></td></tr>";
  h += "<tr><th>" + Bi("结果摘要 (SHA-256)", "Result digest (SHA-256)") + "</th><td><code>" +
       Esc(run.digest.empty() ? "—" : run.digest) + "</code></td></tr>";
  h += "<tr><th>" + Bi("账本序号", "Ledger index") + "</th><td>";
  if (run.ledgered) {
    h += "<code>" + std::to_string(run.ledger_index) + "</code>";
  } else {
    h += "<span class=\"warn\">" +
         Bi("本次评估尚未写入透明账本，无法独立核验。", "This run is not in the transparency ledger and cannot be verified "
                                                      "independently.") +
         "</span>";
  }
  h += "</td></tr></table>";
  h += "<p>" +
       Bi("核验方法：在可访问 cloudpact 的机器上运行下列命令（--key 为账本验证密钥）。它取得该次评估的结果文档"
          "（每项未通过结果、各检查项计数、各要求结论，RFC 8785 规范形式），计算其 SHA-256，"
          "用固定的验证密钥核验账本的签名检查点与全部分片，再与账本中该次评估的 assess.run 条目比对。"
          "摘要必须与本报告中的摘要一致；本报告只是该次评估的呈现，可信的是账本中的摘要。",
          "How to verify: run the command below (--key is the ledger's verifier key). It fetches the run's result "
          "document (every non-PASS result, each check's counts, each requirement's status, in RFC 8785 form), "
          "hashes it with SHA-256, verifies the ledger's signed checkpoint and every tile against the pinned key, "
          "and compares the hash with the run's assess.run entry. It must equal the digest above; this report is "
          "only a rendering of the run, and what can be trusted is the digest in the ledger.") +
       "</p><pre><code>" + Esc(VerifyCommand(run)) + "</code></pre></section>\n";
  return h;
}

std::string Footer(const Run& run) {
  return "<footer>" +
         Bi("由 cloudpact 根据评估 " + run.id + " 生成。同一次评估总是生成相同的报告。",
            "Generated by cloudpact from run " + run.id + ". The same run always renders to the same report.") +
         "</footer>\n</body>\n</html>\n";
}

std::string DaysLeft(int64_t expires, int64_t at) {
  const int64_t d = (expires - at) / 86400;
  if (expires <= at) return "<span class=\"badge fail\">已过期 expired</span>";
  return std::to_string(d) + " 天 days";
}

const Catalog* FindCatalog(const CatalogSet& set, std::string_view id) {
  for (const auto& c : set.catalogs)
    if (c.id == id) return &c;
  return nullptr;
}

// Requirement title "zh / en" for attestations (which name their requirement by id).
std::string RequirementLabel(const CatalogSet& set, const std::string& catalog, const std::string& requirement) {
  std::string out = "<code>" + Esc(catalog + "/" + requirement) + "</code>";
  if (const Catalog* c = FindCatalog(set, catalog))
    if (const Requirement* q = c->Find(requirement)) out += "<br>" + Bi(q->title_zh, q->title_en);
  return out;
}

}  // namespace

std::string ToHtml(const Run& run, const CatalogSet& catalogs, const HtmlOptions& options) {
  const std::string org = options.organization.empty() ? "" : options.organization + " ";
  std::string h = Head(org + "云计算服务安全评估报告 Cloud security assessment report " + run.id);
  h.reserve(1 << 20);

  // Header.
  h += "<header><h1>" + Esc(org) + Bi("云计算服务安全评估报告", "Cloud security assessment report") + "</h1>";
  h += "<p>" + Bi("评估编号", "Run") + " <code>" + Esc(run.id) + "</code> · " + Bi("开始", "started") + " " +
       Esc(UnixToRfc3339(run.started_unix)) + " · " + Bi("结束", "finished") + " " + Esc(UnixToRfc3339(run.finished_unix));
  if (!run.started_by.empty()) h += " · " + Bi("发起人", "started by") + " " + Esc(run.started_by);
  h += "<br>" + Bi("范围", "Scope") + ": " + Bi("要求目录", "catalogs") + " " +
       Esc(run.catalog_filter.empty() ? "全部 all" : run.catalog_filter) + " · " + Bi("平台", "platforms") + " " +
       Esc(run.platform_filter.empty() ? "全部 all" : run.platform_filter) + " · " + std::to_string(run.resources) +
       " " + Bi("个资源", "resources") + "</p></header>\n";

  h += IntegritySection(run);

  // Overview cards.
  Counts req_all, res_all;
  for (const auto& q : run.requirements) req_all.Add(q.status);
  uint64_t muted = 0, checks_errored = 0;
  for (const auto& [id, s] : run.checks) {
    res_all.pass += s.pass;
    res_all.fail += s.fail;
    res_all.error += s.error;
    res_all.manual += s.manual;
    res_all.na += s.not_applicable;
    muted += s.muted;
    if (!s.error_message.empty()) ++checks_errored;
  }
  h += "<section id=\"overview\"><h2>" + Bi("总览", "Overview") + "</h2><div class=\"cards\">";
  auto card = [&](std::string_view zh, std::string_view en, const std::string& v) {
    h += "<div class=\"card\"><b>" + Esc(v) + "</b>" + Bi(zh, en) + "</div>";
  };
  card("要求符合率", "requirements passed", req_all.Score());
  card("不符合要求", "requirements failed", std::to_string(req_all.fail));
  card("检查项", "checks", std::to_string(run.checks.size()));
  card("未能执行的检查项", "checks that could not run", std::to_string(checks_errored));
  card("不通过结果", "failing results", std::to_string(res_all.fail));
  card("已豁免", "muted by exception", std::to_string(muted));
  h += "</div>";
  h += Donut(req_all, "全部要求", "All requirements");
  h += Donut(res_all, "全部检查结果", "All check results");
  h += "</section>\n";

  // Scorecards per catalog and group.
  h += "<section id=\"scorecards\"><h2>" + Bi("分项得分", "Scorecards") + "</h2><p>" +
       Bi("得分 = 通过的要求 ÷（通过 + 不通过 + 错误 + 待人工确认）；不适用的要求不计入。",
          "Score = requirements passed ÷ (pass + fail + error + manual); not-applicable requirements are left out.") +
       "</p>";
  std::vector<const Catalog*> cat_order;
  std::map<const Catalog*, std::vector<const RequirementResult*>> by_cat;
  for (const auto& q : run.requirements) {
    if (!q.catalog || !q.requirement) continue;
    if (!by_cat.count(q.catalog)) cat_order.push_back(q.catalog);
    by_cat[q.catalog].push_back(&q);
  }
  for (const Catalog* cat : cat_order) {
    const auto& reqs = by_cat[cat];
    Counts cc;
    std::vector<const Group*> groups;
    std::map<const Group*, Counts> gc;
    for (const RequirementResult* q : reqs) {
      cc.Add(q->status);
      if (q->group && !gc.count(q->group)) groups.push_back(q->group);
      gc[q->group].Add(q->status);
    }
    h += "<h3>" + Bi(cat->title_zh, cat->title_en) + " <small><code>" + Esc(cat->id) + "</code></small></h3>";
    h += Donut(cc, "该目录的要求", "Requirements of this catalog");
    h += "<table><tr><th>" + Bi("分组", "Group") + "</th><th>" + Bi("通过", "Pass") + "</th><th>" +
         Bi("不通过", "Fail") + "</th><th>" + Bi("错误", "Error") + "</th><th>" + Bi("待人工", "Manual") + "</th><th>" +
         Bi("不适用", "N/A") + "</th><th>" + Bi("得分", "Score") + "</th><th></th></tr>";
    for (const Group* g : groups) {
      const Counts& c = gc[g];
      h += "<tr><td>" + Bi(g->title_zh, g->title_en) + "</td><td class=\"n\">" + std::to_string(c.pass) +
           "</td><td class=\"n\">" + std::to_string(c.fail) + "</td><td class=\"n\">" + std::to_string(c.error) +
           "</td><td class=\"n\">" + std::to_string(c.manual) + "</td><td class=\"n\">" + std::to_string(c.na) +
           "</td><td class=\"n\">" + c.Score() + "</td><td>" + StackedBar(c) + "</td></tr>";
    }
    h += "</table><details><summary>" + Bi("逐条要求", "Each requirement") + " (" + std::to_string(reqs.size()) +
         ")</summary><table><tr><th>" + Bi("编号", "Id") + "</th><th>" + Bi("要求", "Requirement") + "</th><th>" +
         Bi("方式", "Assessment") + "</th><th>" + Bi("结果", "Status") + "</th><th>" +
         Bi("不通过资源数", "Failed resources") + "</th></tr>";
    for (const RequirementResult* q : reqs) {
      h += "<tr><td><code>" + Esc(q->requirement->id) + "</code></td><td>" +
           Bi(q->requirement->title_zh, q->requirement->title_en) + "</td><td>" +
           (q->requirement->assessment == Assessment::kManual ? Bi("人工（证明）", "manual (attestation)")
                                                             : Bi("自动", "automated")) +
           "</td><td>" + Badge(q->status) + "</td><td class=\"n\">" + std::to_string(q->failed_resources) + "</td></tr>";
    }
    h += "</table></details>\n";
  }
  h += "</section>\n";

  // Per platform, from the non-PASS results.
  struct PlatformCounts {
    Counts c;
    uint64_t muted = 0;
    std::set<std::string> checks, resources;
  };
  std::map<std::string, PlatformCounts> platforms;
  for (const auto& r : run.results) {
    auto& p = platforms[r.platform.empty() ? "—" : r.platform];
    const bool is_muted = r.status == ResultStatus::kFail && !r.exception_id.empty();
    if (is_muted) {
      ++p.muted;
    } else {
      p.c.Add(r.status);
    }
    if (IsFailing(r.status) && !is_muted) {
      p.checks.insert(r.check);
      p.resources.insert(r.resource);
    }
  }
  h += "<section id=\"platforms\"><h2>" + Bi("各平台", "Per platform") + "</h2><p>" +
       Bi("同一套检查项在每个平台上执行；下表统计各平台未通过的结果。",
          "The same checks run on every platform; the table counts each platform's results that did not pass.") +
       "</p>";
  if (platforms.empty()) {
    h += "<p>" + Bi("所有平台均无未通过的结果。", "No platform has a result that did not pass.") + "</p>";
  } else {
    std::vector<std::pair<std::string, uint64_t>> bars;
    h += "<table><tr><th>" + Bi("平台", "Platform") + "</th><th>" + Bi("不通过", "Fail") + "</th><th>" +
         Bi("错误", "Error") + "</th><th>" + Bi("待人工", "Manual") + "</th><th>" + Bi("已豁免", "Muted") + "</th><th>" +
         Bi("涉及检查项", "Checks failing") + "</th><th>" + Bi("涉及资源", "Resources failing") + "</th></tr>";
    for (const auto& [name, p] : platforms) {
      h += "<tr><td>" + Esc(name) + "</td><td class=\"n\">" + std::to_string(p.c.fail) + "</td><td class=\"n\">" +
           std::to_string(p.c.error) + "</td><td class=\"n\">" + std::to_string(p.c.manual) + "</td><td class=\"n\">" +
           std::to_string(p.muted) + "</td><td class=\"n\">" + std::to_string(p.checks.size()) +
           "</td><td class=\"n\">" + std::to_string(p.resources.size()) + "</td></tr>";
      bars.emplace_back(name, p.c.fail + p.c.error);
    }
    h += "</table>" + BarChart(bars, "failing results per platform");
  }
  h += "</section>\n";

  // Trend.
  std::vector<RunSummary> trend = options.trend;
  if (std::none_of(trend.begin(), trend.end(), [&](const RunSummary& s) { return s.id == run.id; }))
    trend.push_back({run.id, run.finished_unix, res_all.pass, res_all.fail});
  h += "<section id=\"trend\"><h2>" + Bi("趋势", "Trend") + "</h2><p>" +
       Bi("各次评估的检查结果通过率（通过 ÷（通过 + 不通过））。", "Pass rate of check results per run (pass ÷ (pass + fail)).") +
       "</p>" + TrendChart(trend) + "</section>\n";

  // Checks.
  std::vector<std::string> check_ids;
  for (const auto& [id, s] : run.checks) check_ids.push_back(id);
  std::stable_sort(check_ids.begin(), check_ids.end(), [&](const std::string& a, const std::string& b) {
    const auto& sa = run.checks.at(a);
    const auto& sb = run.checks.at(b);
    const Severity va = sa.check ? sa.check->severity : Severity::kCritical;
    const Severity vb = sb.check ? sb.check->severity : Severity::kCritical;
    const uint64_t fa = sa.fail - std::min(sa.muted, sa.fail) + sa.error, fb = sb.fail - std::min(sb.muted, sb.fail) + sb.error;
    if ((fa > 0) != (fb > 0)) return fa > 0;
    if (va != vb) return va > vb;
    if (fa != fb) return fa > fb;
    return a < b;
  });
  h += "<section id=\"checks\"><h2>" + Bi("检查项", "Checks") + "</h2><table><tr><th>" + Bi("检查项", "Check") +
       "</th><th>" + Bi("级别", "Severity") + "</th><th>" + Bi("通过", "Pass") + "</th><th>" + Bi("不通过", "Fail") +
       "</th><th>" + Bi("已豁免", "Muted") + "</th><th>" + Bi("错误", "Error") + "</th><th>" + Bi("待人工", "Manual") +
       "</th><th>" + Bi("不适用", "N/A") + "</th><th>" + Bi("耗时(秒)", "Seconds") + "</th></tr>";
  for (const auto& id : check_ids) {
    const CheckSummary& s = run.checks.at(id);
    const Check* c = s.check;
    h += "<tr><td><code>" + Esc(id) + "</code>";
    if (c) h += "<br>" + Bi(c->title_zh, c->title_en);
    if (!s.error_message.empty())
      h += "<br>" + Badge(ResultStatus::kError) + " <span class=\"mono\">" + Esc(s.error_message) + "</span>";
    h += "</td><td>" + SeverityCell(c ? c->severity : Severity::kCritical) + "</td><td class=\"n\">" +
         std::to_string(s.pass) + "</td><td class=\"n\">" + std::to_string(s.fail) + "</td><td class=\"n\">" +
         std::to_string(s.muted) + "</td><td class=\"n\">" + std::to_string(s.error) + "</td><td class=\"n\">" +
         std::to_string(s.manual) + "</td><td class=\"n\">" + std::to_string(s.not_applicable) +
         "</td><td class=\"n\">" + Fixed1(s.seconds) + "</td></tr>";
  }
  h += "</table></section>\n";

  // Failing results, most severe first, bounded.
  std::vector<const CheckResult*> failing;
  for (const auto& r : run.results)
    if (IsFailing(r.status)) failing.push_back(&r);
  std::stable_sort(failing.begin(), failing.end(), [&](const CheckResult* a, const CheckResult* b) {
    const bool ma = !a->exception_id.empty() && a->status == ResultStatus::kFail;
    const bool mb = !b->exception_id.empty() && b->status == ResultStatus::kFail;
    if (ma != mb) return mb;  // unmuted first
    return CheckSeverity(run, a->check) > CheckSeverity(run, b->check);
  });
  h += "<section id=\"failing\"><h2>" + Bi("不通过与错误的结果", "Failing and erroring results") + "</h2>";
  if (failing.empty()) {
    h += "<p>" + Bi("没有不通过或错误的结果。", "No result failed or errored.") + "</p>";
  } else {
    h += "<table><tr><th>" + Bi("级别", "Severity") + "</th><th>" + Bi("结果", "Status") + "</th><th>" +
         Bi("检查项", "Check") + "</th><th>" + Bi("资源", "Resource") + "</th><th>" + Bi("平台", "Platform") +
         "</th><th>" + Bi("租户", "Tenant") + "</th><th>" + Bi("原因", "Reason") + "</th></tr>";
    const size_t shown = std::min(failing.size(), options.max_failing_rows);
    for (size_t i = 0; i < shown; ++i) {
      const CheckResult& r = *failing[i];
      const bool is_muted = !r.exception_id.empty() && r.status == ResultStatus::kFail;
      h += "<tr><td>" + SeverityCell(CheckSeverity(run, r.check)) + "</td><td>" + Badge(r.status, is_muted);
      if (is_muted) h += "<br><small><code>" + Esc(r.exception_id) + "</code></small>";
      h += "</td><td><code>" + Esc(r.check) + "</code></td><td>" + Esc(r.resource_name.empty() ? r.resource : r.resource_name) +
           "<br><small class=\"mono\">" + Esc(r.resource) + (r.resource_type.empty() ? "" : " · " + Esc(r.resource_type)) +
           "</small></td><td>" + Esc(r.platform) + "</td><td>" + Esc(r.tenant) + "</td><td>" + Esc(r.reason) +
           "</td></tr>";
    }
    h += "</table>";
    if (failing.size() > shown) {
      h += "<p class=\"warn\">" +
           Bi("另有 " + std::to_string(failing.size() - shown) + " 条结果未在此列出，完整列表见该次评估的 CSV 或 OCSF 导出。",
              std::to_string(failing.size() - shown) +
                  " more results are not listed here; the run's CSV or OCSF export lists them all.") +
           "</p>";
    }
  }
  h += "</section>\n";

  // Attestations and exceptions.
  h += "<section id=\"attestations\"><h2>" + Bi("人工要求的证明", "Attestations of manual requirements") + "</h2>";
  if (run.attestations.empty()) {
    h += "<p>" + Bi("本次评估没有有效的证明。", "No attestation was in force during this run.") + "</p>";
  } else {
    h += "<table><tr><th>" + Bi("要求", "Requirement") + "</th><th>" + Bi("声明", "Statement") + "</th><th>" +
         Bi("负责人 / 批准人", "Owner / approver") + "</th><th>" + Bi("证据文件 (SHA-256)", "Evidence (SHA-256)") +
         "</th><th>" + Bi("到期", "Expires") + "</th></tr>";
    for (const auto& a : run.attestations) {
      h += "<tr><td>" + RequirementLabel(catalogs, a.catalog, a.requirement) + "</td><td>" + Esc(a.statement) +
           "</td><td>" + Esc(a.owner) + " / " + Esc(a.approver) + "</td><td>";
      for (const auto& f : a.evidence) h += Esc(f.name) + "<br><code>" + Esc(f.sha256) + "</code><br>";
      h += "</td><td>" + Esc(Date(a.expires_unix)) + "<br>" + DaysLeft(a.expires_unix, run.finished_unix) + "</td></tr>";
    }
    h += "</table>";
  }
  h += "</section>\n<section id=\"exceptions\"><h2>" + Bi("例外（豁免）", "Exceptions") + "</h2>";
  if (run.exceptions.empty()) {
    h += "<p>" + Bi("本次评估没有有效的例外。", "No exception was in force during this run.") + "</p>";
  } else {
    h += "<p>" + Bi("被例外覆盖的不通过结果仍记为不通过，只是标为已豁免；例外到期后自动失效。",
                    "Failures covered by an exception stay FAIL and are shown as muted; exceptions lapse on their own.") +
         "</p><table><tr><th>" + Bi("编号", "Id") + "</th><th>" + Bi("检查项", "Check") + "</th><th>" +
         Bi("资源", "Resource") + "</th><th>" + Bi("理由", "Reason") + "</th><th>" +
         Bi("负责人 / 批准人", "Owner / approver") + "</th><th>" + Bi("到期", "Expires") + "</th></tr>";
    for (const auto& x : run.exceptions) {
      h += "<tr><td><code>" + Esc(x.id) + "</code></td><td><code>" + Esc(x.check) + "</code></td><td>" +
           (x.resource == "*" ? Bi("全部资源", "every resource") : "<code>" + Esc(x.resource) + "</code>") +
           "</td><td>" + Esc(x.reason) + "</td><td>" + Esc(x.owner) + " / " + Esc(x.approver) + "</td><td>" +
           Esc(Date(x.expires_unix)) + "<br>" + DaysLeft(x.expires_unix, run.finished_unix) + "</td></tr>";
    }
    h += "</table>";
  }
  h += "</section>\n";
  h += Footer(run);
  return h;
}

// --- Per-tenant report ---------------------------------------------------------------

namespace {

bool ParseModel(std::string_view s, ServiceModel* out) {
  for (ServiceModel m : {ServiceModel::kIaas, ServiceModel::kPaas, ServiceModel::kSaas}) {
    if (ServiceModelName(m) == s) {
      *out = m;
      return true;
    }
  }
  return false;
}

std::string_view ResponsibilityKey(Responsibility r) {
  switch (r) {
    case Responsibility::kCustomer: return "customer";
    case Responsibility::kShared: return "shared";
    case Responsibility::kProvider: return "provider";
  }
  return "provider";
}

}  // namespace

Json ToTenantReportJson(const Run& run, const CatalogSet& /*catalogs*/, std::string_view tenant,
                        std::string_view service_model) {
  Json run_info = {{"id", run.id},
                   {"started", UnixToRfc3339(run.started_unix)},
                   {"finished", UnixToRfc3339(run.finished_unix)},
                   {"digest", run.digest},
                   {"ledgered", run.ledgered},
                   {"verify_command", VerifyCommand(run)}};
  if (run.ledgered) run_info["ledger_index"] = run.ledger_index;
  Json out = {{"tenant", tenant}, {"service_model", service_model}, {"run", std::move(run_info)}};
  ServiceModel model;
  if (!ParseModel(service_model, &model)) {
    out["error"] = "unknown service model \"" + std::string(service_model) + "\": expected iaas, paas or saas";
    return out;
  }

  const CheckRequirements index(run);
  std::map<std::string, const Exception*> exceptions;
  for (const auto& x : run.exceptions) exceptions[x.id] = &x;

  // The tenant's own open findings (never another tenant's).
  Json findings = Json::array();
  std::map<std::string, uint64_t> open_by_check;
  for (const auto& r : run.results) {
    if (r.tenant != tenant) continue;
    if (!(IsFailing(r.status) || r.status == ResultStatus::kManual)) continue;
    const Check* c = FindCheck(run, r.check);
    const bool is_muted = r.status == ResultStatus::kFail && !r.exception_id.empty();
    if (!is_muted) ++open_by_check[r.check];
    Json reqs = Json::array();
    for (const RequirementResult* q : index.Of(r.check)) reqs.push_back(RequirementKey(*q));
    Json f = {{"id", r.id},
              {"check", r.check},
              {"title_zh", c ? c->title_zh : ""},
              {"title_en", c ? c->title_en : ""},
              {"severity", SeverityText(c ? c->severity : Severity::kCritical)},
              {"status", StatusName(r.status)},
              {"muted", is_muted},
              {"resource", r.resource},
              {"resource_name", r.resource_name},
              {"resource_type", r.resource_type},
              {"platform", r.platform},
              {"reason", r.reason},
              {"remediation_zh", c ? c->remediation_zh : ""},
              {"remediation_en", c ? c->remediation_en : ""},
              {"requirements", std::move(reqs)}};
    if (is_muted) {
      f["exception_id"] = r.exception_id;
      if (auto it = exceptions.find(r.exception_id); it != exceptions.end())
        f["exception_expires"] = UnixToRfc3339(it->second->expires_unix);
    }
    findings.push_back(std::move(f));
  }

  Json resp = {{"customer", Json::array()}, {"shared", Json::array()}, {"provider", Json::array()}};
  for (const auto& q : run.requirements) {
    if (!q.requirement) continue;
    const Requirement& req = *q.requirement;
    auto it = req.responsibility.find(model);
    if (it == req.responsibility.end()) continue;  // does not apply to this service model
    const std::string_view who = ResponsibilityKey(it->second);
    Json e = {{"requirement", RequirementKey(q)},
              {"catalog", q.catalog ? q.catalog->id : ""},
              {"group_zh", q.group ? q.group->title_zh : ""},
              {"group_en", q.group ? q.group->title_en : ""},
              {"title_zh", req.title_zh},
              {"title_en", req.title_en},
              {"text_zh", req.text_zh},
              {"text_en", req.text_en},
              {"assessment", AssessmentName(req.assessment)},
              {"checks", req.checks}};
    if (who != "provider") {
      uint64_t open = 0;
      for (const auto& c : req.checks)
        if (auto o = open_by_check.find(c); o != open_by_check.end()) open += o->second;
      e["open_findings"] = open;
    }
    resp[std::string(who)].push_back(std::move(e));
  }
  out["responsibilities"] = std::move(resp);
  out["open_findings"] = findings.size();
  out["findings"] = std::move(findings);
  return out;
}

std::string ToTenantReport(const Run& run, const CatalogSet& catalogs, std::string_view tenant,
                           std::string_view service_model, const HtmlOptions& options) {
  const Json j = ToTenantReportJson(run, catalogs, tenant, service_model);
  auto s = [](const Json& v) -> std::string { return v.is_string() ? v.get<std::string>() : v.dump(); };
  std::string h = Head("租户责任共担报告 Shared-responsibility report: " + std::string(tenant));
  h += "<header><h1>" + Bi("租户责任共担报告", "Shared-responsibility report") + "</h1><p>" + Bi("租户", "Tenant") +
       " <code>" + Esc(tenant) + "</code> · " + Bi("服务模式", "service model") + " <code>" + Esc(service_model) +
       "</code> · " + Bi("评估", "run") + " <code>" + Esc(run.id) + "</code> · " + Esc(UnixToRfc3339(run.finished_unix)) +
       "</p><p>" +
       Bi("依据《云计算服务安全自律公约》第三条，本报告说明在您所用的服务模式下，哪些安全要求由您负责、哪些与云服务商共同负责、"
          "哪些由云服务商负责，并列出您名下资源尚未关闭的问题。",
          "Under article 3 of the Convention, this report tells you which security requirements are yours, which are "
          "shared with the provider and which are the provider's for your service model, and lists the open findings "
          "on your own resources.") +
       "</p></header>\n";
  h += IntegritySection(run);
  if (j.contains("error")) {
    h += "<p class=\"warn\">" +
         Bi("未知的服务模式，应为 iaas、paas 或 saas。", "Unknown service model: expected iaas, paas or saas.") +
         "</p>" + Footer(run);
    return h;
  }

  const Json& resp = j["responsibilities"];
  h += "<section id=\"summary\"><h2>" + Bi("概要", "Summary") + "</h2><div class=\"cards\">";
  auto card = [&](std::string_view zh, std::string_view en, size_t v) {
    h += "<div class=\"card\"><b>" + std::to_string(v) + "</b>" + Bi(zh, en) + "</div>";
  };
  card("您负责的要求", "your requirements", resp["customer"].size());
  card("共同负责的要求", "shared requirements", resp["shared"].size());
  card("云服务商负责的要求", "provider's requirements", resp["provider"].size());
  card("您的未关闭问题", "your open findings", j["open_findings"].get<size_t>());
  h += "</div>";
  h += BarChart({{"customer 您负责", resp["customer"].size()},
                 {"shared 共同负责", resp["shared"].size()},
                 {"provider 云服务商", resp["provider"].size()}},
                "requirements by responsibility");
  h += "</section>\n";

  auto table = [&](const Json& list, bool with_open) {
    if (list.empty()) {
      h += "<p>" + Bi("无。", "None.") + "</p>";
      return;
    }
    h += "<table><tr><th>" + Bi("要求", "Requirement") + "</th><th>" + Bi("内容", "What it asks") + "</th><th>" +
         Bi("方式", "Assessment") + "</th>" + (with_open ? "<th>" + Bi("您的未关闭问题", "Your open findings") + "</th>" : "") +
         "</tr>";
    for (const auto& e : list) {
      h += "<tr><td><code>" + Esc(s(e["requirement"])) + "</code><br>" + Bi(s(e["title_zh"]), s(e["title_en"])) +
           "<br><small>" + Bi(s(e["group_zh"]), s(e["group_en"])) + "</small></td><td>" +
           Bi(s(e["text_zh"]), s(e["text_en"])) + "</td><td>" + Esc(s(e["assessment"])) + "</td>";
      if (with_open) {
        const uint64_t open = e["open_findings"].get<uint64_t>();
        h += "<td class=\"n\">" + (open ? "<span class=\"badge fail\">" + std::to_string(open) + "</span>" : "0") + "</td>";
      }
      h += "</tr>";
    }
    h += "</table>";
  };
  h += "<section id=\"customer\"><h2>" + Bi("您负责的要求", "Your responsibilities") + "</h2>";
  table(resp["customer"], true);
  h += "</section>\n<section id=\"shared\"><h2>" + Bi("共同负责的要求", "Shared responsibilities") + "</h2>";
  table(resp["shared"], true);
  h += "</section>\n<section id=\"provider\"><h2>" + Bi("云服务商负责的要求", "The provider's responsibilities") +
       "</h2><p>" +
       Bi("这些要求由云服务商落实，其评估结果见云服务商提交评估机构的报告。",
          "The provider carries these; their results are in the provider's report to its assessors.") +
       "</p>";
  table(resp["provider"], false);
  h += "</section>\n";

  const Json& findings = j["findings"];
  h += "<section id=\"findings\"><h2>" + Bi("您名下资源的未关闭问题", "Open findings on your resources") + "</h2>";
  if (findings.empty()) {
    h += "<p>" + Bi("本次评估未发现您名下资源的问题。", "This run found no open finding on your resources.") + "</p>";
  } else {
    h += "<table><tr><th>" + Bi("级别", "Severity") + "</th><th>" + Bi("结果", "Status") + "</th><th>" +
         Bi("资源", "Resource") + "</th><th>" + Bi("问题与整改建议", "Finding and remediation") + "</th><th>" +
         Bi("相关要求", "Requirements") + "</th></tr>";
    const size_t shown = std::min(findings.size(), options.max_failing_rows);
    for (size_t i = 0; i < shown; ++i) {
      const Json& f = findings[i];
      Severity sev = Severity::kCritical;
      for (Severity v : {Severity::kInfo, Severity::kLow, Severity::kMedium, Severity::kHigh, Severity::kCritical})
        if (SeverityText(v) == s(f["severity"])) sev = v;
      ResultStatus st = ResultStatus::kError;
      for (ResultStatus v : {ResultStatus::kFail, ResultStatus::kManual, ResultStatus::kError})
        if (StatusName(v) == s(f["status"])) st = v;
      h += "<tr><td>" + SeverityCell(sev) + "</td><td>" + Badge(st, f["muted"].get<bool>());
      if (f.contains("exception_expires"))
        h += "<br><small>" + Bi("豁免至", "muted until") + " " + Esc(s(f["exception_expires"]).substr(0, 10)) + "</small>";
      h += "</td><td>" + Esc(s(f["resource_name"]).empty() ? s(f["resource"]) : s(f["resource_name"])) +
           "<br><small class=\"mono\">" + Esc(s(f["resource"])) + "</small></td><td><code>" + Esc(s(f["check"])) +
           "</code> " + Bi(s(f["title_zh"]), s(f["title_en"])) + "<br>" + Esc(s(f["reason"]));
      if (!s(f["remediation_zh"]).empty() || !s(f["remediation_en"]).empty())
        h += "<br><b>" + Bi("整改", "Fix") + ":</b> " + Bi(s(f["remediation_zh"]), s(f["remediation_en"]));
      h += "</td><td>";
      for (const auto& q : f["requirements"]) h += "<code>" + Esc(s(q)) + "</code><br>";
      h += "</td></tr>";
    }
    h += "</table>";
    if (findings.size() > shown)
      h += "<p class=\"warn\">" +
           Bi("另有 " + std::to_string(findings.size() - shown) + " 条未列出，完整列表见 JSON 版本。",
              std::to_string(findings.size() - shown) + " more are not listed; the JSON version lists them all.") +
           "</p>";
  }
  h += "</section>\n" + Footer(run);
  return h;
}

}  // namespace cloudpact::assess
