// `gemma4 serve`: the OpenAI-compatible HTTP server. Parses flags, loads the model, prints where
// it listens, and shuts down gracefully on SIGTERM / SIGINT (a second signal cancels at once).
#include <pthread.h>

#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <iostream>
#include <thread>

#include "cli/command.h"
#include "cli/flags.h"
#include "gemma4/error.h"
#include "gemma4/log.h"
#include "gemma4/server.h"

namespace gemma4::cli {
namespace {

struct ServeFlags {
  ModelFlags model;
  ServerOptions server;
  double shutdown_s = 10;
  size_t max_body_kib = 4096;
};

void Serve(ServeFlags& f) {
  // Block the stop signals in every thread we start, so that only sigwait below sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);  // a vanished client must not kill the server

  LoadOptions load;
  load.dtype = f.model.dtype;
  load.runtime = f.model.runtime;
  auto model = Model::Load(ResolveModelArg(f.model), load);

  f.server.max_body_bytes = f.max_body_kib * 1024;
  Server server(model, f.server);
  const int port = server.Start();
  std::cout << "gemma4 serve: listening on http://" << f.server.host << ":" << port << " (" << f.server.parallel
            << (f.server.parallel == 1 ? " slot" : " slots") << ", context " << model->runtime().max_context()
            << " tokens)" << std::endl;
  if (f.server.webui) std::cout << "gemma4 serve: chat page at http://" << f.server.host << ":" << port << "/" << std::endl;

  int signal = 0;
  sigwait(&stop_signals, &signal);
  Log(LogLevel::kInfo, std::string("gemma4 serve: ") + (signal == SIGTERM ? "SIGTERM" : "SIGINT") +
                           ": finishing in-flight requests (up to " + std::to_string(f.shutdown_s) + " s)");
  // A second signal while draining cancels everything at once.
  std::thread second([stop_signals] {
    int again = 0;
    sigwait(&stop_signals, &again);
    std::fprintf(stderr, "gemma4 serve: second signal, exiting now\n");
    std::_Exit(130);
  });
  second.detach();
  server.Stop(std::chrono::milliseconds(static_cast<int64_t>(f.shutdown_s * 1000)));
  std::cout << "gemma4 serve: stopped" << std::endl;
}

void Setup(CLI::App& app) {
  auto f = std::make_shared<ServeFlags>();
  AddModelFlags(app, f->model, /*model_required=*/true);
  auto& s = f->server;
  app.add_option("--host", s.host, "Address to listen on (127.0.0.1: this machine only)")
      ->envname("GEMMA4_HOST")->capture_default_str();
  app.add_option("--port", s.port, "TCP port (0: pick a free one)")
      ->envname("GEMMA4_PORT")->check(CLI::Range(0, 65535))->capture_default_str();
  app.add_option("--parallel", s.parallel, "Generation slots, each with its own KV cache")
      ->envname("GEMMA4_PARALLEL")->check(CLI::Range(1, 256))->capture_default_str();
  app.add_option("--max-queue", s.max_queue, "Requests that may wait for a slot; more get 503 + Retry-After")
      ->envname("GEMMA4_MAX_QUEUE")->capture_default_str();
  app.add_option("--api-key", s.api_key, "Require 'Authorization: Bearer KEY' on /v1/* and /metrics")
      ->envname("GEMMA4_API_KEY");
  app.add_option("--timeout", s.timeout_s, "Per-request time limit in seconds, queue wait included (0: none)")
      ->envname("GEMMA4_TIMEOUT")->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--read-timeout", s.read_timeout_s, "Seconds a request's headers and body may take to arrive (and a client may take to read a response)")
      ->check(CLI::Range(1, 3600))->capture_default_str();
  app.add_option("--max-connections", s.max_connections, "Open client connections; more are answered 503")
      ->envname("GEMMA4_MAX_CONNECTIONS")->check(CLI::Range(1, 1 << 20))->capture_default_str();
  app.add_option("--cors-origin", s.cors_origins,
                 "Allow web pages from ORIGIN (scheme://host[:port]) to call the API; repeatable; '*' needs --api-key")
      ->envname("GEMMA4_CORS_ORIGIN")->delimiter(',');
  app.add_option("--allowed-host", s.allowed_hosts,
                 "Accept requests whose Host is NAME (IP addresses and localhost always pass); repeatable; '*': any")
      ->envname("GEMMA4_ALLOWED_HOST")->delimiter(',');
  app.add_option("--max-body", f->max_body_kib, "Largest request body in KiB (larger: 413)")
      ->check(CLI::Range(1, 1 << 20))->capture_default_str();
  app.add_option("--max-tokens", s.default_max_tokens, "Default max_tokens when a request sets none (0: until EOS or a full context)")
      ->capture_default_str();
  app.add_option("--draft-max", s.draft_max,
                 "Speculative decoding for greedy requests: draft up to K tokens per decoder call from the prompt (0: off)")
      ->envname("GEMMA4_DRAFT_MAX")->check(CLI::Range(0, 64))->capture_default_str();
  app.add_option("--draft-ngram", s.draft_ngram, "Longest n-gram looked up in the prompt and output for --draft-max")
      ->check(CLI::Range(1, 16))->capture_default_str();
  app.add_flag("!--no-webui", s.webui, "Do not serve the chat page at /");
  app.add_option("--alias", s.model_id, "Model name shown by /v1/models (default: the package folder's name)");
  app.add_option("--shutdown-timeout", f->shutdown_s, "Seconds in-flight requests get to finish on SIGTERM")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  app.callback([f] { Serve(*f); });
}

const bool kRegistered = RegisterCommand({"serve", "Serve the model over an OpenAI-compatible HTTP API", Setup});

}  // namespace
}  // namespace gemma4::cli
