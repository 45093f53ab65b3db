// Stand-in for tt-metal's Program: opaque to the adapter (it only sees the pointer in track_program).
#pragma once

namespace tt::tt_metal {

class Program {};

}  // namespace tt::tt_metal
