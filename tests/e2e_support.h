// Helpers shared by the end-to-end tests: run the real `cloudpact` binary as a user would.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "core/json.h"

namespace cloudpact {
namespace fs = std::filesystem;

inline std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs a command to completion; returns exit status and combined output.
inline std::pair<int, std::string> RunCommand(const std::string& cmd) {
  std::string out;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int st = pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

class Server {
 public:
  Server(fs::path dir, std::vector<std::string> extra = {}) : dir_(std::move(dir)) {
    log_ = dir_.string() + ".log";
    start_offset_ = ReadAll(log_).size();  // a restart appends to the same log
    pid_ = fork();
    if (pid_ == 0) {
      // Never outlive the test, and never hold the test's stdout (ctest waits on it).
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      int fd = ::open(log_.c_str(), O_CREAT | O_WRONLY | O_APPEND, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      std::vector<std::string> args = {CLOUDPACT_BIN, "serve", "--data-dir", dir_.string(),
                                       "--listen", "127.0.0.1:0", "--ssh-listen", "127.0.0.1:0",
                                       "--checkpoint-interval", "200ms"};
      args.insert(args.end(), extra.begin(), extra.end());
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
  }
  ~Server() {
    if (pid_ > 0) Kill(SIGKILL);
  }
  // Waits for this process's "cloudpact serving" log line; returns the URL.
  std::string WaitUrl() {
    for (int i = 0; i < 600; ++i) {
      std::string log = ReadAll(log_).substr(start_offset_);
      std::istringstream lines(log);
      std::string line;
      while (std::getline(lines, line)) {
        auto j = ParseJson(line);
        if (j.ok() && (*j)["msg"] == "cloudpact serving") return (*j)["url"];
      }
      int st;
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        ADD_FAILURE() << "server exited: " << log;
        return "";
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "server did not start: " << ReadAll(log_);
    return "";
  }
  // The SSH gateway's port from the "ssh gateway listening" log line (0 if absent).
  int SshPort() const {
    std::istringstream lines(ReadAll(log_).substr(start_offset_));
    std::string line;
    while (std::getline(lines, line)) {
      auto j = ParseJson(line);
      if (j.ok() && (*j)["msg"] == "ssh gateway listening") return (*j)["port"].get<int>();
    }
    return 0;
  }
  int Kill(int sig) {
    ::kill(pid_, sig);
    int st = 0;
    waitpid(pid_, &st, 0);
    pid_ = -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }
  std::string log() const { return ReadAll(log_); }

 private:
  fs::path dir_;
  std::string log_;
  size_t start_offset_ = 0;
  pid_t pid_ = -1;
};

inline std::string Token(const fs::path& dir) {
  std::string t = ReadAll(dir / "initial-admin-token");
  while (!t.empty() && t.back() == '\n') t.pop_back();
  return t;
}

}  // namespace cloudpact
