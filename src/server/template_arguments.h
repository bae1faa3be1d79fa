// Tool-call arguments in the shape the package's chat template expects. The wire formats differ
// (OpenAI sends a JSON string, Anthropic an object, Responses a string) and transformers passes
// messages to the template unchanged, so the server decides once, from the template
// (gemma4::TemplateTakesArgumentMappings), and converts here.
#pragma once

#include <nlohmann/json.hpp>

namespace gemma4::server {

// `mapping` true: tool_calls[].function.arguments given as a JSON string that encodes an object
// becomes that object (any other string stays as is); false: an object becomes its JSON text.
// Messages without tool calls, and entries of any other shape, are left untouched.
nlohmann::ordered_json ToolArgumentsForTemplate(nlohmann::ordered_json messages, bool mapping);

}  // namespace gemma4::server
