// The web console (console/, built by Vite into console/dist) served by `cloudpact serve`
// at "/". The built files are few and small, so they are read into memory once at start:
// a request never touches the disk, and only names found under the root at start can ever
// be answered, whatever the request path says.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "api/http.h"
#include "core/result.h"

namespace cloudpact::api {

struct StaticFilesOptions {
  size_t max_file_bytes = 16 << 20;   // a larger file is skipped (with a warning)
  size_t max_total_bytes = 64 << 20;  // files beyond this total are skipped
  size_t max_files = 4096;
};

class StaticFiles {
 public:
  // Reads every regular file under `root`, except dot-files and files behind a symlink that
  // resolves outside `root`; each skipped file is logged. kNotFound if `root` is not a
  // directory with an index.html.
  static Result<std::unique_ptr<StaticFiles>> Load(const std::filesystem::path& root,
                                                   StaticFilesOptions options = {});
  // No console built: "/" and SPA routes answer a short bilingual page saying how to build it.
  static std::unique_ptr<StaticFiles> Placeholder();
  // What `cloudpact serve` mounts: --console-dir when given (an error if it holds no console,
  // since the operator asked for that one), else the first default directory holding one,
  // else Placeholder() with one warning in the log. Never fails without the flag.
  static Result<std::unique_ptr<StaticFiles>> ForServe(const std::string& console_dir_flag);
  // Where a built console is looked for without the flag: share/cloudpact/console beside the
  // binary's prefix (an installed binary), then the source tree's console/dist that the build
  // wrote (CLOUDPACT_CONSOLE_DIST, set by CMake).
  static std::vector<std::filesystem::path> DefaultDirs();

  // Answers GET and HEAD of a console file, and of "/" or any path whose last segment has
  // no dot (an SPA route) with index.html; 405 for other methods there; 400 for a path that
  // tries to leave the root. Returns false, leaving the caller's 404, for /v1, /ledger,
  // /healthz and /metrics paths and for dotted names that are not files of the console.
  bool Handle(const Request& r, const Respond& respond) const;

  bool placeholder() const { return placeholder_; }
  const std::string& root() const { return root_; }
  size_t file_count() const { return files_.size(); }
  size_t total_bytes() const { return total_bytes_; }

  // The Content-Type for a file name, by extension; application/octet-stream if unknown.
  static std::string ContentType(std::string_view name);

 private:
  struct File {
    std::string content;
    std::string content_type;
    std::string etag;           // "\"<sha-256 prefix>\"": lets no-cache revalidate cheaply
    std::string cache_control;
  };
  StaticFiles() = default;
  Response Serve(const Request& r, const File& f) const;

  bool placeholder_ = false;
  std::string root_;
  std::map<std::string, File> files_;  // "index.html", "assets/index-1a2b3c.js", …
  size_t total_bytes_ = 0;
};

}  // namespace cloudpact::api
