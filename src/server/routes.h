// The route table and its handlers: chat completions, completions, models, health, metrics, the chat page.
#pragma once

#include <memory>
#include <string>

#include "gemma4/model.h"
#include "gemma4/sampling.h"
#include "gemma4/reply_stream.h"
#include "gemma4/server.h"
#include "server/http_transport.h"
#include "server/metrics.h"
#include "server/openai_schema.h"
#include "server/reply_format.h"
#include "server/request_queue.h"

namespace gemma4::server {

class Routes {
 public:
  Routes(std::shared_ptr<const Model> model, const ServerOptions& options, RequestQueue& queue, Metrics& metrics);

  // Every endpoint, in one place.
  void Register(HttpTransport& http);

  const std::string& model_id() const { return model_id_; }

 private:
  void ChatCompletions(const HttpRequest& req, HttpResponse& res);
  void Completions(const HttpRequest& req, HttpResponse& res);
  void OpenAiGenerate(const HttpRequest& req, HttpResponse& res, bool chat);  // both of the above
  void Messages(const HttpRequest& req, HttpResponse& res);   // Anthropic Messages API
  void Responses(const HttpRequest& req, HttpResponse& res);  // OpenAI Responses API, stateless
  void ListModels(const HttpRequest& req, HttpResponse& res);
  void Health(const HttpRequest& req, HttpResponse& res);
  void MetricsText(const HttpRequest& req, HttpResponse& res);
  void WebUi(const HttpRequest& req, HttpResponse& res);  // the chat page at /

  // Tokenizes, queues and answers one generation request (JSON or SSE) in the shape `format`
  // writes. `admission` is the request's place in the queue's capacity, held until its job is done.
  void Generate(const HttpRequest& http, GenerationRequest request, RequestQueue::Admission admission,
                std::unique_ptr<ReplyFormat> format, const std::string& call_id_prefix, HttpResponse& res);

  std::shared_ptr<const Model> model_;
  ServerOptions options_;
  RequestQueue& queue_;
  Metrics& metrics_;
  std::string model_id_;
  int64_t created_ = 0;
  SamplingParams defaults_;
  size_t vocab_size_ = 0;
  MarkupTokens markup_;
  bool template_takes_argument_mappings_ = true;  // decided from the package's template at startup
};

}  // namespace gemma4::server
