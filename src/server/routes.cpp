// Handlers of the OpenAI endpoints. Each request: parse + validate, tokenize, queue, then either
// wait for the whole answer (JSON) or relay it as server-sent events while it is generated.
#include "server/routes.h"

#include <atomic>
#include <chrono>
#include <filesystem>
#include <random>

#include "gemma4/error.h"
#include "gemma4/generator.h"
#include "gemma4/log.h"
#include "gemma4/speculative.h"
#include "gemma4/tokenizer.h"
#include "server/anthropic_schema.h"
#include "server/reply_format.h"
#include "server/responses_schema.h"
#include "server/sse_writer.h"
#include "server/template_arguments.h"
#include "server/webui.h"

namespace gemma4::server {
namespace {

using nlohmann::json;

int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string NewId(const char* prefix) {
  static std::atomic<uint64_t> counter{0};
  static const uint64_t base = std::random_device{}();
  char buf[48];
  std::snprintf(buf, sizeof buf, "%s-%08llx%08llx", prefix, static_cast<unsigned long long>(base & 0xffffffffu),
                static_cast<unsigned long long>(++counter));
  return buf;
}

// Tool call ids: "call_<request id's unique part>_<n>".
std::string CallIdPrefix(const std::string& request_id) { return "call_" + request_id.substr(request_id.find('-') + 1); }

// One request's shared state: owned by the HTTP thread, the slot thread and the stream provider.
struct Exchange {
  RequestQueue::Admission admission;  // released when the last owner (HTTP thread or slot) lets go
  bool stream = false;
  std::unique_ptr<ReplyFormat> format;
  std::shared_ptr<Job> job = std::make_shared<Job>();
  std::unique_ptr<ReplyStream> answer;
  StreamChannel channel;
  ReplyOutcome outcome;

  void PushDelta(const ReplyParser::Event& e) {
    std::string data = format->StreamDelta(e, answer->output());
    if (!data.empty()) channel.Push(std::move(data));
  }

  // On the slot's thread, once generation ended (or the queue dropped the job).
  void Finish() {
    if (!job->error) {
      answer->Finish();
      const GenerationResult& r = job->result;
      outcome.usage = {r.prompt_ids.size(), r.output_ids.size(), r.reused_tokens, r.draft_tokens, r.accepted_tokens};
      outcome.stopped_by_string = answer->stopped_by_string();
      outcome.stop_sequence = answer->matched_stop();
      if (job->timed_out) outcome.finish_reason = "length";
      else if (answer->stopped_by_string()) outcome.finish_reason = "stop";
      else if (r.stop_reason == StopReason::kLength) outcome.finish_reason = "length";
      else if (!answer->output().tool_calls.empty()) outcome.finish_reason = "tool_calls";
      else outcome.finish_reason = "stop";
    }
    if (!stream) return;
    if (job->error) channel.Push(format->StreamError(ErrorResponseFor(job->error)));
    else channel.Push(format->StreamClose(outcome, answer->output()));
    channel.Close();
  }

  // For the log line of a client that left: a job still running on its slot (it stops at its next
  // token) writes its outcome from the slot's thread, so the outcome is read only once done() has
  // published it under the job's mutex (ThreadSanitizer: server.ServerEmbedding.*).
  std::string LeftDetail() const {
    if (!job->done()) return std::string("client disconnected; stopping at its next token") + (stream ? " stream" : "");
    return "client disconnected; " + LogDetail();
  }

  std::string LogDetail() const {
    if (job->error) return "error";
    const Usage& usage = outcome.usage;
    return "prompt=" + std::to_string(usage.prompt_tokens) + " cached=" + std::to_string(usage.cached_tokens) +
           " completion=" + std::to_string(usage.completion_tokens) + " finish=" + outcome.finish_reason +
           (job->result.stop_reason == StopReason::kCancelled && outcome.finish_reason == "stop" &&
                    !answer->stopped_by_string()
                ? " (cancelled)"
                : "") +
           " slot=" + std::to_string(job->slot) + (stream ? " stream" : "");
  }
};

}  // namespace

Routes::Routes(std::shared_ptr<const Model> model, const ServerOptions& options, RequestQueue& queue, Metrics& metrics)
    : model_(std::move(model)), options_(options), queue_(queue), metrics_(metrics) {
  model_id_ = options_.model_id;
  if (model_id_.empty()) {
    std::filesystem::path root = model_->package().root;
    model_id_ = root.filename().empty() ? root.parent_path().filename().string() : root.filename().string();
  }
  created_ = UnixNow();
  defaults_ = SamplingParamsFromGenerationConfig(model_->package().generation.sampling);
  vocab_size_ = model_->vocab_size();
  markup_ = MarkupTokens::Find(*model_);
  template_takes_argument_mappings_ = model_->chat_template_takes_argument_mappings();
}

void Routes::Register(HttpTransport& http) {
  using R = HttpRequest;
  using W = HttpResponse;
  http.Post("/v1/chat/completions", "chat_completions", Auth::kRequired, [this](const R& q, W& w) { ChatCompletions(q, w); });
  http.Post("/v1/completions", "completions", Auth::kRequired, [this](const R& q, W& w) { Completions(q, w); });
  http.Post("/v1/responses", "responses", Auth::kRequired, [this](const R& q, W& w) { Responses(q, w); });
  http.Post("/v1/messages", "messages", Auth::kRequired, [this](const R& q, W& w) { Messages(q, w); },
            [](const ErrorResponse& e) { return AnthropicErrorJson(e); });
  http.Get("/v1/models", "models", Auth::kRequired, [this](const R& q, W& w) { ListModels(q, w); });
  http.Get("/health", "health", Auth::kOptional, [this](const R& q, W& w) { Health(q, w); });
  http.Get("/metrics", "metrics", Auth::kRequired, [this](const R& q, W& w) { MetricsText(q, w); });
  // The page holds no secret: the API calls it makes carry the key its user types.
  if (options_.webui) http.Get("/", "webui", Auth::kNone, [this](const R& q, W& w) { WebUi(q, w); });
}

void Routes::ChatCompletions(const HttpRequest& req, HttpResponse& res) { OpenAiGenerate(req, res, /*chat=*/true); }

void Routes::Completions(const HttpRequest& req, HttpResponse& res) { OpenAiGenerate(req, res, /*chat=*/false); }

void Routes::OpenAiGenerate(const HttpRequest& req, HttpResponse& res, bool chat) {
  // Admitted before the body is even parsed: rendering and tokenizing are the expensive part of
  // a request the queue could not take anyway.
  RequestQueue::Admission admission = queue_.Admit();
  const nlohmann::json body = ParseBody(req.body);
  GenerationRequest request = chat ? ParseChatCompletionRequest(body, vocab_size_) : ParseCompletionRequest(body, vocab_size_);
  const ResponseMeta meta{NewId(chat ? "chatcmpl" : "cmpl"), UnixNow(), model_id_};
  const bool usage = request.stream && request.include_usage, logprobs = request.top_logprobs.has_value();
  auto format = chat ? MakeOpenAiChatReply(meta, usage, logprobs) : MakeOpenAiCompletionReply(meta, usage, logprobs);
  Generate(req, std::move(request), std::move(admission), std::move(format), CallIdPrefix(meta.id), res);
}

void Routes::Responses(const HttpRequest& req, HttpResponse& res) {
  RequestQueue::Admission admission = queue_.Admit();
  GenerationRequest request = ParseChatCompletionRequest(ResponsesToChatRequest(ParseBody(req.body)), vocab_size_);
  std::string unique = NewId("x").substr(2);
  ResponseIds ids{"resp_" + unique, "msg_" + unique, "rs_" + unique};
  Generate(req, std::move(request), std::move(admission), MakeResponsesReply(ids, model_id_, UnixNow()), "call_" + unique,
           res);
}

void Routes::Messages(const HttpRequest& req, HttpResponse& res) {
  RequestQueue::Admission admission = queue_.Admit();
  GenerationRequest request = ParseChatCompletionRequest(AnthropicToChatRequest(ParseBody(req.body)), vocab_size_);
  std::string id = NewId("msg");
  id[3] = '_';  // Anthropic's ids read msg_..., its tool ids toolu_...
  Generate(req, std::move(request), std::move(admission), MakeAnthropicReply(id, model_id_), "toolu_" + id.substr(4), res);
}

void Routes::ListModels(const HttpRequest&, HttpResponse& res) {
  HttpTransport::SendJson(res, 200, ModelsJson(model_id_, created_));
}

void Routes::Health(const HttpRequest& req, HttpResponse& res) {
  // With an API key set, an anonymous caller (a load balancer) learns only that the server is up.
  if (!req.authorized) {
    HttpTransport::SendJson(res, 200, {{"status", "ok"}});
    return;
  }
  HttpTransport::SendJson(res, 200,
                          {{"status", "ok"},
                           {"model", model_id_},
                           {"slots_total", queue_.slots()},
                           {"slots_busy", queue_.busy_slots()},
                           {"queue_depth", queue_.queue_depth()}});
}

void Routes::MetricsText(const HttpRequest&, HttpResponse& res) {
  res.status = 200;
  res.set_content(metrics_.Render(queue_.queue_depth(), queue_.busy_slots(), queue_.slots()),
                  "text/plain; version=0.0.4; charset=utf-8");
}

void Routes::WebUi(const HttpRequest&, HttpResponse& res) {
  const WebPage& page = ChatPage();
  res.status = 200;
  res.set_header("Content-Security-Policy", page.content_security_policy);
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("Cache-Control", "no-cache");
  res.set_content(std::string(page.html), "text/html; charset=utf-8");
}

void Routes::Generate(const HttpRequest& http, GenerationRequest request, RequestQueue::Admission admission,
                      std::unique_ptr<ReplyFormat> format, const std::string& call_id_prefix, HttpResponse& res) {
  auto ex = std::make_shared<Exchange>();
  ex->admission = std::move(admission);
  ex->stream = request.stream;
  ex->format = std::move(format);

  // Prompt tokens.
  Job& job = *ex->job;
  if (request.chat) {
    request.chat_request.messages =
        ToolArgumentsForTemplate(std::move(request.chat_request.messages), template_takes_argument_mappings_);
    job.prompt = model_->TokenizeChat(request.chat_request);
  } else {
    job.prompt = request.prompt_ids.empty() ? model_->TokenizeRaw(request.prompt) : request.prompt_ids;
  }
  const size_t context = model_->runtime().max_context();
  if (job.prompt.size() >= context) {
    ThrowInvalid(request.chat ? "messages" : "prompt",
                 "the prompt has " + std::to_string(job.prompt.size()) + " tokens, which does not fit the context size of " +
                     std::to_string(context) + " tokens (the server's -c); shorten it",
                 "context_length_exceeded");
  }

  job.options.max_new_tokens = request.max_tokens ? *request.max_tokens : options_.default_max_tokens;
  job.options.sampling = ResolveSampling(request, defaults_, RandomSeed());
  if (options_.draft_max > 0) {
    // Prompt lookup drafts; the generator uses them for greedy requests only (exact there).
    job.options.draft = std::make_shared<PromptLookupDraft>(options_.draft_ngram, 1);
    job.options.draft_max = options_.draft_max;
  }
  job.options.grammar = request.grammar;  // turns the prompt-lookup drafts off for this request
  if (options_.timeout_s > 0) {
    job.deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options_.timeout_s));
  }

  ReplyStream::Options answer_options;
  answer_options.chat = request.chat;
  answer_options.parse_tool_calls = request.tools_enabled;
  answer_options.stop = request.stop;
  answer_options.call_id_prefix = call_id_prefix;
  if (request.chat_request.tools.is_array()) {
    for (const auto& tool : request.chat_request.tools) answer_options.tool_names.push_back(tool["function"]["name"]);
  }
  {
    const auto thinking = request.chat_request.extra.find("enable_thinking");
    answer_options.thinking_requested = thinking != request.chat_request.extra.end() && thinking->is_boolean() &&
                                        thinking->get<bool>();
  }
  answer_options.markup = &markup_;
  answer_options.stream_tool_calls = request.stream;  // unstreamed, a malformed call stays whole content
  Exchange* raw = ex.get();
  ex->answer = std::make_unique<ReplyStream>(answer_options, [raw](const ReplyParser::Event& e) {
    if (raw->stream) raw->PushDelta(e);
  });
  // on_token runs only while the job runs, when on_complete (below) still keeps the exchange
  // alive; on_complete owns it until the job is done, so the HTTP thread may leave first (a
  // client that vanished) while the slot finishes. Job::Complete drops both, ending the cycle.
  job.options.on_token = [raw](std::string_view text, int32_t token) { return raw->answer->OnToken(text, token); };
  if (request.top_logprobs) {
    job.options.top_logprobs = *request.top_logprobs;
    const Model* model = model_.get();  // outlives every request (the queue's slots hold it)
    job.options.on_logprob = [raw, model](const TokenLogprob& lp) {
      if (model->IsEos(lp.token)) return;  // the EOS id ends the answer; it is not part of its text
      auto piece = [model](int32_t id) { return model->tokenizer().Decode(std::span<const int32_t>(&id, 1), false); };
      LogprobEntry entry{piece(lp.token), lp.logprob, {}};
      for (const auto& [id, value] : lp.top) entry.top.emplace_back(piece(id), value);
      raw->format->AddLogprob(std::move(entry));
    };
  }
  job.on_complete = [ex] { ex->Finish(); };

  if (ex->stream) ex->channel.Push(ex->format->StreamOpen(job.prompt.size()));
  try {
    queue_.Submit(ex->job);  // 503 when the queue is full
  } catch (...) {
    job.on_complete = nullptr;  // never queued: nothing will complete it
    job.options.on_token = nullptr;
    throw;
  }

  RequestQueue* queue = &queue_;
  const double timeout_s = options_.timeout_s;
  auto timeout_error = [timeout_s] {
    return std::make_exception_ptr(ApiError(503, ErrorKind::kLimit,
                                            "no slot became free within the request timeout of " +
                                                std::to_string(timeout_s) + " s",
                                            {}, "timeout"));
  };
  auto gone_error = [] {
    return std::make_exception_ptr(ApiError(499, ErrorKind::kCancelled, "the client disconnected", {}, "cancelled"));
  };
  constexpr auto kPoll = std::chrono::milliseconds(200);

  if (!ex->stream) {
    bool timed_out_in_queue = false;
    Clock::time_point wait_deadline = job.deadline;
    while (!job.WaitUntil(std::min(wait_deadline, Clock::now() + kPoll))) {
      if (http.client_gone && http.client_gone()) {
        // Nobody to answer: free the queue place or the slot now; the slot's thread completes
        // a running job at its next token.
        queue->Cancel(ex->job, gone_error(), /*interrupt=*/true);
        HttpTransport::SetLogDetail(ex->LeftDetail());
        HttpTransport::SendError(res, MakeErrorResponse(499, "the client disconnected", {}, "cancelled"));
        return;
      }
      if (!timed_out_in_queue && Clock::now() >= wait_deadline) {
        timed_out_in_queue = queue->Cancel(ex->job, timeout_error());  // false: running, it stops itself
        wait_deadline = Clock::time_point::max();
      }
    }
    HttpTransport::SetLogDetail(ex->LogDetail());
    if (job.error) std::rethrow_exception(job.error);
    HttpTransport::SendJson(res, 200, ex->format->Whole(ex->answer->output(), ex->outcome));
    return;
  }

  res.status = 200;
  res.content_type = "text/event-stream";
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  res.stream = [ex, queue, timeout_error, gone_error, kPoll](ResponseSink& sink) {
    std::string data;
    bool deadline_handled = false;
    auto last_write = Clock::now();
    auto client_left = [&] {
      queue->Cancel(ex->job, gone_error(), /*interrupt=*/true);
      HttpTransport::SetLogDetail(ex->LeftDetail());
    };
    while (true) {
      const auto status = ex->channel.Pop(data, Clock::now() + kPoll);
      if (status == StreamChannel::Status::kClosed) break;
      const auto now = Clock::now();
      if (status == StreamChannel::Status::kTimeout) {
        if (sink.PeerGone()) return client_left();
        if (!deadline_handled && now >= ex->job->deadline) {
          // Still queued at the deadline: the job completes with the timeout error, which
          // arrives on the channel as the stream's last event.
          deadline_handled = true;
          if (queue->Cancel(ex->job, timeout_error())) HttpTransport::SetLogDetail("timeout in queue");
        }
        // A comment line now and then keeps proxies from closing a quiet stream.
        if (now - last_write < std::chrono::seconds(5)) continue;
        data = kSseKeepAlive;
      }
      if (!sink.Write(data)) return client_left();
      last_write = now;
    }
    HttpTransport::SetLogDetail(ex->LogDetail());
  };
}

}  // namespace gemma4::server
