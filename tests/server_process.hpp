// The real switchboard-server binary as a child process, for what only a whole process shows:
// file-descriptor limits, restarts, files it writes. SWITCHBOARD_SERVER_BIN comes from CMake.
#pragma once
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace sb::testing {

class ServerProcess {
 public:
  // Starts the server with `args` in `cwd`, with at most `max_fds` descriptors (0: inherited),
  // and waits for its "listening on" line. port() is 0 when it did not come up.
  ServerProcess(std::vector<std::string> args, const std::string& cwd, rlim_t max_fds = 0) {
    int out[2];
    if (::pipe(out) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], 1);
      ::close(out[0]);
      ::close(out[1]);
      if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) ::_exit(126);
      if (max_fds) {
        struct rlimit rl{max_fds, max_fds};
        ::setrlimit(RLIMIT_NOFILE, &rl);
      }
      std::vector<char*> argv;
      std::string bin = SWITCHBOARD_SERVER_BIN;
      argv.push_back(bin.data());
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(bin.c_str(), argv.data());
      ::_exit(127);
    }
    ::close(out[1]);
    out_ = ::fdopen(out[0], "r");
    char line[512];
    while (out_ && std::fgets(line, sizeof line, out_)) {
      std::string l(line);
      auto at = l.find("listening on http://");
      if (at == std::string::npos) continue;
      auto colon = l.find(':', at + 20);
      port_ = static_cast<unsigned short>(std::stoi(l.substr(colon + 1)));
      break;
    }
  }
  ~ServerProcess() { stop(); }
  unsigned short port() const { return port_; }
  pid_t pid() const { return pid_; }
  // SIGTERM and wait; returns the exit status.
  int stop() {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    if (out_) std::fclose(out_);
    out_ = nullptr;
    return status;
  }
  // SIGKILL: the process dies without a word (no close frames, no clean-up).
  void kill_hard() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
    if (out_) std::fclose(out_);
    out_ = nullptr;
  }
  // User + system CPU time the process has used, in clock ticks (/proc/<pid>/stat).
  long cpu_ticks() const {
    std::ifstream f("/proc/" + std::to_string(pid_) + "/stat");
    std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    std::istringstream in(s.substr(s.rfind(')') + 2));
    std::string field;
    long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && in >> field; ++i) {
      if (i == 14) utime = std::stol(field);
      if (i == 15) stime = std::stol(field);
    }
    return utime + stime;
  }

 private:
  pid_t pid_ = -1;
  FILE* out_ = nullptr;
  unsigned short port_ = 0;
};

}  // namespace sb::testing
