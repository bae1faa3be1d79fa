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
#include "server/sse_writer.h"

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

uint64_t RandomSeed() {
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) ^ rd();
}

// One request's shared state: owned by the HTTP thread, the slot thread and the stream provider.
struct Exchange {
  bool chat = true;
  bool stream = false;
  bool include_usage = false;
  ResponseMeta meta;
  std::shared_ptr<Job> job = std::make_shared<Job>();
  std::unique_ptr<AnswerStream> answer;
  StreamChannel channel;
  std::string finish_reason;
  Usage usage;

  void PushChunk(const json& chunk) { channel.Push(SseEvent(Dump(chunk))); }

  void PushDelta(const OutputParser::Event& e) {
    if (!chat) {
      PushChunk(CompletionChunkJson(meta, e.text, {}, include_usage));
      return;
    }
    json delta;
    if (e.kind == OutputParser::Event::kContent) delta = {{"content", e.text}};
    else if (e.kind == OutputParser::Event::kReasoning) delta = {{"reasoning_content", e.text}};
    else delta = {{"tool_calls", json::array({ToolCallDeltaJson(answer->output().tool_calls.size() - 1, e.call)})}};
    PushChunk(ChatChunkJson(meta, std::move(delta), {}, include_usage));
  }

  // On the slot's thread, once generation ended (or the queue dropped the job).
  void Finish() {
    if (!job->error) {
      answer->Finish();
      const GenerationResult& r = job->result;
      usage = {r.prompt_ids.size(), r.output_ids.size(), r.reused_tokens};
      if (job->timed_out) finish_reason = "length";
      else if (answer->stopped_by_string()) finish_reason = "stop";
      else if (r.stop_reason == StopReason::kLength) finish_reason = "length";
      else if (!answer->output().tool_calls.empty()) finish_reason = "tool_calls";
      else finish_reason = "stop";
    }
    if (!stream) return;
    if (job->error) {
      const ErrorResponse e = ErrorResponseFor(job->error);
      channel.Push(SseEvent(Dump(e.body)));
    } else {
      if (chat) PushChunk(ChatChunkJson(meta, json::object(), finish_reason, include_usage));
      else PushChunk(CompletionChunkJson(meta, "", finish_reason, include_usage));
      if (include_usage) PushChunk(UsageChunkJson(meta, chat, usage));
    }
    channel.Push(std::string(kSseDone));
    channel.Close();
  }

  std::string LogDetail() const {
    if (job->error) return "error";
    return "prompt=" + std::to_string(usage.prompt_tokens) + " cached=" + std::to_string(usage.cached_tokens) +
           " completion=" + std::to_string(usage.completion_tokens) + " finish=" + finish_reason +
           (job->result.stop_reason == StopReason::kCancelled && finish_reason == "stop" && !answer->stopped_by_string()
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
  vocab_size_ = static_cast<size_t>(model_->runtime().decoder_io().vocab_size);
  // Find the markup tokens by tokenizing each marker: one id after <bos> means a single token.
  const auto bos = model_->package().generation.bos_token_id;
  auto find = [&](const std::string& marker, std::map<int32_t, std::string>& table) {
    try {
      std::vector<int32_t> ids = model_->TokenizeRaw(marker);
      if (!ids.empty() && bos && ids.front() == *bos) ids.erase(ids.begin());
      if (ids.size() == 1) table[ids[0]] = marker;
    } catch (const std::exception& e) {
      Log(LogLevel::kDebug, std::string("server: cannot tokenize marker ") + marker + ": " + e.what());
    }
  };
  find("<|channel>", markup_.channel);
  find("<channel|>", markup_.channel);
  find("<|tool_call>", markup_.tool);
  find("<tool_call|>", markup_.tool);
  find("<|\"|>", markup_.quote);
}

void Routes::Register(HttpTransport& http) {
  using R = httplib::Request;
  using W = httplib::Response;
  http.Post("/v1/chat/completions", "chat_completions", true, [this](const R& q, W& w) { ChatCompletions(q, w); });
  http.Post("/v1/completions", "completions", true, [this](const R& q, W& w) { Completions(q, w); });
  http.Get("/v1/models", "models", true, [this](const R& q, W& w) { ListModels(q, w); });
  http.Get("/health", "health", false, [this](const R& q, W& w) { Health(q, w); });
  http.Get("/metrics", "metrics", true, [this](const R& q, W& w) { MetricsText(q, w); });
}

void Routes::ChatCompletions(const httplib::Request& req, httplib::Response& res) {
  Generate(ParseChatCompletionRequest(ParseBody(req.body), vocab_size_), res);
}

void Routes::Completions(const httplib::Request& req, httplib::Response& res) {
  Generate(ParseCompletionRequest(ParseBody(req.body), vocab_size_), res);
}

void Routes::ListModels(const httplib::Request&, httplib::Response& res) {
  HttpTransport::SendJson(res, 200, ModelsJson(model_id_, created_));
}

void Routes::Health(const httplib::Request&, httplib::Response& res) {
  HttpTransport::SendJson(res, 200,
                          {{"status", "ok"},
                           {"model", model_id_},
                           {"slots_total", queue_.slots()},
                           {"slots_busy", queue_.busy_slots()},
                           {"queue_depth", queue_.queue_depth()}});
}

void Routes::MetricsText(const httplib::Request&, httplib::Response& res) {
  res.status = 200;
  res.set_content(metrics_.Render(queue_.queue_depth(), queue_.busy_slots(), queue_.slots()),
                  "text/plain; version=0.0.4; charset=utf-8");
}

void Routes::Generate(GenerationRequest request, httplib::Response& res) {
  auto ex = std::make_shared<Exchange>();
  ex->chat = request.chat;
  ex->stream = request.stream;
  ex->include_usage = request.stream && request.include_usage;
  ex->meta = {NewId(request.chat ? "chatcmpl" : "cmpl"), UnixNow(), model_id_};

  // Prompt tokens.
  Job& job = *ex->job;
  if (request.chat) {
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
  if (options_.timeout_s > 0) {
    job.deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options_.timeout_s));
  }

  AnswerStream::Options answer_options;
  answer_options.chat = request.chat;
  answer_options.parse_tool_calls = request.tools_enabled;
  answer_options.stop = request.stop;
  answer_options.call_id_prefix = "call_" + ex->meta.id.substr(ex->meta.id.find('-') + 1);
  answer_options.markup = &markup_;
  Exchange* raw = ex.get();  // the job lives inside the exchange: no ownership cycle through callbacks
  ex->answer = std::make_unique<AnswerStream>(answer_options, [raw](const OutputParser::Event& e) {
    if (raw->stream) raw->PushDelta(e);
  });
  job.options.on_token = [raw](std::string_view text, int32_t token) { return raw->answer->OnToken(text, token); };
  job.on_complete = [raw] { raw->Finish(); };

  if (ex->stream) {
    // The role chunk goes out at once, so the client sees the stream open even while queued.
    if (ex->chat) ex->PushChunk(ChatChunkJson(ex->meta, {{"role", "assistant"}, {"content", ""}}, {}, ex->include_usage));
  }
  queue_.Submit(ex->job);  // 503 when the queue is full

  if (!ex->stream) {
    const Clock::time_point deadline = job.deadline;
    if (deadline == Clock::time_point::max()) {
      job.Wait();
    } else if (!job.WaitUntil(deadline)) {
      if (queue_.Cancel(ex->job)) {
        throw ApiError(503, ErrorKind::kLimit,
                       "no slot became free within the request timeout of " + std::to_string(options_.timeout_s) + " s",
                       {}, "timeout");
      }
      job.Wait();  // running: it stops at its next token
    }
    HttpTransport::SetLogDetail(ex->LogDetail());
    if (job.error) std::rethrow_exception(job.error);
    const json body = ex->chat ? ChatCompletionJson(ex->meta, ex->answer->output(), ex->finish_reason, ex->usage)
                               : CompletionJson(ex->meta, ex->answer->output().content, ex->finish_reason, ex->usage);
    HttpTransport::SendJson(res, 200, body);
    return;
  }

  res.status = 200;
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  RequestQueue* queue = &queue_;
  const double timeout_s = options_.timeout_s;
  res.set_chunked_content_provider(
      "text/event-stream",
      [ex, queue, timeout_s](size_t, httplib::DataSink& sink) {
        std::string data;
        bool dropped_from_queue = false;
        while (true) {
          const auto now = Clock::now();
          const auto status = ex->channel.Pop(data, now + std::chrono::seconds(1));
          if (status == StreamChannel::Status::kClosed) break;
          if (status == StreamChannel::Status::kTimeout) {
            if (!dropped_from_queue && now >= ex->job->deadline && queue->Cancel(ex->job)) {
              // Still queued at the deadline: end the stream with an error.
              dropped_from_queue = true;
              const ErrorResponse e = MakeErrorResponse(
                  503, "no slot became free within the request timeout of " + std::to_string(timeout_s) + " s", {}, "timeout");
              data = SseEvent(Dump(e.body)) + std::string(kSseDone);
              if (sink.write(data.data(), data.size())) sink.done();
              HttpTransport::SetLogDetail("timeout in queue");
              return true;
            }
            data = kSseKeepAlive;  // notices a vanished client while nothing else is sent
          }
          if (!sink.write(data.data(), data.size())) {
            // The client is gone: stop generating (or drop the queued request) right away.
            if (!queue->Cancel(ex->job)) ex->job->Wait();
            HttpTransport::SetLogDetail("client disconnected; " + ex->LogDetail());
            return false;
          }
        }
        sink.done();
        HttpTransport::SetLogDetail(ex->LogDetail());
        return true;
      },
      [ex, queue](bool success) {
        // The response was abandoned before the provider finished (e.g. the client vanished
        // before the headers went out): make sure the job does not run on for nobody.
        if (!success && !ex->job->done()) {
          if (!queue->Cancel(ex->job)) ex->job->Wait();
        }
      });
}

}  // namespace gemma4::server
