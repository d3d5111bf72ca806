// OSCAL 1.1.2 catalog export of a cloudpact catalog, valid against NIST's
// oscal_catalog_schema.json (tests/data/oscal/). Groups become OSCAL groups, requirements
// controls; service models, responsibility, assessment, checks and level become props in
// the cloudpact namespace; the English text is the statement, the Chinese a second part.
//
// The export is a pure function of the catalog: UUIDs are name-based (RFC 4122 version 5)
// and last-modified comes from the catalog file, so the same file always exports the same
// bytes.
#pragma once

#include <string>
#include <string_view>

#include "assess/catalog.h"
#include "core/json.h"

namespace cloudpact::assess {

// The namespace of cloudpact's own OSCAL props and parts.
inline constexpr std::string_view kOscalNamespace = "https://cloudpact.dev/ns/oscal";

Json ToOscalCatalog(const Catalog& catalog);

// RFC 4122 version 5 UUID of `name` in the URL namespace (6ba7b811-…), lower case.
// The catalog's UUID is NameUuid("cloudpact:catalog:" + id).
std::string NameUuid(std::string_view name);

}  // namespace cloudpact::assess
