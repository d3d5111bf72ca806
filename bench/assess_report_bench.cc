// Report generation time (issue 6, docs/BENCHMARKS.md): a run of 200 checks with 100,000
// non-PASS results (90% FAIL, 5% ERROR, 5% MANUAL) over 5 platforms and 50 tenants, rendered
// to each format. The catalog is synthetic (200 requirements, one check each) so the
// benchmark needs no files.
//   build/release/bench/assess_report_bench --benchmark_min_time=1x
#include <benchmark/benchmark.h>

#include <cstdio>
#include <functional>

#include "assess/report.h"

namespace cloudpact::assess {
namespace {

constexpr int kChecks = 200;
constexpr int kResults = 100000;

struct Fixture {
  CatalogSet catalogs;
  std::vector<Check> checks;
  Run run;

  Fixture() {
    Catalog c;
    c.id = "bench";
    c.title_zh = "基准";
    c.title_en = "Bench";
    c.version = "1";
    c.source = "synthetic";
    c.last_modified = "2026-01-01T00:00:00Z";
    for (int g = 0; g < 20; ++g) {
      Group group;
      group.id = "g" + std::to_string(g);
      group.title_zh = "分组 " + std::to_string(g);
      group.title_en = "Group " + std::to_string(g);
      for (int q = 0; q < kChecks / 20; ++q) {
        Requirement r;
        r.id = group.id + ".r" + std::to_string(q);
        r.title_zh = "要求 " + r.id;
        r.title_en = "Requirement " + r.id;
        r.text_zh = "要求正文";
        r.text_en = "Requirement text";
        r.service_models = {ServiceModel::kIaas, ServiceModel::kPaas, ServiceModel::kSaas};
        r.responsibility = {{ServiceModel::kIaas, Responsibility::kCustomer},
                            {ServiceModel::kPaas, Responsibility::kShared},
                            {ServiceModel::kSaas, Responsibility::kProvider}};
        r.assessment = Assessment::kAutomated;
        r.checks = {"check_" + std::to_string(g * (kChecks / 20) + q)};
        group.requirements.push_back(std::move(r));
      }
      c.groups.push_back(std::move(group));
    }
    catalogs.catalogs.push_back(std::move(c));
    checks.reserve(kChecks);
    for (int i = 0; i < kChecks; ++i) {
      Check k;
      k.id = "check_" + std::to_string(i);
      k.title_zh = "检查项 " + std::to_string(i);
      k.title_en = "Check " + std::to_string(i);
      k.remediation_zh = "整改建议";
      k.remediation_en = "Remediation";
      k.severity = static_cast<Severity>(i % 5);
      checks.push_back(std::move(k));
    }
    run.id = "run_00000000bench000";
    run.started_unix = 1795000000;
    run.finished_unix = 1795000060;
    run.resources = 1000000;
    run.digest = std::string(64, 'a');
    run.ledgered = true;
    run.ledger_index = 7;
    for (const auto& k : checks) run.checks[k.id].check = &k;
    run.results.reserve(kResults);
    for (int i = 0; i < kResults; ++i) {
      const int check = i / (kResults / kChecks);
      CheckResult r;
      char id[32];
      std::snprintf(id, sizeof id, "asr_%016x", i);
      r.id = id;
      r.check = checks[check].id;
      r.resource = "openstack-bj1/compute_instance/vm-" + std::to_string(i);
      r.status = i % 20 == 0 ? ResultStatus::kError : i % 20 == 1 ? ResultStatus::kManual : ResultStatus::kFail;
      r.reason = "port 22 open to 0.0.0.0/0, 安全组规则过宽";
      r.platform = "platform-" + std::to_string(i % 5);
      r.tenant = "tenant-" + std::to_string(i % 50);
      r.resource_type = "compute_instance";
      r.resource_name = "vm-" + std::to_string(i);
      auto& s = run.checks[r.check];
      (r.status == ResultStatus::kFail ? s.fail : r.status == ResultStatus::kError ? s.error : s.manual)++;
      run.results.push_back(std::move(r));
    }
    for (auto& [id, s] : run.checks) s.pass = 5000;
    for (const auto& g : catalogs.catalogs[0].groups)
      for (const auto& q : g.requirements) {
        RequirementResult rr;
        rr.catalog = &catalogs.catalogs[0];
        rr.group = &g;
        rr.requirement = &q;
        rr.status = ResultStatus::kFail;
        rr.failed_resources = 450;
        run.requirements.push_back(rr);
      }
  }
};

const Fixture& F() {
  static const Fixture* f = new Fixture();
  return *f;
}

void Report(benchmark::State& state, const std::function<size_t()>& render) {
  F();
  size_t bytes = 0;
  for (auto _ : state) bytes = render();
  state.counters["bytes"] = static_cast<double>(bytes);
  state.counters["results/s"] =
      benchmark::Counter(static_cast<double>(kResults) * state.iterations(), benchmark::Counter::kIsRate);
}

void BM_OscalAssessmentResults(benchmark::State& s) {
  Report(s, [] { return ToOscalAssessmentResults(F().run, F().catalogs).dump().size(); });
}
void BM_OcsfJsonLines(benchmark::State& s) {
  Report(s, [] { return ToOcsfJsonLines(F().run, F().catalogs).size(); });
}
void BM_Csv(benchmark::State& s) {
  Report(s, [] { return ToCsv(F().run, F().catalogs).size(); });
}
void BM_Html(benchmark::State& s) {
  Report(s, [] { return ToHtml(F().run, F().catalogs).size(); });
}
void BM_TenantReport(benchmark::State& s) {
  Report(s, [] { return ToTenantReport(F().run, F().catalogs, "tenant-7", "iaas").size(); });
}
void BM_Sarif(benchmark::State& s) {
  Report(s, [] { return ToSarif(F().run, F().catalogs).dump().size(); });
}
void BM_GateExitCode(benchmark::State& s) {
  Report(s, [] { return static_cast<size_t>(GateExitCode(F().run, Severity::kHigh)); });
}

BENCHMARK(BM_OscalAssessmentResults)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_OcsfJsonLines)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Csv)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Html)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TenantReport)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Sarif)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GateExitCode)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace cloudpact::assess

BENCHMARK_MAIN();
