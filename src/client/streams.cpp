#include "streams.hpp"

#include <algorithm>

namespace sb::client {

std::optional<StreamAnswer> stream_answer(const nlohmann::json& obj) {
  if (!obj.is_object()) return std::nullopt;
  auto offset = obj.find("offset"), epoch = obj.find("epoch");
  if (offset == obj.end() || !offset->is_number_unsigned() || epoch == obj.end() || !epoch->is_string())
    return std::nullopt;
  StreamAnswer a;
  a.top.offset = offset->get<std::uint64_t>();
  a.top.epoch = epoch->get<std::string>();
  if (auto r = obj.find("recovered"); r != obj.end() && r->is_boolean()) a.recovered = r->get<bool>();
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
