#include "output/text_out.hpp"

namespace ots::text {

void TextOut::grow(size_t n) {
  const size_t used = size();
  if (buf_ != nullptr) {
    // At least doubled: a batch whose text outruns the room made for it is copied a few times, not
    // once per request.
    buf_->set_size(used);
    buf_->reserve(std::max({used + n, used + kGrow, 2 * buf_->capacity()}));
  } else {
    // Within the capacity the string has when that is enough, so that a string made room for ahead is
    // not made to reallocate by the step.
    size_t want = used + std::max(n, kGrow);
    if (used + n <= str_->capacity()) want = std::min(want, str_->capacity());
    str_->resize(want);
  }
  sync(used);
  if (str_ != nullptr) end_ = base_ + str_->size();
}

}  // namespace ots::text
