// The outcome of one API call of the client core, and the callback that receives it.
#pragma once
#include <functional>
#include <string>

namespace sb::client {

// On failure `code` is a protocol error code (errors.hpp).
struct Result {
  bool ok = false;
  std::string code;
  std::string message;
  std::string data_json;  // replies that carry data (lists); empty otherwise
};

using Reply = std::function<void(const Result&)>;

}  // namespace sb::client
