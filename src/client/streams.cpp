#include "streams.hpp"

#include <algorithm>

#include "../protocol/json_text.hpp"

namespace sb::client {

std::optional<StreamAnswer> stream_answer(std::string_view obj) {
  namespace jt = protocol::json_text;
  long long offset = 0;
  StreamAnswer a;
  if (!jt::get_int(jt::member(obj, "offset"), offset) || offset < 0 || !jt::get_string(jt::member(obj, "epoch"), a.top.epoch))
    return std::nullopt;
  a.top.offset = static_cast<std::uint64_t>(offset);
  auto r = jt::member(obj, "recovered");
  if (r == "true" || r == "false") a.recovered = r == "true";
  return a;
}

void StreamCursor::track(std::string_view name) {
  if (name == name_) return;
  name_.assign(name);
  pos_.reset();
}

bool StreamCursor::accept(std::string_view epoch, std::uint64_t offset) {
  if (offset == 0) return true;
  if (pos_ && pos_->epoch == epoch) {
    if (offset <= pos_->offset) return false;
    pos_->offset = offset;
    return true;
  }
  // First frame, or a new epoch (its history was lost): start following it here.
  pos_ = protocol::StreamPosition{offset, std::string(epoch)};
  return true;
}

bool StreamCursor::settle(const StreamAnswer& answer, bool asked) {
  if (asked && answer.recovered == true && pos_ && pos_->epoch == answer.top.epoch)
    return false;  // the replay (before a join's ok, after a welcome) moves the position itself
  bool failed = asked;
  if (!failed && pos_ && pos_->epoch == answer.top.epoch)
    pos_->offset = std::max(pos_->offset, answer.top.offset);  // a live frame overtook the answer
  else
    pos_ = answer.top;
  return failed;
}

void StreamCursor::reset() {
  name_.clear();
  pos_.reset();
}

}  // namespace sb::client
