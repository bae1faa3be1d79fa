// The Responses API stream: response.created, then output items (reasoning, message,
// function_call), each added, filled by deltas and marked done, then response.completed (or
// response.incomplete when max_output_tokens ran out). Every event carries a sequence_number.
#include "server/reply_format.h"
#include "server/responses_schema.h"

namespace gemma4::server {
namespace {

using nlohmann::json;

class ResponsesReply : public ReplyFormat {
 public:
  ResponsesReply(ResponseIds ids, std::string model, int64_t created_at)
      : ids_(std::move(ids)), model_(std::move(model)), created_at_(created_at) {}

  std::string StreamOpen(size_t) override {
    const json response = ResponseObjectJson(ids_, model_, created_at_, nullptr, nullptr);
    std::string out = Event({{"type", "response.created"}, {"response", response}});  // numbered first
    return out + Event({{"type", "response.in_progress"}, {"response", response}});
  }

  std::string StreamDelta(const ReplyParser::Event& e, const AssistantOutput&) override {
    std::string out;
    // A streamed call is a function_call item: added with empty arguments, filled by
    // function_call_arguments.delta pieces, then .done and output_item.done with the whole call.
    if (e.kind == ReplyParser::Event::kToolCallBegin) {
      out += CloseItem();
      open_ = Item::kFunctionCall;
      call_ = e.call;
      out += Event({{"type", "response.output_item.added"}, {"output_index", index_}, {"item", FunctionCallItemJson(call_, false)}});
      return out;
    }
    if (e.kind == ReplyParser::Event::kToolCallArguments) {
      call_.arguments += e.text;
      return Event({{"type", "response.function_call_arguments.delta"}, {"item_id", "fc_" + call_.id},
                    {"output_index", index_}, {"delta", e.text}});
    }
    if (e.kind == ReplyParser::Event::kToolCall) {
      call_ = e.call;
      return CloseItem();
    }
    const bool reasoning = e.kind == ReplyParser::Event::kReasoning;
    const Item want = reasoning ? Item::kReasoning : Item::kMessage;
    if (open_ != want) {
      out += CloseItem();
      open_ = want;
      text_.clear();
      if (reasoning) {
        out += Event({{"type", "response.output_item.added"}, {"output_index", index_}, {"item", ReasoningItemJson(ids_.reasoning, "")}});
      } else {
        out += Event({{"type", "response.output_item.added"}, {"output_index", index_},
                      {"item", MessageItemJson(ids_.message, "", false)}});
        out += Event({{"type", "response.content_part.added"}, {"item_id", ids_.message}, {"output_index", index_},
                      {"content_index", 0}, {"part", {{"type", "output_text"}, {"text", ""}, {"annotations", json::array()}}}});
      }
    }
    text_ += e.text;
    out += Event({{"type", reasoning ? "response.reasoning_text.delta" : "response.output_text.delta"},
                  {"item_id", reasoning ? ids_.reasoning : ids_.message}, {"output_index", index_}, {"content_index", 0},
                  {"delta", e.text}});
    return out;
  }

  std::string StreamClose(const ReplyOutcome& o, const AssistantOutput& output) override {
    std::string out = CloseItem();
    const ResponsesOutcome outcome{o.finish_reason, o.usage};
    const json response = ResponseObjectJson(ids_, model_, created_at_, &output, &outcome);
    const bool incomplete = o.finish_reason == "length";
    return out + Event({{"type", incomplete ? "response.incomplete" : "response.completed"}, {"response", response}});
  }

  std::string StreamError(const ErrorResponse& error) override {
    const json& e = error.body["error"];
    return Event({{"type", "error"}, {"code", e.value("code", json(nullptr))}, {"message", e.value("message", std::string())},
                  {"param", e.value("param", json(nullptr))}});
  }

  json Whole(const AssistantOutput& output, const ReplyOutcome& o) override {
    const ResponsesOutcome outcome{o.finish_reason, o.usage};
    return ResponseObjectJson(ids_, model_, created_at_, &output, &outcome);
  }

 private:
  enum class Item { kNone, kReasoning, kMessage, kFunctionCall };

  std::string Event(json data) {
    data["sequence_number"] = sequence_++;
    const std::string type = data["type"].get<std::string>();
    return "event: " + type + "\ndata: " + Dump(data) + "\n\n";
  }

  std::string CloseItem() {
    std::string out;
    if (open_ == Item::kMessage) {
      out += Event({{"type", "response.output_text.done"}, {"item_id", ids_.message}, {"output_index", index_},
                    {"content_index", 0}, {"text", text_}});
      out += Event({{"type", "response.content_part.done"}, {"item_id", ids_.message}, {"output_index", index_},
                    {"content_index", 0}, {"part", {{"type", "output_text"}, {"text", text_}, {"annotations", json::array()}}}});
      out += Event({{"type", "response.output_item.done"}, {"output_index", index_++}, {"item", MessageItemJson(ids_.message, text_, true)}});
    } else if (open_ == Item::kFunctionCall) {
      out += Event({{"type", "response.function_call_arguments.done"}, {"item_id", "fc_" + call_.id},
                    {"output_index", index_}, {"arguments", call_.arguments}});
      out += Event({{"type", "response.output_item.done"}, {"output_index", index_++}, {"item", FunctionCallItemJson(call_, true)}});
    } else if (open_ == Item::kReasoning) {
      out += Event({{"type", "response.reasoning_text.done"}, {"item_id", ids_.reasoning}, {"output_index", index_},
                    {"content_index", 0}, {"text", text_}});
      out += Event({{"type", "response.output_item.done"}, {"output_index", index_++}, {"item", ReasoningItemJson(ids_.reasoning, text_)}});
    }
    open_ = Item::kNone;
    return out;
  }

  ResponseIds ids_;
  std::string model_;
  int64_t created_at_;
  Item open_ = Item::kNone;
  size_t index_ = 0;
  size_t sequence_ = 0;
  std::string text_;
  ToolCall call_;  // the function_call item open
};

}  // namespace

std::unique_ptr<ReplyFormat> MakeResponsesReply(ResponseIds ids, std::string model, int64_t created_at) {
  return std::make_unique<ResponsesReply>(std::move(ids), std::move(model), created_at);
}

}  // namespace gemma4::server
