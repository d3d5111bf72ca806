// The continuous log sources `cloudpact serve --ingest-config FILE` follows (docs/INGEST.md):
//
//   sources:
//     - name: bj-host-01-auth           # [a-z0-9._-]; keys the saved position
//       formats: [sshd, sudo]           # parsers; lines no parser claims are skipped
//       file: /var/log/auth.log         # followed across rotation
//       platform: openstack-bj          # optional: the directory platform/resource the log
//       resource: bj-host-01            #   belongs to (host logs)
//     - name: syslog
//       formats: [sshd, sudo, auditd]
//       syslog: {listen: "0.0.0.0:6514", tls_cert: /etc/cloudpact/syslog.pem,
//                tls_key: /etc/cloudpact/syslog.key, spool_max_bytes: 1073741824}
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "core/yaml.h"
#include "correlation/correlator.h"
#include "ingest/source.h"

namespace cloudpact::correlation {

struct SyslogConfig {
  std::string listen;
  std::string tls_cert, tls_key;
  uint64_t spool_max_bytes = 1ull << 30;
};

struct SourceSpec {
  SourceConfig source;
  std::string file;                   // a followed file, or
  std::optional<SyslogConfig> syslog; // a syslog listener
};

// Every problem is reported with its line; names must be unique.
Result<std::vector<SourceSpec>> ParseIngestConfig(const YamlDocument& doc);

// Opens the source a spec describes; syslog spools live under spool_root/NAME (0700).
Result<std::unique_ptr<ingest::Source>> OpenSource(const SourceSpec& spec, const std::string& spool_root);

}  // namespace cloudpact::correlation
