// Stand-in for tt-metal's BufferType (numbered as in tt-metal: DRAM 0 .. TRACE 4), so that the adapter
// compiles and is tested without tt-metal. Only what the adapter uses; see ../README.md.
#pragma once

#include <cstdint>

namespace tt::tt_metal {

using DeviceAddr = std::uint64_t;

enum class BufferType : int { DRAM = 0, L1 = 1, SYSTEM_MEMORY = 2, L1_SMALL = 3, TRACE = 4 };

}  // namespace tt::tt_metal
