// Errors as OpenAI clients expect them: an HTTP status plus {"error":{"message","type","param","code"}}.
// Handlers throw ApiError (or any gemma4::Error); one wrapper turns either into a JSON response.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "gemma4/error.h"

namespace gemma4::server {

// A gemma4::Error that also knows its HTTP status, the request field at fault and OpenAI's code.
class ApiError : public Error {
 public:
  ApiError(int status, ErrorKind kind, const std::string& message, std::string param = {}, std::string code = {})
      : Error(kind, message), status_(status), param_(std::move(param)), code_(std::move(code)) {}
  int status() const { return status_; }
  const std::string& param() const { return param_; }
  const std::string& code() const { return code_; }

 private:
  int status_;
  std::string param_;
  std::string code_;
};

// 400 invalid_request_error naming `param`: "<param>: <what>".
[[noreturn]] void ThrowInvalid(const std::string& param, const std::string& what, std::string code = {});

// HTTP status for an error kind: invalid_argument/unsupported/limit 400, not_found 404,
// cancelled 499, everything else 500.
int HttpStatusFor(ErrorKind kind);

// OpenAI's error "type" for a status: 401 authentication_error, 404 not_found_error,
// 429/503 server overloaded, 4xx invalid_request_error, 5xx server_error.
std::string ErrorTypeFor(int status);

struct ErrorResponse {
  int status;
  nlohmann::json body;
};

// The response for any exception a handler let out (never throws itself).
ErrorResponse ErrorResponseFor(std::exception_ptr error);
ErrorResponse MakeErrorResponse(int status, const std::string& message, const std::string& param = {},
                                const std::string& code = {});

}  // namespace gemma4::server
