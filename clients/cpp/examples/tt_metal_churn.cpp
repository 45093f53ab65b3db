// Drives the tt-metal adapter through the stand-in (clients/cpp/tt_metal/standin) from T threads on D
// chips (and, for D >= 2, a MeshDevice over all of them), with the churn contract every native client's
// example honours (test/clients/churn-harness.ts):
//   tt_metal_churn --socket PATH --threads T --ops N --devices D --hold-ms H
// prints ONE JSON line {"pid": P, "events": E, "live": {"<device>": {"<MEMORY_TYPE>": bytes}}} with the
// live set it holds (computed from the stand-in's buffers, not from the adapter), holds it H ms, exits 0.
// Its work runs inside TT-NN-like functions (GraphTracker::track_function_start/end), so the server sees
// every allocation's context: each thread's loop is "churn.thread"; about half the buffers are created
// inside a nested "churn.create"; circular buffers are placed inside "churn.program" (a last placement on
// chip 0 after the loop, so a CB footprint is live at the end).
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "../tt_metal/allocwatch_processor.hpp"

namespace ttm = ::tt::tt_metal;

namespace {

struct Arguments {
  std::string socket;
  int threads = 4;
  int ops = 1000;
  int devices = 1;
  int hold_ms = 0;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr, "tt_metal_churn: %s\nusage: tt_metal_churn --socket PATH --threads T --ops N --devices D --hold-ms H\n", why);
  std::exit(2);
}

Arguments parse(int argc, char** argv) {
  Arguments out;
  for (int i = 1; i < argc; i += 2) {
    if (i + 1 >= argc) usage("every option takes a value");
    const std::string name = argv[i];
    const char* value = argv[i + 1];
    char* end = nullptr;
    const long number = std::strtol(value, &end, 10);
    const bool numeric = *value != '\0' && *end == '\0' && number >= 0 && number <= 100000000;
    if (name == "--socket") out.socket = value;
    else if (!numeric) usage(("not a number: " + name + " " + value).c_str());
    else if (name == "--threads") out.threads = static_cast<int>(number);
    else if (name == "--ops") out.ops = static_cast<int>(number);
    else if (name == "--devices") out.devices = static_cast<int>(number);
    else if (name == "--hold-ms") out.hold_ms = static_cast<int>(number);
    else usage(("unknown option " + name).c_str());
  }
  if (out.socket.empty()) usage("--socket is required");
  if (out.threads < 1 || out.devices < 1 || out.devices > 64) usage("--threads >= 1, --devices 1..64");
  return out;
}

const char* const kTypeNames[] = {"DRAM", "L1", "SYSTEM_MEMORY", "L1_SMALL", "TRACE", "CB", "KERNEL"};

}  // namespace

int main(int argc, char** argv) {
  const Arguments args = parse(argc, argv);
  std::vector<std::unique_ptr<ttm::IDevice>> chips;
  std::vector<ttm::IDevice*> chip_pointers;
  allocwatch::Options options;
  options.socket_path = args.socket;
  options.process_name = "tt_metal_churn";
  for (int id = 0; id < args.devices; ++id) {
    chips.push_back(std::make_unique<ttm::IDevice>(id));
    chip_pointers.push_back(chips.back().get());
    allocwatch::Device device;
    device.id = static_cast<std::uint16_t>(id);
    device.name = "standin_chip";
    device.architecture = "STANDIN";
    options.devices.push_back(device);
  }
  // A mesh's own id is never a chip id; its buffers are reported on each chip.
  ttm::distributed::MeshDevice mesh(1000, chip_pointers);
  std::vector<ttm::IDevice*> targets = chip_pointers;
  if (args.devices >= 2) targets.push_back(&mesh);

  std::shared_ptr<allocwatch::tt_metal::AllocwatchProcessor> processor;
  try {
    processor = std::make_shared<allocwatch::tt_metal::AllocwatchProcessor>(std::move(options));
  } catch (const allocwatch::Error& error) {
    std::fprintf(stderr, "tt_metal_churn: %s\n", error.what());
    return 1;
  }

  const ttm::BufferType types[] = {ttm::BufferType::DRAM, ttm::BufferType::L1, ttm::BufferType::L1_SMALL,
                                   ttm::BufferType::TRACE, ttm::BufferType::SYSTEM_MEMORY};
  std::vector<std::vector<std::shared_ptr<ttm::Buffer>>> held(static_cast<std::size_t>(args.threads));
  // Circular buffers come from thread 0 only, so their final footprint is known without the adapter.
  std::vector<std::uint64_t> cb_bytes(static_cast<std::size_t>(args.devices), 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < args.threads; ++t) {
    threads.emplace_back([&, t] {
      allocwatch::tt_metal::register_on_this_thread(processor);  // tt-metal's list is per thread
      auto& tracker = ttm::GraphTracker::instance();
      std::mt19937_64 random(static_cast<std::uint64_t>(t) * 7919 + 1);
      ttm::Program program;
      auto& mine = held[static_cast<std::size_t>(t)];
      auto place_cbs = [&](int chip) {
        tracker.track_function_start("churn.program", chip);
        tracker.track_program(&program, chip_pointers[static_cast<std::size_t>(chip)]);
        std::uint64_t bytes = 0;
        const int count = 1 + static_cast<int>(random() % 4);
        for (int cb = 0; cb < count; ++cb) {
          const std::uint32_t cores = 1 + static_cast<std::uint32_t>(random() % 64);
          const std::uint64_t size = 1024 * (1 + random() % 32);
          tracker.track_allocate_cb(ttm::CoreRangeSet(cores), 0x10000 + 0x1000 * static_cast<std::uint64_t>(cb), size,
                                    false, chip_pointers[static_cast<std::size_t>(chip)]);
          bytes += size * cores;
        }
        cb_bytes[static_cast<std::size_t>(chip)] = bytes;
        tracker.track_function_end();
      };
      tracker.track_function_start("churn.thread", t);
      for (int op = 0; op < args.ops; ++op) {
        const std::uint64_t roll = random() % 100;
        if (t == 0 && roll < 5) {
          place_cbs(static_cast<int>(random() % static_cast<std::uint64_t>(args.devices)));
        } else if (t == 0 && roll < 6) {
          const int chip = static_cast<int>(random() % static_cast<std::uint64_t>(args.devices));
          ttm::GraphTracker::instance().track_deallocate_cb(chip_pointers[static_cast<std::size_t>(chip)]);
          cb_bytes[static_cast<std::size_t>(chip)] = 0;
        } else if (!mine.empty() && roll < 55) {
          std::swap(mine[random() % mine.size()], mine.back());
          mine.back()->deallocate();
          mine.pop_back();
        } else {
          const bool nested = random() % 2 == 0;
          if (nested) tracker.track_function_start("churn.create");
          mine.push_back(ttm::Buffer::create(targets[random() % targets.size()], 1 + random() % 65536,
                                             types[random() % 5]));
          if (nested) tracker.track_function_end(mine.back());
        }
      }
      if (t == 0) place_cbs(0);
      tracker.track_function_end();
    });
  }
  for (auto& thread : threads) thread.join();

  std::map<int, std::array<std::uint64_t, 7>> live;
  for (int id = 0; id < args.devices; ++id) live[id] = {};
  for (const auto& mine : held) {
    for (const auto& buffer : mine) {
      const int type = static_cast<int>(allocwatch::tt_metal::memory_type_of(buffer->buffer_type()));
      if (buffer->device() == &mesh) {
        for (int id = 0; id < args.devices; ++id) live[id][static_cast<std::size_t>(type)] += buffer->size();
      } else {
        live[buffer->device()->id()][static_cast<std::size_t>(type)] += buffer->size();
      }
    }
  }
  for (int id = 0; id < args.devices; ++id) live[id][5] += cb_bytes[static_cast<std::size_t>(id)];

  try {
    processor->client().flush(std::chrono::milliseconds(5000));
  } catch (const allocwatch::Error& error) {
    const allocwatch::Counters c = processor->client().counters();
    std::fprintf(stderr,
                 "tt_metal_churn: %s (recorded %llu, sent %llu, dropped %llu, snapshots %llu, resyncs %llu, "
                 "connects %llu, disconnects %llu)\n",
                 error.what(), static_cast<unsigned long long>(c.events_recorded),
                 static_cast<unsigned long long>(c.events_sent), static_cast<unsigned long long>(c.events_dropped),
                 static_cast<unsigned long long>(c.snapshots_sent), static_cast<unsigned long long>(c.resync_requests),
                 static_cast<unsigned long long>(c.connects), static_cast<unsigned long long>(c.disconnects));
  }
  std::string line = "{\"pid\": " + std::to_string(getpid()) +
                     ", \"events\": " + std::to_string(processor->client().counters().events_recorded) + ", \"live\": {";
  bool first_device = true;
  for (const auto& [id, bytes] : live) {
    line += std::string(first_device ? "" : ", ") + "\"" + std::to_string(id) + "\": {";
    first_device = false;
    bool first_type = true;
    for (int type = 0; type < 7; ++type) {
      if (bytes[static_cast<std::size_t>(type)] == 0) continue;
      line += std::string(first_type ? "" : ", ") + "\"" + kTypeNames[type] + "\": " + std::to_string(bytes[static_cast<std::size_t>(type)]);
      first_type = false;
    }
    line += "}";
  }
  line += "}}";
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
  std::this_thread::sleep_for(std::chrono::milliseconds(args.hold_ms));
  return 0;
}
