// Stand-in for tt-metal's CoreRangeSet: only the core count, which the adapter multiplies a circular
// buffer's per-core size by.
#pragma once

#include <cstdint>

namespace tt::tt_metal {

class CoreRangeSet {
 public:
  explicit CoreRangeSet(std::uint32_t cores) : cores_(cores) {}
  std::uint32_t num_cores() const { return cores_; }

 private:
  std::uint32_t cores_;
};

}  // namespace tt::tt_metal
