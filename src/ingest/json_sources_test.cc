// JSON audit sources: Kubernetes audit, OpenStack CADF, CloudTrail / ActionTrail.
//
// Sample records live in testdata/json/ (see its README.md for where each came from):
//   k8s_audit.ndjson     audit.k8s.io/v1 Events in the shape the API server's log backend writes
//                        (kubernetes.io "Auditing" task page and apiserver-audit.v1 reference)
//   cadf_pycadf.ndjson   written by pyCADF 3.1.1 (Debian python3-pycadf) itself, the library
//                        keystonemiddleware's audit filter uses; the last line in an oslo envelope
//   cloudtrail.ndjson    AWS CloudTrail user guide "CloudTrail log file examples" shapes
//   actiontrail.ndjson   Alibaba Cloud ActionTrail "event structure" / ActionTrail event samples
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "ingest/event.h"

namespace cloudpact::ingest {
namespace {

std::vector<std::string> ReadLines(const std::string& name) {
  std::ifstream in(std::string(CLOUDPACT_SOURCE_DIR) + "/src/ingest/testdata/json/" + name);
  EXPECT_TRUE(in.good()) << name;
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

// Feeds every line (numbered from 1) and returns the events; fails the test on any error.
std::vector<OperationEvent> FeedAll(LineParser& p, const std::vector<std::string>& lines) {
  std::vector<OperationEvent> all;
  for (size_t i = 0; i < lines.size(); ++i) {
    auto r = p.Feed(lines[i], i + 1);
    EXPECT_TRUE(r.ok()) << "line " << i + 1 << ": " << (r.ok() ? "" : r.error().message);
    if (r.ok()) all.insert(all.end(), r->begin(), r->end());
  }
  auto rest = p.Finish();
  all.insert(all.end(), rest.begin(), rest.end());
  return all;
}

// One line's single event; fails the test unless the line gives exactly one.
OperationEvent One(LineParser& p, std::string_view line, uint64_t line_no = 1) {
  auto r = p.Feed(line, line_no);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  if (!r.ok()) return {};
  EXPECT_EQ(r->size(), 1u);
  return r->empty() ? OperationEvent{} : r->front();
}

// The error message of a line that must fail with kInvalidArgument.
std::string ErrorOf(LineParser& p, std::string_view line, uint64_t line_no = 1) {
  auto r = p.Feed(line, line_no);
  EXPECT_FALSE(r.ok()) << line.substr(0, 200);
  if (r.ok()) return "";
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  return r.error().message;
}

// ---------------------------------------------------------------------------------------
// Kubernetes audit

std::string K8sLine(std::string_view extra_fields, std::string_view stage = "ResponseComplete") {
  return std::string(R"({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a-1","stage":")") +
         std::string(stage) + R"(","requestURI":"/x","requestReceivedTimestamp":"2023-07-10T09:12:31.212345Z",)" +
         R"("stageTimestamp":"2023-07-10T09:12:35.667890Z")" + std::string(extra_fields) + "}";
}

TEST(K8sAudit, SampleFileSkipsEarlyStagesAndKeepsLineNumbers) {
  auto p = MakeK8sAuditParser();
  auto events = FeedAll(*p, ReadLines("k8s_audit.ndjson"));
  std::vector<uint64_t> lines;
  for (const auto& e : events) lines.push_back(e.line);
  // Line 1 is RequestReceived, line 7 ResponseStarted: same requests, logged at an earlier stage.
  EXPECT_EQ(lines, (std::vector<uint64_t>{2, 3, 4, 5, 6, 8, 9}));
  for (const auto& e : events) {
    EXPECT_EQ(e.source, "k8s-audit");
    EXPECT_EQ(e.ocsf_class_uid, 6003);
    EXPECT_EQ(e.raw_sha256.size(), 64u);
  }
}

TEST(K8sAudit, ExecByClusterAdminMapsEveryField) {
  auto p = MakeK8sAuditParser();
  auto lines = ReadLines("k8s_audit.ndjson");
  auto e = One(*p, lines.at(1), 2);
  EXPECT_EQ(e.time_ms, 1688980351212);  // requestReceivedTimestamp, microseconds truncated
  EXPECT_EQ(e.source, "k8s-audit");
  EXPECT_EQ(e.actor, "kubernetes-admin");
  EXPECT_EQ(e.actor_org, "");
  EXPECT_EQ(e.source_ip, "172.18.0.1");
  EXPECT_EQ(e.action, "k8s.create");
  EXPECT_EQ(e.target, "pods/exec/default/nginx-7c5ddbdf54-8xk2p");
  EXPECT_EQ(e.target_login, "");
  EXPECT_EQ(e.outcome, "success");  // 101 Switching Protocols
  EXPECT_TRUE(e.privileged);
  EXPECT_EQ(e.detail,
            "/api/v1/namespaces/default/pods/nginx-7c5ddbdf54-8xk2p/exec?command=sh&container=nginx&stdin=true&"
            "stdout=true&tty=true");
  EXPECT_EQ(e.line, 2u);
  // sha256sum of the file's second line without its newline.
  EXPECT_EQ(e.raw_sha256, "96c631a86f697243b1ae62aeee7cfb433b9edc4b51339e71f4967f62366b2be3");
  EXPECT_EQ(e.ocsf_class_uid, 6003);
  EXPECT_EQ(e.ocsf_activity_id, 1);
}

TEST(K8sAudit, ListInNamespaceIsNotPrivileged) {
  auto p = MakeK8sAuditParser();
  auto e = One(*p, ReadLines("k8s_audit.ndjson").at(2));
  EXPECT_EQ(e.actor, "jane@example.com");
  EXPECT_EQ(e.source_ip, "10.0.4.21");  // the first of sourceIPs (the client, not the proxy)
  EXPECT_EQ(e.action, "k8s.list");
  EXPECT_EQ(e.target, "pods/team-a/");
  EXPECT_EQ(e.time_ms, 1688980382000);
  EXPECT_EQ(e.outcome, "success");
  EXPECT_FALSE(e.privileged);
  EXPECT_EQ(e.ocsf_activity_id, 2);
}

TEST(K8sAudit, SecretWriteIsPrivileged) {
  auto p = MakeK8sAuditParser();
  auto e = One(*p, ReadLines("k8s_audit.ndjson").at(3));
  EXPECT_EQ(e.target, "secrets/team-a/db-password");
  EXPECT_TRUE(e.privileged);
  EXPECT_EQ(e.outcome, "success");
}

TEST(K8sAudit, ForbiddenClusterRoleBindingDeleteIsPrivilegedFailure) {
  auto p = MakeK8sAuditParser();
  auto e = One(*p, ReadLines("k8s_audit.ndjson").at(4));
  EXPECT_EQ(e.action, "k8s.delete");
  EXPECT_EQ(e.target, "clusterrolebindings//cluster-admin-jane");  // cluster-scoped: no namespace
  EXPECT_EQ(e.outcome, "failure");
  EXPECT_TRUE(e.privileged);
  EXPECT_EQ(e.ocsf_activity_id, 4);
}

TEST(K8sAudit, ImpersonationNamesTheAccountActedAs) {
  auto p = MakeK8sAuditParser();
  auto e = One(*p, ReadLines("k8s_audit.ndjson").at(5));
  EXPECT_EQ(e.actor, "system:serviceaccount:ci:deployer");
  EXPECT_EQ(e.target_login, "release-bot");
  EXPECT_EQ(e.action, "k8s.patch");
  EXPECT_EQ(e.target, "deployments/prod/web");
  EXPECT_FALSE(e.privileged);
  EXPECT_EQ(e.ocsf_activity_id, 3);
}

TEST(K8sAudit, PanicWithoutStatusIsFailure) {
  auto p = MakeK8sAuditParser();
  auto e = One(*p, ReadLines("k8s_audit.ndjson").at(7));
  EXPECT_EQ(e.outcome, "failure");
  EXPECT_EQ(e.target, "jobs/prod/");
}

TEST(K8sAudit, NonResourceRequestTargetsItsUri) {
  auto p = MakeK8sAuditParser();
  auto e = One(*p, ReadLines("k8s_audit.ndjson").at(8));
  EXPECT_EQ(e.target, "/healthz");
  EXPECT_EQ(e.actor, "system:anonymous");
  EXPECT_EQ(e.action, "k8s.get");
  EXPECT_FALSE(e.privileged);
}

TEST(K8sAudit, EarlyStagesAreSkippedWithoutError) {
  auto p = MakeK8sAuditParser();
  const std::string user = R"(,"verb":"create","user":{"username":"u"})";
  for (std::string_view stage : {"RequestReceived", "ResponseStarted"}) {
    auto r = p->Feed(K8sLine(user, stage), 1);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_TRUE(r->empty()) << stage;
  }
  for (std::string_view stage : {"ResponseComplete", "Panic"}) {
    auto r = p->Feed(K8sLine(user, stage), 1);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->size(), 1u) << stage;
  }
}

TEST(K8sAudit, PrivilegeRules) {
  auto p = MakeK8sAuditParser();
  auto priv = [&](std::string_view verb, std::string_view object_ref, std::string_view groups = "[]") {
    return One(*p, K8sLine(std::string(R"(,"verb":")") + std::string(verb) +
                           R"(","user":{"username":"u","groups":)" + std::string(groups) + R"(},"objectRef":)" +
                           std::string(object_ref) + R"(,"responseStatus":{"code":200})"))
        .privileged;
  };
  const std::string secret = R"({"resource":"secrets","namespace":"n","name":"s"})";
  EXPECT_TRUE(priv("create", secret));
  EXPECT_TRUE(priv("update", secret));
  EXPECT_TRUE(priv("patch", secret));
  EXPECT_TRUE(priv("delete", secret));
  EXPECT_TRUE(priv("deletecollection", R"({"resource":"secrets","namespace":"n"})"));
  EXPECT_FALSE(priv("get", secret));
  EXPECT_FALSE(priv("list", secret));
  // A custom resource named "secrets" in another group is not the core Secret.
  EXPECT_FALSE(priv("create", R"({"resource":"secrets","namespace":"n","name":"s","apiGroup":"example.com"})"));
  for (std::string_view r : {"roles", "rolebindings", "clusterroles", "clusterrolebindings"}) {
    EXPECT_TRUE(priv("update", std::string(R"({"resource":")") + std::string(r) +
                                   R"(","name":"x","apiGroup":"rbac.authorization.k8s.io"})"))
        << r;
    EXPECT_FALSE(priv("get", std::string(R"({"resource":")") + std::string(r) +
                                 R"(","name":"x","apiGroup":"rbac.authorization.k8s.io"})"))
        << r;
  }
  EXPECT_FALSE(priv("create", R"({"resource":"roles","name":"x","apiGroup":"games.example.com"})"));
  // exec/attach/portforward whatever the verb (the WebSocket form of exec is a GET).
  EXPECT_TRUE(priv("get", R"({"resource":"pods","namespace":"n","name":"p","subresource":"exec"})"));
  EXPECT_TRUE(priv("create", R"({"resource":"pods","namespace":"n","name":"p","subresource":"attach"})"));
  EXPECT_TRUE(priv("create", R"({"resource":"pods","namespace":"n","name":"p","subresource":"portforward"})"));
  EXPECT_FALSE(priv("get", R"({"resource":"pods","namespace":"n","name":"p","subresource":"log"})"));
  EXPECT_FALSE(priv("create", R"({"resource":"configmaps","namespace":"n","name":"c"})"));
  // system:masters, even for a read.
  EXPECT_TRUE(priv("get", R"({"resource":"configmaps","namespace":"n","name":"c"})", R"(["system:masters"])"));
  EXPECT_FALSE(priv("get", R"({"resource":"configmaps","namespace":"n","name":"c"})", R"(["system:mastersx"])"));
  // ... also when it is the impersonated user who is in it.
  auto e = One(*p, K8sLine(R"(,"verb":"get","user":{"username":"u","groups":["dev"]},)"
                           R"("impersonatedUser":{"username":"root-ish","groups":["system:masters"]},)"
                           R"("objectRef":{"resource":"nodes","name":"n1"},"responseStatus":{"code":200})"));
  EXPECT_TRUE(e.privileged);
  EXPECT_EQ(e.target_login, "root-ish");
}

TEST(K8sAudit, OutcomeFromStatusCode) {
  auto p = MakeK8sAuditParser();
  auto outcome = [&](std::string_view status) {
    return One(*p, K8sLine(std::string(R"(,"verb":"get","user":{"username":"u"})") + std::string(status))).outcome;
  };
  EXPECT_EQ(outcome(R"(,"responseStatus":{"code":200})"), "success");
  EXPECT_EQ(outcome(R"(,"responseStatus":{"code":399})"), "success");
  EXPECT_EQ(outcome(R"(,"responseStatus":{"code":400})"), "failure");
  EXPECT_EQ(outcome(R"(,"responseStatus":{"code":500})"), "failure");
  EXPECT_EQ(outcome(R"(,"responseStatus":{"metadata":{}})"), "unknown");
  EXPECT_EQ(outcome(""), "unknown");
}

TEST(K8sAudit, StageTimestampWhenArrivalMissing) {
  auto p = MakeK8sAuditParser();
  auto e = One(*p, R"({"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a","stage":"ResponseComplete",)"
                   R"("verb":"get","user":{"username":"u"},"stageTimestamp":"2023-07-10T09:12:35.667890Z"})");
  EXPECT_EQ(e.time_ms, 1688980355667);
}

TEST(K8sAudit, MalformedRecordsAreClearErrors) {
  auto p = MakeK8sAuditParser();
  const std::string ok_user = R"(,"verb":"get","user":{"username":"u"})";
  EXPECT_NE(ErrorOf(*p, R"({"kind":"Pod","apiVersion":"v1"})").find(R"(kind is "Pod", expected "Event")"),
            std::string::npos);
  EXPECT_NE(ErrorOf(*p, R"({"kind":"Event","apiVersion":"audit.k8s.io/v1beta1","stage":"ResponseComplete"})")
                .find("apiVersion"),
            std::string::npos);
  EXPECT_NE(ErrorOf(*p, K8sLine(R"(,"user":{"username":"u"})")).find(R"(missing field "verb")"), std::string::npos);
  EXPECT_NE(ErrorOf(*p, K8sLine(R"(,"verb":"get")")).find(R"(missing field "user.username")"), std::string::npos);
  EXPECT_NE(ErrorOf(*p, K8sLine(ok_user, "Finished")).find(R"(unknown stage "Finished")"), std::string::npos);
  EXPECT_NE(ErrorOf(*p, K8sLine(R"(,"verb":7,"user":{"username":"u"})")).find(R"(field "verb": expected a string)"),
            std::string::npos);
  EXPECT_NE(ErrorOf(*p, K8sLine(ok_user + R"(,"responseStatus":{"code":"200"})")).find("responseStatus.code"),
            std::string::npos);
  EXPECT_NE(ErrorOf(*p, K8sLine(ok_user + R"(,"user":"u")")).find(R"(field "user": expected an object)"),
            std::string::npos);
  std::string bad_time = K8sLine(ok_user);
  bad_time.replace(bad_time.find("2023-07-10T09:12:31"), 19, "2023-07-10 9:12:31x");
  EXPECT_NE(ErrorOf(*p, bad_time).find("requestReceivedTimestamp \"2023-07-10 9:12:31x"), std::string::npos);
  // A wrong kind is an error even at a stage that would be skipped.
  EXPECT_FALSE(p->Feed(R"({"kind":"Evnt","apiVersion":"audit.k8s.io/v1","stage":"RequestReceived"})", 1).ok());
}

// ---------------------------------------------------------------------------------------
// OpenStack CADF

TEST(Cadf, PycadfSamples) {
  auto p = MakeCadfParser();
  auto events = FeedAll(*p, ReadLines("cadf_pycadf.ndjson"));
  ASSERT_EQ(events.size(), 4u);

  const auto& del = events[0];
  EXPECT_EQ(del.source, "cadf");
  EXPECT_EQ(del.time_ms, 1795807191227);  // "2026-11-27T19:19:51.227017+0000": pycadf's %z, no colon
  EXPECT_EQ(del.actor, "alice");
  EXPECT_EQ(del.actor_org, "f3d2c1b0a9e8d7c6b5a4f3e2d1c0b9a8");
  EXPECT_EQ(del.source_ip, "192.0.2.10");
  EXPECT_EQ(del.action, "api.compute.delete");
  EXPECT_EQ(del.target, "2f6b0a52-1c33-4a4e-9c0d-1f2b8e2e7c11");
  EXPECT_EQ(del.outcome, "success");
  EXPECT_TRUE(del.privileged);  // delete of a server
  EXPECT_EQ(del.detail, "/v2.1/servers/2f6b0a52-1c33-4a4e-9c0d-1f2b8e2e7c11");
  EXPECT_EQ(del.line, 1u);
  EXPECT_EQ(del.ocsf_class_uid, 6003);
  EXPECT_EQ(del.ocsf_activity_id, 4);

  const auto& list = events[1];
  EXPECT_EQ(list.action, "api.compute.read/list");
  EXPECT_FALSE(list.privileged);
  EXPECT_EQ(list.ocsf_activity_id, 2);

  const auto& role = events[2];
  EXPECT_EQ(role.actor, "bob");
  EXPECT_EQ(role.action, "api.identity.update");
  EXPECT_EQ(role.outcome, "failure");
  EXPECT_TRUE(role.privileged);  // identity/role_assignments

  // The same payload as line 1, inside the oslo notification envelope.
  const auto& env = events[3];
  EXPECT_EQ(env.line, 4u);
  EXPECT_EQ(env.action, del.action);
  EXPECT_EQ(env.actor, del.actor);
  EXPECT_EQ(env.time_ms, del.time_ms);
  EXPECT_EQ(env.platform, "nova-api.controller-1");  // publisher_id
  EXPECT_TRUE(env.privileged);
  EXPECT_NE(env.raw_sha256, del.raw_sha256);
}

std::string CadfEvent(std::string_view action, std::string_view target_type, std::string_view outcome = "success",
                      std::string_view extra = "") {
  return std::string(R"({"typeURI":"http://schemas.dmtf.org/cloud/audit/1.0/event","eventType":"activity",)") +
         R"("id":"e1","eventTime":"2014-02-14T01:20:47.932842+00:00","action":")" + std::string(action) +
         R"(","outcome":")" + std::string(outcome) +
         R"(","initiator":{"typeURI":"service/security/account/user","id":"u-1","host":{"address":"127.0.0.1"}},)"
         R"("target":{"typeURI":")" +
         std::string(target_type) + R"(","id":"t-1"},"observer":{"typeURI":"service/security","id":"o-1"})" +
         std::string(extra) + "}";
}

TEST(Cadf, KeystoneNativeNotification) {
  // The shape of keystone's own CADF notification (OpenStack identity "Auditing" docs).
  auto p = MakeCadfParser();
  auto e = One(*p, CadfEvent("created.user", "data/security/account/user"));
  EXPECT_EQ(e.action, "api.security.created.user");
  EXPECT_EQ(e.actor, "u-1");  // no name: the id
  EXPECT_EQ(e.time_ms, 1392340847932);
  EXPECT_EQ(e.target, "t-1");
  EXPECT_TRUE(e.privileged);
  EXPECT_EQ(e.ocsf_activity_id, 1);
  auto auth = One(*p, CadfEvent("authenticate", "service/security/account/user"));
  EXPECT_EQ(auth.action, "api.security.authenticate");
  EXPECT_FALSE(auth.privileged);
  EXPECT_EQ(auth.ocsf_activity_id, 99);
}

TEST(Cadf, PrivilegeRules) {
  auto p = MakeCadfParser();
  auto priv = [&](std::string_view action, std::string_view type) { return One(*p, CadfEvent(action, type)).privileged; };
  EXPECT_TRUE(priv("create", "service/identity/users"));
  EXPECT_TRUE(priv("update", "service/identity/roles"));
  EXPECT_TRUE(priv("delete", "service/identity/projects"));
  EXPECT_TRUE(priv("update", "service/identity/role_assignments"));
  EXPECT_FALSE(priv("read", "service/identity/users"));
  EXPECT_FALSE(priv("read/list", "service/identity/projects"));
  EXPECT_FALSE(priv("create", "service/identity/tokens"));
  EXPECT_TRUE(priv("delete", "service/compute/servers"));
  EXPECT_TRUE(priv("delete", "service/storage/block/volumes"));
  EXPECT_TRUE(priv("delete", "service/storage/image/images"));
  EXPECT_FALSE(priv("create", "service/compute/servers"));
  EXPECT_FALSE(priv("update", "service/compute/servers"));
  EXPECT_FALSE(priv("delete", "service/network/ports"));
  // "users" under another service is not the identity service's users.
  EXPECT_FALSE(priv("create", "service/database/users"));
}

TEST(Cadf, PendingMonitorAndControlAreSkipped) {
  auto p = MakeCadfParser();
  auto r = p->Feed(CadfEvent("create", "service/compute/servers", "pending"), 1);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->empty());
  std::string monitor = CadfEvent("monitor", "service/compute/servers");
  monitor.replace(monitor.find(R"("activity")"), 10, R"("monitor")");
  r = p->Feed(monitor, 2);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->empty());
}

TEST(Cadf, InitiatorFallbacks) {
  auto p = MakeCadfParser();
  auto e = One(*p, R"({"typeURI":"http://schemas.dmtf.org/cloud/audit/1.0/event","eventType":"activity",)"
                   R"("eventTime":"2014-02-14T02:20:47.5+01:00","action":"update","outcome":"unknown",)"
                   R"("initiator":{"id":"u-9","domain_id":"d-1"},"targetId":"t-9"})");
  EXPECT_EQ(e.actor, "u-9");
  EXPECT_EQ(e.actor_org, "d-1");  // no project: the domain
  EXPECT_EQ(e.target, "t-9");
  EXPECT_EQ(e.action, "api.unknown.update");
  EXPECT_EQ(e.outcome, "unknown");
  EXPECT_EQ(e.time_ms, 1392340847500);
}

TEST(Cadf, EnvelopeTimestampAndEventType) {
  auto p = MakeCadfParser();
  auto e = One(*p, std::string(R"({"event_type":"identity.user.created","message_id":"m","priority":"INFO",)") +
                       R"("publisher_id":"identity.host-a","timestamp":"2014-02-14 01:20:47.933000","payload":)" +
                       CadfEvent("created.user", "data/security/account/user") + "}");
  EXPECT_EQ(e.detail, "identity.user.created");  // no requestPath
  EXPECT_EQ(e.platform, "identity.host-a");
  EXPECT_EQ(e.time_ms, 1392340847932);  // eventTime, not the envelope's
  EXPECT_NE(ErrorOf(*p, R"({"event_type":"x","payload":"not an object"})").find(R"(field "payload")"),
            std::string::npos);
  EXPECT_NE(ErrorOf(*p, R"({"event_type":"x","payload":{}})").find(R"(missing field "payload.typeURI")"),
            std::string::npos);
}

TEST(Cadf, MalformedEventsAreClearErrors) {
  auto p = MakeCadfParser();
  std::string wrong_type = CadfEvent("create", "service/compute/servers");
  wrong_type.replace(wrong_type.find("audit/1.0/event"), 15, "audit/1.0/resou");
  EXPECT_NE(ErrorOf(*p, wrong_type).find("typeURI is"), std::string::npos);
  EXPECT_NE(ErrorOf(*p, CadfEvent("", "service/compute/servers")).find(R"(missing field "action")"),
            std::string::npos);
  EXPECT_NE(ErrorOf(*p, CadfEvent("create", "service/compute/servers", "ok")).find(R"(unknown outcome "ok")"),
            std::string::npos);
  std::string bad_time = CadfEvent("create", "service/compute/servers");
  bad_time.replace(bad_time.find("+00:00"), 6, "+25:00");
  EXPECT_NE(ErrorOf(*p, bad_time).find("eventTime"), std::string::npos);
  EXPECT_NE(ErrorOf(*p, R"({"typeURI":"http://schemas.dmtf.org/cloud/audit/1.0/event","eventType":"activity",)"
                        R"("eventTime":"2014-02-14T01:20:47Z","action":"create","outcome":"success","target":{"id":"t"}})")
                .find(R"(missing field "initiator")"),
            std::string::npos);
}

// ---------------------------------------------------------------------------------------
// CloudTrail / ActionTrail

TEST(CloudTrail, RecordsLineGivesOneEventPerRecord) {
  auto p = MakeCloudTrailParser();
  auto lines = ReadLines("cloudtrail.ndjson");
  auto r = p->Feed(lines.at(0), 7);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 2u);
  const auto& start = (*r)[0];
  EXPECT_EQ(start.source, "cloudtrail");
  EXPECT_EQ(start.time_ms, 1689801448000);
  EXPECT_EQ(start.actor, "Mateo");
  EXPECT_EQ(start.actor_org, "123456789012");
  EXPECT_EQ(start.source_ip, "192.0.2.0");
  EXPECT_EQ(start.platform, "us-east-1");
  EXPECT_EQ(start.action, "api.ec2.StartInstances");
  EXPECT_EQ(start.target, "ec2.amazonaws.com");  // no resources[]
  EXPECT_EQ(start.outcome, "success");
  EXPECT_FALSE(start.privileged);
  EXPECT_NE(start.detail.find(R"("instanceId":"i-EXAMPLE56126103cb")"), std::string::npos);
  EXPECT_EQ(start.ocsf_activity_id, 3);
  EXPECT_EQ(start.line, 7u);

  const auto& create_user = (*r)[1];
  EXPECT_EQ(create_user.action, "api.iam.CreateUser");
  EXPECT_EQ(create_user.actor, "Mary");
  EXPECT_TRUE(create_user.privileged);  // an IAM write
  EXPECT_EQ(create_user.ocsf_activity_id, 1);
  EXPECT_EQ(create_user.line, 7u);
  // Both records share the hash of their line.
  EXPECT_EQ(start.raw_sha256, "7e89ff7639c4a8cef6e86f9d08e30aa05788bea3cf0deeb3aa6a14f0982a5b16");
  EXPECT_EQ(create_user.raw_sha256, start.raw_sha256);
}

TEST(CloudTrail, SampleFileOneRecordPerLine) {
  auto p = MakeCloudTrailParser();
  auto events = FeedAll(*p, ReadLines("cloudtrail.ndjson"));
  ASSERT_EQ(events.size(), 5u);
  const auto& dry_run = events[2];
  EXPECT_EQ(dry_run.action, "api.ec2.CreateKeyPair");
  EXPECT_EQ(dry_run.outcome, "failure");  // errorCode
  EXPECT_EQ(dry_run.line, 2u);
  const auto& root = events[3];
  EXPECT_EQ(root.action, "api.signin.ConsoleLogin");
  EXPECT_EQ(root.actor, "arn:aws:iam::123456789012:root");
  EXPECT_TRUE(root.privileged);
  EXPECT_EQ(root.detail, "");  // requestParameters null
  const auto& stop = events[4];
  EXPECT_EQ(stop.action, "api.cloudtrail.StopLogging");
  EXPECT_EQ(stop.actor, "arn:aws:sts::123456789012:assumed-role/Ops/ops-session");
  EXPECT_EQ(stop.target, "arn:aws:cloudtrail:eu-west-1:123456789012:trail/management");
  EXPECT_EQ(stop.platform, "eu-west-1");
  EXPECT_TRUE(stop.privileged);  // turning off the audit trail
}

TEST(CloudTrail, ActionTrailSamples) {
  auto p = MakeCloudTrailParser();
  auto events = FeedAll(*p, ReadLines("actiontrail.ndjson"));
  ASSERT_EQ(events.size(), 3u);
  const auto& trail = events[0];
  EXPECT_EQ(trail.action, "api.actiontrail.UpdateTrail");
  EXPECT_EQ(trail.actor, "196813227629****");  // root-account: principalId
  EXPECT_EQ(trail.actor_org, "196813227629****");
  EXPECT_EQ(trail.source_ip, "198.51.100.21");  // sourceIpAddress
  EXPECT_EQ(trail.platform, "cn-hangzhou");
  EXPECT_EQ(trail.target, "alicetest");  // referencedResources
  EXPECT_EQ(trail.time_ms, 1628123126000);
  EXPECT_TRUE(trail.privileged);
  const auto& stop = events[1];
  EXPECT_EQ(stop.action, "api.ecs.StopInstance");
  EXPECT_EQ(stop.actor, "ops-alice");
  EXPECT_EQ(stop.outcome, "success");
  EXPECT_FALSE(stop.privileged);
  const auto& attach = events[2];
  EXPECT_EQ(attach.action, "api.ram.AttachPolicyToUser");
  EXPECT_EQ(attach.outcome, "failure");
  EXPECT_TRUE(attach.privileged);
}

std::string Trail(std::string_view fields) {
  return std::string(R"({"eventTime":"2023-01-01T00:00:00Z","userIdentity":{"type":"IAMUser","userName":"u"},)") +
         std::string(fields) + "}";
}

TEST(CloudTrail, ServiceNameAndReadOnlyRules) {
  auto p = MakeCloudTrailParser();
  // ActionTrail's regional endpoint without serviceName: the region suffix goes.
  EXPECT_EQ(One(*p, Trail(R"("eventName":"StopInstance","eventSource":"ecs-cn-hangzhou.aliyuncs.com","acsRegion":"cn-hangzhou")"))
                .action,
            "api.ecs.StopInstance");
  auto priv = [&](std::string_view fields) { return One(*p, Trail(fields)).privileged; };
  EXPECT_FALSE(priv(R"("eventName":"GetUser","eventSource":"iam.amazonaws.com")"));  // inferred read
  EXPECT_FALSE(priv(R"("eventName":"ListUsers","eventSource":"iam.amazonaws.com")"));
  EXPECT_FALSE(priv(R"("eventName":"SimulatePrincipalPolicy","eventSource":"iam.amazonaws.com","readOnly":true)"));
  EXPECT_FALSE(priv(R"("eventName":"ListUsers","eventSource":"ram.aliyuncs.com","eventRW":"Read")"));
  EXPECT_TRUE(priv(R"("eventName":"CreateAccessKey","eventSource":"iam.amazonaws.com","readOnly":false)"));
  EXPECT_TRUE(priv(R"("eventName":"GetUserPolicy","eventSource":"iam.amazonaws.com","readOnly":"false")"));
  EXPECT_TRUE(priv(R"("eventName":"CreateUser","eventSource":"ram.aliyuncs.com","eventRW":"Write")"));
  EXPECT_TRUE(priv(R"("eventName":"ScheduleKeyDeletion","eventSource":"kms.amazonaws.com")"));
  EXPECT_TRUE(priv(R"("eventName":"DeleteTrail","eventSource":"cloudtrail.amazonaws.com")"));
  EXPECT_FALSE(priv(R"("eventName":"TerminateInstances","eventSource":"ec2.amazonaws.com")"));
  EXPECT_FALSE(priv(R"("eventName":"AssumeRole","eventSource":"sts.amazonaws.com")"));
  auto root = One(*p, R"({"eventTime":"2023-01-01T00:00:00Z","userIdentity":{"type":"Root","arn":"arn:aws:iam::1:root"},)"
                      R"("eventName":"DescribeInstances","eventSource":"ec2.amazonaws.com","readOnly":true})");
  EXPECT_TRUE(root.privileged);  // the root account, even reading
  EXPECT_EQ(root.ocsf_activity_id, 2);
  auto terminate = One(*p, Trail(R"("eventName":"TerminateInstances","eventSource":"ec2.amazonaws.com","errorMessage":"denied")"));
  EXPECT_EQ(terminate.ocsf_activity_id, 4);
  EXPECT_EQ(terminate.outcome, "failure");  // errorMessage alone (ActionTrail)
}

TEST(CloudTrail, EmptyRecordsAndRecordErrors) {
  auto p = MakeCloudTrailParser();
  auto r = p->Feed(R"({"Records":[]})", 1);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->empty());
  const std::string good = Trail(R"("eventName":"GetUser","eventSource":"iam.amazonaws.com")");
  EXPECT_NE(ErrorOf(*p, R"({"Records":[)" + good + R"(,{"eventName":"X"}]})").find("Records[1]: missing field"),
            std::string::npos);
  EXPECT_NE(ErrorOf(*p, R"({"Records":[)" + good + R"(,null]})").find("Records[1]: expected an object"),
            std::string::npos);
  EXPECT_NE(ErrorOf(*p, R"({"Records":{}})").find(R"(field "Records": expected an array)"), std::string::npos);
  EXPECT_NE(ErrorOf(*p, Trail(R"("eventSource":"iam.amazonaws.com")")).find(R"(missing field "eventName")"),
            std::string::npos);
  EXPECT_NE(ErrorOf(*p, R"({"eventTime":"2023-01-01T00:00:00Z","eventName":"A","eventSource":"b.c"})")
                .find(R"(missing field "userIdentity")"),
            std::string::npos);
  EXPECT_NE(ErrorOf(*p, Trail(R"("eventName":"A","eventSource":"b.c","readOnly":3)")).find("readOnly"),
            std::string::npos);
}

TEST(CloudTrail, LongRequestParametersAreTruncated) {
  auto p = MakeCloudTrailParser();
  auto e = One(*p, Trail(R"("eventName":"PutObject","eventSource":"s3.amazonaws.com","requestParameters":{"k":")" +
                         std::string(10000, 'v') + R"("})"));
  EXPECT_LE(e.detail.size(), 4096u + 3);
  EXPECT_EQ(e.detail.substr(0, 6), R"({"k":")");
}

// ---------------------------------------------------------------------------------------
// Timestamps (through eventTime) and lines

int64_t TimeOf(LineParser& p, std::string_view ts) {
  return One(p, std::string(R"({"eventTime":")") + std::string(ts) +
                    R"(","eventName":"A","eventSource":"b.c","userIdentity":{"type":"IAMUser","userName":"u"}})")
      .time_ms;
}

TEST(Timestamps, OffsetsAndFractions) {
  auto p = MakeCloudTrailParser();
  EXPECT_EQ(TimeOf(*p, "2023-07-19T21:17:28Z"), 1689801448000);
  EXPECT_EQ(TimeOf(*p, "2023-07-19t21:17:28z"), 1689801448000);
  EXPECT_EQ(TimeOf(*p, "2023-07-19T21:17:28+00:00"), 1689801448000);
  EXPECT_EQ(TimeOf(*p, "2023-07-19T23:17:28+02:00"), 1689801448000);
  EXPECT_EQ(TimeOf(*p, "2023-07-19T13:17:28-0800"), 1689801448000);
  EXPECT_EQ(TimeOf(*p, "2024-02-29T23:59:59.999+05:30"), 1709231399999);  // leap day, :30 offset
  EXPECT_EQ(TimeOf(*p, "2024-03-01T01:02:03.1-08:00"), 1709283723100);
  EXPECT_EQ(TimeOf(*p, "2024-03-01T01:02:03.123456789-08:00"), 1709283723123);
  EXPECT_EQ(TimeOf(*p, "1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(TimeOf(*p, "1969-12-31T23:59:59Z"), -1000);
  EXPECT_EQ(TimeOf(*p, "2016-12-31T23:59:60Z"), 1483228800000);  // leap second
}

TEST(Timestamps, InvalidOnesAreErrors) {
  auto p = MakeCloudTrailParser();
  for (std::string_view ts :
       {"2023-07-19T21:17:28", "2023-07-19", "2023-02-29T00:00:00Z", "2023-13-01T00:00:00Z", "2023-07-19T24:00:00Z",
        "2023-07-19T21:60:00Z", "2023-07-19T21:17:28.Z", "2023-07-19T21:17:28Z ", "2023-07-19T21:17:28+2:00",
        "2023-07-19T21:17:28+02:60", "2023-07-19T21:17:28+02:00:00", "23-07-19T21:17:28Z", "2023/07/19T21:17:28Z",
        "July 19, 2023"}) {
    auto r = p->Feed(std::string(R"({"eventTime":")") + std::string(ts) +
                         R"(","eventName":"A","eventSource":"b.c","userIdentity":{"type":"IAMUser"}})",
                     1);
    EXPECT_FALSE(r.ok()) << ts;
    if (!r.ok()) {
      EXPECT_NE(r.error().message.find("RFC 3339"), std::string::npos) << r.error().message;
    }
  }
}

TEST(Lines, RawHashLineNumbersAndErrorPrefix) {
  auto p = MakeCloudTrailParser();
  const std::string line =
      R"({"eventTime":"2023-01-01T00:00:00Z","eventName":"GetUser","eventSource":"iam.amazonaws.com","userIdentity":{"type":"IAMUser","userName":"u"}})";
  auto e = One(*p, line, 42);
  EXPECT_EQ(e.line, 42u);
  EXPECT_EQ(e.raw_sha256, "50df09006d1f54958cdc67b063a35314ea697d920cd34e70427d71ae1af35706");
  EXPECT_EQ(ErrorOf(*p, "{", 43).rfind("line 43: cloudtrail: invalid JSON", 0), 0u);
}

TEST(Lines, InvalidJsonAndBounds) {
  for (auto make : {MakeK8sAuditParser, MakeCadfParser, MakeCloudTrailParser}) {
    auto p = make();
    SCOPED_TRACE(std::string(p->name()));
    EXPECT_NE(ErrorOf(*p, R"({"kind":)").find("invalid JSON"), std::string::npos);
    EXPECT_NE(ErrorOf(*p, "[1,2]").find("not a JSON object"), std::string::npos);
    EXPECT_NE(ErrorOf(*p, R"("Event")").find("not a JSON object"), std::string::npos);
    EXPECT_NE(ErrorOf(*p, "not json").find("not a JSON object"), std::string::npos);
    EXPECT_NE(ErrorOf(*p, "nope").find("not a JSON object"), std::string::npos);
    EXPECT_NE(ErrorOf(*p, R"({"a":1} {"b":2})").find("content after the object"), std::string::npos);
    EXPECT_NE(ErrorOf(*p, R"({"a":1}})").find("invalid JSON"), std::string::npos);
    EXPECT_NE(ErrorOf(*p, R"({"a":1} x)").find("invalid JSON"), std::string::npos);
    EXPECT_NE(ErrorOf(*p, "{\"a\":\"\xff\xfe\"}").find("invalid JSON"), std::string::npos);  // not UTF-8
    // Blank lines are nothing at all.
    for (std::string_view blank : {"", "   ", "\r", "\t \r"}) {
      auto r = p->Feed(blank, 1);
      ASSERT_TRUE(r.ok());
      EXPECT_TRUE(r->empty());
    }
    // Over 1 MiB: refused before parsing, whatever it holds.
    std::string huge(size_t{1} << 20, ' ');
    huge.front() = '{';
    huge.back() = '}';
    auto at_limit = p->Feed(huge, 5);
    EXPECT_TRUE(at_limit.ok() || at_limit.error().message.find("over the limit") == std::string::npos);
    huge.insert(huge.begin() + 1, ' ');
    EXPECT_NE(ErrorOf(*p, huge, 6).find("over the limit of 1048576"), std::string::npos);
  }
}

TEST(Lines, DeepNestingInSkippedFieldsDoesNotCrash) {
  auto p = MakeK8sAuditParser();
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  auto r = p->Feed(K8sLine(R"(,"verb":"get","user":{"username":"u"},"requestObject":)" + deep), 1);
  // Either way it must be a result: skipped as an unknown field, or refused as too deep.
  if (r.ok()) {
    EXPECT_EQ(r->size(), 1u);
  } else {
    EXPECT_NE(r.error().message.find("invalid JSON"), std::string::npos) << r.error().message;
  }
  // Deep nesting where the parser descends itself is a type error, not a recursion.
  EXPECT_FALSE(p->Feed(K8sLine(R"(,"verb":"get","user":)" + deep), 2).ok());
}

TEST(Lines, ParserRecoversAfterErrors) {
  auto p = MakeK8sAuditParser();
  auto lines = ReadLines("k8s_audit.ndjson");
  EXPECT_FALSE(p->Feed("{\"kind\":", 1).ok());
  EXPECT_FALSE(p->Feed(std::string(2 << 20, 'x'), 2).ok());
  auto e = One(*p, lines.at(1), 3);
  EXPECT_EQ(e.actor, "kubernetes-admin");
  EXPECT_TRUE(p->Finish().empty());
}

TEST(Lines, FactoryNames) {
  for (std::string_view name : {"k8s-audit", "cadf", "cloudtrail"}) {
    auto p = MakeParser(name);
    ASSERT_TRUE(p.ok());
    ASSERT_NE(p->get(), nullptr);
    EXPECT_EQ((*p)->name(), name);
  }
}

}  // namespace
}  // namespace cloudpact::ingest
