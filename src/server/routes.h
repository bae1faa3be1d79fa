// The route table and its handlers: chat completions, completions, models, health, metrics.
#pragma once

#include <memory>
#include <string>

#include "gemma4/model.h"
#include "gemma4/sampling.h"
#include "gemma4/server.h"
#include "server/answer_stream.h"
#include "server/http_transport.h"
#include "server/metrics.h"
#include "server/openai_schema.h"
#include "server/request_queue.h"

namespace gemma4::server {

class Routes {
 public:
  Routes(std::shared_ptr<const Model> model, const ServerOptions& options, RequestQueue& queue, Metrics& metrics);

  // Every endpoint, in one place.
  void Register(HttpTransport& http);

  const std::string& model_id() const { return model_id_; }

 private:
  void ChatCompletions(const httplib::Request& req, httplib::Response& res);
  void Completions(const httplib::Request& req, httplib::Response& res);
  void ListModels(const httplib::Request& req, httplib::Response& res);
  void Health(const httplib::Request& req, httplib::Response& res);
  void MetricsText(const httplib::Request& req, httplib::Response& res);

  // Tokenizes, queues and answers one generation request (JSON or SSE).
  void Generate(GenerationRequest request, httplib::Response& res);

  std::shared_ptr<const Model> model_;
  ServerOptions options_;
  RequestQueue& queue_;
  Metrics& metrics_;
  std::string model_id_;
  int64_t created_ = 0;
  SamplingParams defaults_;
  size_t vocab_size_ = 0;
  MarkupTokens markup_;
};

}  // namespace gemma4::server
