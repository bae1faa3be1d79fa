// Maps gemma4 errors to OpenAI-shaped JSON error responses.
#include "server/api_error.h"

namespace gemma4::server {

void ThrowInvalid(const std::string& param, const std::string& what, std::string code) {
  throw ApiError(400, ErrorKind::kInvalidArgument, param.empty() ? what : param + ": " + what, param,
                 std::move(code));
}

int HttpStatusFor(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalidArgument:
    case ErrorKind::kUnsupported:
    case ErrorKind::kLimit: return 400;
    case ErrorKind::kNotFound: return 404;
    case ErrorKind::kCancelled: return 499;
    case ErrorKind::kCorrupt:
    case ErrorKind::kRuntime: return 500;
  }
  return 500;
}

std::string ErrorTypeFor(int status) {
  if (status == 401) return "authentication_error";
  if (status == 403) return "permission_error";
  if (status == 404) return "not_found_error";
  if (status == 429 || status == 503) return "server_overloaded";
  if (status >= 500) return "server_error";
  return "invalid_request_error";
}

ErrorResponse MakeErrorResponse(int status, const std::string& message, const std::string& param,
                                const std::string& code) {
  nlohmann::json error = {{"message", message},
                          {"type", ErrorTypeFor(status)},
                          {"param", param.empty() ? nlohmann::json(nullptr) : nlohmann::json(param)},
                          {"code", code.empty() ? nlohmann::json(nullptr) : nlohmann::json(code)}};
  return {status, {{"error", std::move(error)}}};
}

ErrorResponse ErrorResponseFor(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const ApiError& e) {
    return MakeErrorResponse(e.status(), e.what(), e.param(), e.code());
  } catch (const Error& e) {
    const int status = HttpStatusFor(e.kind());
    return MakeErrorResponse(status, e.what(), {}, std::string(ErrorKindName(e.kind())));
  } catch (const std::bad_alloc&) {
    return MakeErrorResponse(500, "out of memory", {}, "internal_error");
  } catch (const std::exception& e) {
    return MakeErrorResponse(500, std::string("internal error: ") + e.what(), {}, "internal_error");
  } catch (...) {
    return MakeErrorResponse(500, "internal error", {}, "internal_error");
  }
}

}  // namespace gemma4::server
