// The tt-metal adapter: an IGraphProcessor that reports every buffer, mesh buffer and circular buffer
// tt-metal tells its graph processors about to an allocwatch server, exactly. docs/INTEGRATION.md says
// how to install it and why the order is exact; clients/cpp/README.md how to build it.
//
// Compile against tt-metal (its include directory, which holds tt-metalium/...) or against the stand-in
// in clients/cpp/tt_metal/standin (the same header names, only what this adapter uses). C++20, as
// tt-metal (std::span in track_function_start); the wrapper underneath (../allocwatch.hpp) is C++17.
#pragma once

#include <any>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
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

/**
 * The element type of track_function_start's argument span: tt-metal's TrackedArgument in the newest
 * trees; define ALLOCWATCH_TT_METAL_ANY_ARGUMENTS for older ones, whose span holds std::any.
 */
#ifdef ALLOCWATCH_TT_METAL_ANY_ARGUMENTS
using FunctionArgument = std::any;
#else
using FunctionArgument = ::tt::tt_metal::TrackedArgument;
#endif

/**
 * Function names kept per thread (docs/INTEGRATION.md section 7). Deeper starts are counted but not named,
 * so their ends still match and the allocations under them carry the deepest kept name.
 */
constexpr std::uint32_t kMaxFunctionDepth = 64;
/** Processors whose function stacks one thread holds at once (one per process in practice). */
constexpr std::size_t kFunctionStacksPerThread = 4;

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
  std::uint64_t unnamed_functions = 0;      // a function start whose name got no context (id 0)
  std::uint64_t functions_past_depth = 0;   // a function start deeper than kMaxFunctionDepth
  std::uint64_t functions_without_stack = 0;  // a start on a thread whose kFunctionStacksPerThread were taken
  std::uint64_t unmatched_function_ends = 0;  // a track_function_end with no function open (ignored)
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

  /** Opens function `function_name` on the calling thread: what it allocates carries its name. */
  void track_function_start(std::string_view function_name, std::span<FunctionArgument> input_parameters) override;
  /** Closes the calling thread's innermost function; with none open, does nothing (counted). */
  void track_function_end() override;
  void track_function_end(const std::any& output_tensors) override;

  /** The context the calling thread's allocations carry now: its innermost function's (0 outside any). */
  std::uint32_t current_context() const noexcept;

  /**
   * The context id of a function name, defined with the client on first sight and cached (at most
   * kMaxContexts names, refused ones included; later new names get 0 without asking). 0 when the client
   * refuses it (Client::define_context). Allocates only the first time a name is seen.
   */
  std::uint32_t context_of(std::string_view name);

  Client& client() noexcept { return client_; }
  AdapterCounters counters() const noexcept;

 private:
  struct Live {
    MemoryType type;
    std::uint64_t address;
    std::uint64_t size_bytes;
    std::uint32_t context;  // what it was made under, for snapshots
  };
  // Heterogeneous lookup: a std::string_view finds its name without building a std::string.
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view name) const noexcept { return std::hash<std::string_view>{}(name); }
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
  void allocate(Chip& chip, MemoryType type, std::uint64_t id, std::uint64_t address, std::uint64_t size_bytes,
                std::uint32_t context);
  bool release(Chip& chip, std::uint64_t id);
  void reset_circular_buffers(Chip& chip);
  bool snapshot(std::uint16_t device_id, Snapshot& snapshot);

  std::unordered_map<std::uint16_t, std::unique_ptr<Chip>> chips_;  // fixed at construction
  const std::uint64_t serial_;  // tells this processor's per-thread function stacks from others'
  std::shared_mutex contexts_mutex_;
  std::unordered_map<std::string, std::uint32_t, NameHash, std::equal_to<>> contexts_;  // <= kMaxContexts
  std::atomic<std::uint64_t> unnamed_functions_{0};
  std::atomic<std::uint64_t> functions_past_depth_{0};
  std::atomic<std::uint64_t> functions_without_stack_{0};
  std::atomic<std::uint64_t> unmatched_function_ends_{0};
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
