// An OpenAI-compatible HTTP server over one loaded Model: /v1/chat/completions, /v1/completions,
// /v1/models, /health, /metrics and a chat page at /, with a bounded request queue feeding N generation slots.
//
//   auto model = gemma4::Model::Load("path/to/package");
//   gemma4::Server server(model, {.port = 0, .parallel = 2});
//   int port = server.Start();        // listening from here on (port 0 picked a free one)
//   ...                               // SIGTERM arrives
//   server.Stop(std::chrono::seconds(10));
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "gemma4/model.h"

namespace gemma4 {

// One finished HTTP request, for the access log (one line per request).
struct RequestLogEntry {
  std::string method;
  std::string path;
  int status = 0;
  double duration_ms = 0;
  std::string remote;   // "127.0.0.1:53412"
  std::string detail;   // e.g. "prompt=42 (cached 30) completion=16 stop" for generation requests
};

struct ServerOptions {
  std::string host = "127.0.0.1";  // loopback unless the user says otherwise
  int port = 8080;                 // 0: pick a free port (see Server::port())
  int parallel = 1;                // generation slots, each with its own KV cache
  size_t max_queue = 64;           // requests waiting for a slot; one more gets 503 + Retry-After
  std::string api_key;             // non-empty: /v1/* and /metrics need "Authorization: Bearer <key>" (or x-api-key)
  size_t max_body_bytes = 4u << 20;  // larger request bodies get 413, whatever their framing
  double timeout_s = 600;          // per request, queue wait included; 0: none
  int read_timeout_s = 10;         // a request's headers and body must arrive within this (408 after);
                                   // a client not reading a response this long is dropped
  size_t max_connections = 1024;   // open client connections; more are answered 503 and closed
  // Browser safety: a request whose Host names neither an IP address, localhost, the --host
  // name nor one of these is refused (403); "*" accepts any (DNS rebinding protection off).
  std::vector<std::string> allowed_hosts;
  // Origins (scheme://host[:port]) that pages may call the API from; other cross-site Origins
  // get 403. "*" allows any, and only with an api_key.
  std::vector<std::string> cors_origins;
  size_t default_max_tokens = 0;   // when a request gives no max_tokens; 0: until EOS or a full context
  size_t draft_max = 0;            // speculative decoding (prompt lookup) for greedy requests; 0: off
  size_t draft_ngram = 3;          // longest n-gram looked up for drafts
  std::string model_id;            // name served by /v1/models; empty: the package folder's name
  bool webui = true;               // serve the chat page at / (no auth: it calls /v1/* with the key its user types)
  int http_threads = 0;            // connection threads; 0: enough for every slot and queued request
  // Called on an HTTP thread after each request completes (streams: after the last byte). Must be
  // thread-safe. Empty: each request is logged through gemma4::Log at info level.
  std::function<void(const RequestLogEntry&)> on_request;
};

class Server {
 public:
  // Validates the options (kInvalidArgument naming the option). The model must outlive nothing
  // here: the server keeps its own reference.
  Server(std::shared_ptr<const Model> model, ServerOptions options);
  ~Server();  // Stop(0) if still running
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts serving on background threads; returns the bound port. Throws
  // Error(kRuntime) when the address cannot be bound.
  int Start();
  int port() const;

  // Graceful shutdown: stops accepting at once, answers new requests on open connections with
  // 503, lets running and queued requests finish until `deadline`, then cancels the rest
  // (streams end, queued requests get 503). Returns when every thread has stopped. Idempotent.
  void Stop(std::chrono::milliseconds deadline);

  // Blocks until Stop() has completed (from another thread).
  void Wait();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gemma4
