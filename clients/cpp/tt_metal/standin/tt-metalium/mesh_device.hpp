// Stand-in for tt-metal's MeshDevice: an IDevice of its own (with an id that is NOT a chip id, and a
// lockstep allocator that gives one address valid on every chip), over the chips get_devices() lists.
#pragma once

#include <vector>

#include "device.hpp"

namespace tt::tt_metal::distributed {

class MeshDevice : public IDevice {
 public:
  static constexpr DeviceAddr kAddressBase = DeviceAddr{1} << 40;
  MeshDevice(ChipId mesh_id, std::vector<IDevice*> devices)
      : IDevice(mesh_id, kAddressBase), devices_(std::move(devices)) {}
  std::vector<IDevice*> get_devices() const { return devices_; }

 private:
  std::vector<IDevice*> devices_;
};

}  // namespace tt::tt_metal::distributed
