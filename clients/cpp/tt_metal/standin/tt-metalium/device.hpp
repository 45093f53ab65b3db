// Stand-in for tt-metal's IDevice: a chip with an id and its allocator (one allocator per device, with
// its own mutex, as tt-metal's AllocatorImpl). MeshDevice (mesh_device.hpp) is an IDevice too.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "buffer_types.hpp"

namespace tt::tt_metal {

using ChipId = int;

class StandinAllocator;

class IDevice {
 public:
  explicit IDevice(ChipId id);
  /** `address_base`: where its allocator's addresses start (a mesh's lockstep region lies apart). */
  IDevice(ChipId id, DeviceAddr address_base);
  virtual ~IDevice();
  IDevice(const IDevice&) = delete;
  IDevice& operator=(const IDevice&) = delete;

  ChipId id() const { return id_; }
  StandinAllocator& allocator() const { return *allocator_; }

 private:
  ChipId id_;
  std::unique_ptr<StandinAllocator> allocator_;
};

}  // namespace tt::tt_metal
