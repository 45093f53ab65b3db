// The tt-metal adapter: an IGraphProcessor that reports every buffer, mesh buffer and circular buffer
// tt-metal tells its graph processors about to an allocwatch server, exactly. docs/INTEGRATION.md says
// how to install it and why the order is exact; clients/cpp/README.md how to build it.
//
// Compile against tt-metal (its include directory, which holds tt-metalium/...) or against the stand-in
// in clients/cpp/tt_metal/standin (the same header names, only what this adapter uses).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <tt-metalium/graph_tracking.hpp>
#include <tt-metalium/mesh_device.hpp>

#include "../allocwatch.hpp"

namespace allocwatch::tt_metal {

/** tt-metal's BufferType (DRAM 0, L1 1, SYSTEM_MEMORY 2, L1_SMALL 3, TRACE 4) as an allocwatch memory type. */
MemoryType memory_type_of(::tt::tt_metal::BufferType type) noexcept;

/**
 * Circular-buffer allocation ids live in their own part of the id space (bit 52 set: the wire takes ids
 * below 2^53, docs/PROTOCOL.md), so they never meet a Buffer::unique_id() (a counter from 0).
 */
constexpr std::uint64_t kCircularBufferIdBit = std::uint64_t{1} << 52;

/** What the environment asks for, read once per process (ALLOCWATCH_ENABLED, ALLOCWATCH_SOCKET). */
struct Settings {
  bool enabled = false;     // ALLOCWATCH_ENABLED=1
  std::string socket_path;  // ALLOCWATCH_SOCKET (empty: the C client's default path)
};
Settings settings_from_environment();

/** What the adapter saw that it could not report (each is a tt-metal call it dropped). */
struct AdapterCounters {
  std::uint64_t unknown_device_events = 0;  // a device the client was not opened with
  std::uint64_t unknown_frees = 0;          // track_deallocate of a buffer it never saw allocated
};

class AllocwatchProcessor final : public ::tt::tt_metal::IGraphProcessor {
 public:
  /**
   * Opens the client (options.snapshot is set here: the adapter answers snapshots from its own table).
   * `options.devices` are the chips (never a MeshDevice id) this process reports on. Throws Error.
   */
  explicit AllocwatchProcessor(Options options);
  ~AllocwatchProcessor() override;
  AllocwatchProcessor(const AllocwatchProcessor&) = delete;
  AllocwatchProcessor& operator=(const AllocwatchProcessor&) = delete;

  /** A background observer: GraphTracker::is_enabled() stays false because of it. */
  bool is_capture_processor() const override { return false; }

  void track_allocate(const ::tt::tt_metal::Buffer* buffer) override;
  void track_deallocate(::tt::tt_metal::Buffer* buffer) override;
  void track_allocate_cb(const ::tt::tt_metal::CoreRangeSet& core_range_set, std::uint64_t addr,
                         std::uint64_t size, bool is_globally_allocated,
                         const ::tt::tt_metal::IDevice* device) override;
  void track_deallocate_cb(const ::tt::tt_metal::IDevice* device) override;
  void track_program(::tt::tt_metal::Program* program, const ::tt::tt_metal::IDevice* device) override;

  Client& client() noexcept { return client_; }
  AdapterCounters counters() const noexcept;

 private:
  struct Live {
    MemoryType type;
    std::uint64_t address;
    std::uint64_t size_bytes;
  };
  // One chip: its live allocations (for snapshots) and its circular-buffer footprint, under one mutex
  // that also covers the stamp, so a snapshot's watermark matches its table exactly.
  struct Chip {
    std::uint16_t id = 0;
    std::mutex mutex;
    std::unordered_map<std::uint64_t, Live> live;  // bounded by tt-metal's own live buffers
    std::optional<std::uint64_t> cb_id;            // the footprint's current allocation id
    std::uint64_t cb_address = 0;
    std::uint64_t cb_bytes = 0;
    bool cb_round_pending = false;  // a track_program came: the next CB starts a new footprint
  };

  // The chips a tt-metal device stands for: a MeshDevice is all of its chips, a chip is itself;
  // empty (and counted) for a chip the client was not opened with.
  void chips_of(const ::tt::tt_metal::IDevice* device, std::vector<Chip*>& out);
  void append_chips(const ::tt::tt_metal::IDevice* device, std::vector<Chip*>& out);
  void allocate(Chip& chip, MemoryType type, std::uint64_t id, std::uint64_t address, std::uint64_t size_bytes);
  bool release(Chip& chip, std::uint64_t id);
  void reset_circular_buffers(Chip& chip);
  bool snapshot(std::uint16_t device_id, Snapshot& snapshot);

  std::unordered_map<std::uint16_t, std::unique_ptr<Chip>> chips_;  // fixed at construction
  std::atomic<std::uint64_t> next_cb_id_{0};
  std::atomic<std::uint64_t> unknown_device_events_{0};
  std::atomic<std::uint64_t> unknown_frees_{0};
  Client client_;  // last: closed (writer thread stopped) before the tables above go
};

/**
 * The process's one processor, made on first call from the environment (settings_from_environment) with
 * `devices`; nullptr when ALLOCWATCH_ENABLED is not 1 or opening failed (the reason goes to stderr once).
 * Later calls return the same processor and ignore `devices`.
 */
std::shared_ptr<AllocwatchProcessor> shared_processor(const std::vector<Device>& devices);

/**
 * Pushes `processor` onto the calling thread's GraphTracker list once per thread (tt-metal's list is
 * thread_local: every thread that allocates, frees or builds programs must call this). Returns false
 * when it was already registered on this thread or `processor` is null.
 */
bool register_on_this_thread(const std::shared_ptr<AllocwatchProcessor>& processor);

}  // namespace allocwatch::tt_metal
