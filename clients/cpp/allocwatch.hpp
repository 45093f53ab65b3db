// allocwatch.hpp: a thin C++17 wrapper over the C client (clients/c/allocwatch.h). Link the C
// implementation compiled once as C (clients/cpp/allocwatch_impl.c). See clients/cpp/README.md.
//
//   allocwatch::Client client(options);          // throws allocwatch::Error
//   // inside the allocator's critical section (or a callback the allocator runs in its order):
//   std::uint64_t seq = client.stamp(device);
//   // then, lock released:
//   client.record_alloc(device, seq, allocwatch::MemoryType::DRAM, id, address, bytes);
//   // naming what an allocation is for (docs/INTEGRATION.md section 7): define once, pass the id
//   std::uint32_t matmul = client.define_context("ttnn.matmul");
//   client.record_alloc(device, seq, allocwatch::MemoryType::DRAM, id, address, bytes, matmul);
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../c/allocwatch.h"

namespace allocwatch {

/** Memory types, numbered as on the wire (docs/PROTOCOL.md section 1). */
enum class MemoryType : int {
  DRAM = ALLOCWATCH_DRAM,
  L1 = ALLOCWATCH_L1,
  SYSTEM_MEMORY = ALLOCWATCH_SYSTEM_MEMORY,
  L1_SMALL = ALLOCWATCH_L1_SMALL,
  TRACE = ALLOCWATCH_TRACE,
  CB = ALLOCWATCH_CB,
  KERNEL = ALLOCWATCH_KERNEL,
};

constexpr int kMemoryTypeCount = ALLOCWATCH_MEMORY_TYPE_COUNT;

/** Context ids (allocwatch.h "Contexts"): 0 is none; a client defines at most kMaxContexts texts. */
constexpr std::uint32_t kNoContext = 0;
constexpr std::uint32_t kMaxContexts = ALLOCWATCH_MAX_CONTEXTS;
/** Longest context text, bytes of UTF-8. */
constexpr std::size_t kMaxContextBytes = ALLOCWATCH_MAX_CONTEXT_BYTES;

/** A C client call that failed: `status()` is the allocwatch_status code (ALLOCWATCH_EINVAL, ...). */
class Error : public std::runtime_error {
 public:
  Error(int status, const std::string& what)
      : std::runtime_error(std::string(allocwatch_strerror(status)) + ": " + what), status_(status) {}
  int status() const noexcept { return status_; }

 private:
  int status_;
};

/** A device the program reports on (HELLO). */
struct Device {
  std::uint16_t id = 0;
  std::string name;
  std::string architecture;
  std::array<std::uint64_t, kMemoryTypeCount> capacity_bytes{};  // per memory type; 0 = none/unknown
};

/** One device's snapshot, inside the snapshot callback only. Both calls throw Error on misuse. */
class Snapshot {
 public:
  explicit Snapshot(allocwatch_snapshot* native) noexcept : native_(native) {}
  void begin(std::uint64_t watermark_seq, std::uint32_t allocations) {
    check(allocwatch_snapshot_begin(native_, watermark_seq, allocations), "snapshot begin");
  }
  void add(MemoryType type, std::uint64_t allocation_id, std::uint64_t address, std::uint64_t size_bytes) {
    check(allocwatch_snapshot_add(native_, static_cast<int>(type), allocation_id, address, size_bytes),
          "snapshot add");
  }
  /** add() with the context the allocation was made under (an id from Client::define_context; 0 = none). */
  void add(MemoryType type, std::uint64_t allocation_id, std::uint64_t address, std::uint64_t size_bytes,
           std::uint32_t context_id) {
    check(allocwatch_snapshot_add_ctx(native_, static_cast<int>(type), allocation_id, address, size_bytes,
                                      context_id),
          "snapshot add");
  }

 private:
  static void check(int status, const char* what) {
    if (status != ALLOCWATCH_OK) throw Error(status, what);
  }
  allocwatch_snapshot* native_;
};

/**
 * Lists one device's live allocations (see allocwatch_snapshot_fn): runs on the client's writer thread.
 * Return true when done, false (or throw) to be asked again later.
 */
using SnapshotFn = std::function<bool(std::uint16_t device_id, Snapshot& snapshot)>;

struct Options {
  std::string socket_path;   // empty: $ALLOCWATCH_SOCKET, then the default (allocwatch.h)
  std::string process_name;  // empty: /proc/self/comm
  std::vector<Device> devices;
  SnapshotFn snapshot;  // required
  std::uint32_t queue_events = 0;  // 0 for each: the C client's default
  std::uint32_t batch_events = 0;
  std::uint32_t flush_interval_ms = 0;
  std::uint32_t reconnect_initial_ms = 0;
  std::uint32_t reconnect_max_ms = 0;
};

using Counters = allocwatch_counters;

/** Owns one allocwatch_client; move-only. Closing (destructor or close()) flushes up to the timeout. */
class Client {
 public:
  static constexpr std::chrono::milliseconds kDefaultCloseTimeout{1000};

  explicit Client(Options options) : snapshot_(std::make_unique<SnapshotFn>(std::move(options.snapshot))) {
    if (!*snapshot_) throw Error(ALLOCWATCH_EINVAL, "options.snapshot is required");
    std::vector<allocwatch_device> devices;
    devices.reserve(options.devices.size());
    for (const Device& device : options.devices) {
      allocwatch_device native{};
      native.device_id = device.id;
      native.name = device.name.c_str();
      native.architecture = device.architecture.c_str();
      for (int type = 0; type < kMemoryTypeCount; ++type) native.capacity_bytes[type] = device.capacity_bytes[type];
      devices.push_back(native);
    }
    allocwatch_options native{};
    native.socket_path = options.socket_path.empty() ? nullptr : options.socket_path.c_str();
    native.process_name = options.process_name.empty() ? nullptr : options.process_name.c_str();
    native.devices = devices.data();
    native.device_count = devices.size();
    native.snapshot = &Client::snapshot_trampoline;
    native.snapshot_user = snapshot_.get();  // heap-held: stays put when the Client moves
    native.queue_events = options.queue_events;
    native.batch_events = options.batch_events;
    native.flush_interval_ms = options.flush_interval_ms;
    native.reconnect_initial_ms = options.reconnect_initial_ms;
    native.reconnect_max_ms = options.reconnect_max_ms;
    char error[256] = {0};
    int status = allocwatch_open(&native, &client_, error, sizeof error);
    if (status != ALLOCWATCH_OK) throw Error(status, error[0] != '\0' ? error : "allocwatch_open");
  }

  ~Client() { close(); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  Client(Client&& other) noexcept
      : client_(std::exchange(other.client_, nullptr)), snapshot_(std::move(other.snapshot_)) {}
  Client& operator=(Client&& other) noexcept {
    if (this != &other) {
      close();
      client_ = std::exchange(other.client_, nullptr);
      snapshot_ = std::move(other.snapshot_);
    }
    return *this;
  }

  /** The device's next sequence number: call it inside the allocator's order (allocwatch.h). */
  std::uint64_t stamp(std::uint16_t device_id) noexcept { return allocwatch_stamp(client_, device_id); }
  std::uint64_t stamp_current(std::uint16_t device_id) noexcept {
    return allocwatch_stamp_current(client_, device_id);
  }
  void record_alloc(std::uint16_t device_id, std::uint64_t seq, MemoryType type, std::uint64_t allocation_id,
                    std::uint64_t address, std::uint64_t size_bytes) noexcept {
    allocwatch_record_alloc(client_, device_id, seq, static_cast<int>(type), allocation_id, address, size_bytes);
  }
  /** record_alloc() with the allocation's context (an id from define_context; 0 = none). */
  void record_alloc(std::uint16_t device_id, std::uint64_t seq, MemoryType type, std::uint64_t allocation_id,
                    std::uint64_t address, std::uint64_t size_bytes, std::uint32_t context_id) noexcept {
    allocwatch_record_alloc_ctx(client_, device_id, seq, static_cast<int>(type), allocation_id, address,
                                size_bytes, context_id);
  }
  void record_free(std::uint16_t device_id, std::uint64_t seq, MemoryType type, std::uint64_t allocation_id,
                   std::uint64_t address, std::uint64_t size_bytes) noexcept {
    allocwatch_record_free(client_, device_id, seq, static_cast<int>(type), allocation_id, address, size_bytes);
  }

  /**
   * The id (1, 2, ...) of a context text, defined on first use; the same text gives the same id from any
   * thread. kNoContext when it cannot be defined: empty, longer than kMaxContextBytes, holding a NUL, not
   * UTF-8, kMaxContexts defined already, or the client closed. It takes the C client's mutex and compares
   * with every text defined so far: call it once per text and keep the id. Allocates nothing.
   */
  std::uint32_t define_context(std::string_view text) noexcept {
    if (client_ == nullptr || text.empty() || text.size() > kMaxContextBytes ||
        std::memchr(text.data(), '\0', text.size()) != nullptr) {
      return kNoContext;
    }
    char terminated[kMaxContextBytes + 1];  // the C side takes a NUL-terminated text
    std::memcpy(terminated, text.data(), text.size());
    terminated[text.size()] = '\0';
    return allocwatch_define_context(client_, terminated);
  }

  /** Waits until everything recorded so far was sent; throws Error (ALLOCWATCH_ETIMEDOUT) if not in time. */
  void flush(std::chrono::milliseconds timeout) {
    int status = allocwatch_flush(client_, clamp_ms(timeout));
    if (status != ALLOCWATCH_OK) throw Error(status, "flush");
  }

  /** Flushes (up to `timeout`), says GOODBYE and frees the client; idempotent. */
  void close(std::chrono::milliseconds timeout = kDefaultCloseTimeout) noexcept {
    if (client_ != nullptr) allocwatch_close(std::exchange(client_, nullptr), clamp_ms(timeout));
  }

  Counters counters() const noexcept {
    Counters out{};
    if (client_ != nullptr) allocwatch_get_counters(client_, &out);
    return out;
  }

  bool is_open() const noexcept { return client_ != nullptr; }
  allocwatch_client* native() const noexcept { return client_; }

 private:
  static std::uint32_t clamp_ms(std::chrono::milliseconds timeout) noexcept {
    auto count = timeout.count();
    return count < 0 ? 0u : count > 0xFFFFFFFFLL ? 0xFFFFFFFFu : static_cast<std::uint32_t>(count);
  }

  // No exception may cross into C: a throwing callback counts as "ask again later".
  static int snapshot_trampoline(void* user, std::uint16_t device_id, allocwatch_snapshot* native) {
    try {
      Snapshot snapshot(native);
      return (*static_cast<SnapshotFn*>(user))(device_id, snapshot) ? 0 : 1;
    } catch (...) {
      return 1;
    }
  }

  allocwatch_client* client_ = nullptr;
  std::unique_ptr<SnapshotFn> snapshot_;
};

}  // namespace allocwatch
