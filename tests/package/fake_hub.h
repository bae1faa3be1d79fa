// Starts tests/package/fake_hub.py (a loopback stand-in for the Hugging Face hub) for one test,
// and gives the test its URL, its request log and a way to inject faults.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "test_util.h"

namespace gemma4::testing {

class FakeHub {
 public:
  struct Repo {
    std::string name;
    std::filesystem::path dir;
    std::string commit;
    bool gated = false;
    std::string token;
  };

  explicit FakeHub(const std::vector<Repo>& repos) {
    nlohmann::json config;
    for (const auto& r : repos) {
      config["repos"][r.name] = {{"dir", r.dir.string()}, {"commit", r.commit}, {"gated", r.gated}, {"token", r.token}};
    }
    config["faults"] = (tmp_ / "faults.json").string();
    config["log"] = (tmp_ / "requests.jsonl").string();
    WriteFile(tmp_ / "config.json", config.dump());
    int out[2];
    if (::pipe(out) != 0) throw std::runtime_error("pipe");
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], 1);
      ::close(out[0]);
      ::close(out[1]);
      const std::string script = std::string(GEMMA4_SOURCE_DIR) + "/tests/package/fake_hub.py";
      const std::string cfg = (tmp_ / "config.json").string();
      ::execl(GEMMA4_PYTHON, GEMMA4_PYTHON, script.c_str(), cfg.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(out[1]);
    FILE* f = ::fdopen(out[0], "r");
    int port = 0;
    if (std::fscanf(f, "PORT %d", &port) != 1) ADD_FAILURE() << "fake hub did not start";
    std::fclose(f);
    url_ = "http://127.0.0.1:" + std::to_string(port);
  }
  ~FakeHub() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  FakeHub(const FakeHub&) = delete;
  FakeHub& operator=(const FakeHub&) = delete;

  const std::string& url() const { return url_; }
  void SetFaults(const nlohmann::json& faults) { WriteFile(tmp_ / "faults.json", faults.dump()); }
  void ClearLog() { std::filesystem::remove(tmp_ / "requests.jsonl"); }
  // Every request so far: {"method", "path", "range", "auth"}.
  std::vector<nlohmann::json> Requests() const {
    std::vector<nlohmann::json> out;
    std::istringstream in(ReadFile(tmp_ / "requests.jsonl"));
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) out.push_back(nlohmann::json::parse(line));
    }
    return out;
  }

 private:
  TempDir tmp_;
  pid_t pid_ = -1;
  std::string url_;
};

}  // namespace gemma4::testing
