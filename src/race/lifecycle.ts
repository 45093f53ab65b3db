/**
 * The non-blocking steps of a strategy (allocator calls, reports, hand-over), shared by the worker-thread
 * workload and the schedule model; each of those runs "lock", "unlock" and "window" its own way (a real
 * mutex and a spin loop, or an awaited scheduling point).
 */
import type { Allocator } from "../device/allocator/allocator.js";
import type { AllocatorChange } from "../device/allocator/types.js";
import { type ChangeFields, ChangeOp } from "../device/change.js";
import type { BufferTransfer } from "../device/device-buffer.js";
import type { MemoryType } from "../device/memory-type.js";
import type { Step, Strategy } from "./strategy.js";

/** Which part of a buffer's life a step belongs to: it decides what a "report" says. */
export type Phase = "allocate" | "free" | "view-create" | "view-drop";

/**
 * One buffer as the thread that holds it sees it: what a BufferTransfer carries (address, allocationId and
 * sizePerBankBytes set by the allocation step), plus the experiment's own bookkeeping.
 */
export interface HeldBuffer extends Omit<BufferTransfer, "subDeviceManagerId"> {
  /** Sequence numbers of the buffer's allocation and of its release (0 until it happened). */
  allocSeq: number;
  freeSeq: number;
  /** Offer the buffer to another thread at the "publish" step. */
  handOff: boolean;
  /** Set at "publish" when another thread now owns the buffer. */
  handedOver: boolean;
}

export interface LifecycleContext {
  allocatorOf(deviceId: number): Allocator;
  /**
   * One report onto the condition's channel, in ChangeFields order with sizePerBankBytes in the timestamp's
   * place (plain parameters: no object per report).
   */
  send(...report: ChangeFields): void;
  /** Offer the buffer to another thread; true when it was taken over. */
  publish(buffer: HeldBuffer): boolean;
}

export function newBuffer(
  deviceId: number,
  memoryType: MemoryType,
  sizeBytes: number,
  pageSizeBytes: number,
  handOff: boolean,
): HeldBuffer {
  return {
    deviceId,
    memoryType,
    sizeBytes,
    pageSizeBytes,
    address: -1,
    allocationId: 0,
    sizePerBankBytes: 0,
    allocSeq: 0,
    freeSeq: 0,
    handOff,
    handedOver: false,
  };
}

/** Run one step other than lock, unlock and window. */
export function applyStep(
  step: Step,
  phase: Phase,
  b: HeldBuffer,
  strategy: Strategy,
  ctx: LifecycleContext,
): void {
  switch (step) {
    case "allocate":
      recordAllocation(b, ctx.allocatorOf(b.deviceId).allocate(requestOf(b)));
      return;
    case "allocate-reporting":
      recordAllocation(
        b,
        ctx.allocatorOf(b.deviceId).allocate(requestOf(b), (change) => {
          b.address = change.address;
          b.sizePerBankBytes = change.sizePerBankBytes;
          report(phase, b, change.seq, strategy, ctx);
        }),
      );
      return;
    case "release":
      b.freeSeq = ctx.allocatorOf(b.deviceId).deallocate(b.memoryType, b.address).seq;
      return;
    case "release-reporting":
      ctx.allocatorOf(b.deviceId).deallocate(b.memoryType, b.address, (change) => {
        report(phase, b, change.seq, strategy, ctx);
      });
      return;
    case "publish":
      if (b.handOff) b.handedOver = ctx.publish(b);
      return;
    case "report":
      report(phase, b, phase === "allocate" ? b.allocSeq : b.freeSeq, strategy, ctx);
      return;
    default:
      throw new Error(`step ${step} is the runner's`);
  }
}

function requestOf(b: HeldBuffer) {
  return { memoryType: b.memoryType, sizeBytes: b.sizeBytes, pageSizeBytes: b.pageSizeBytes };
}

function recordAllocation(b: HeldBuffer, a: AllocatorChange): void {
  b.address = a.address;
  b.allocationId = a.allocationId;
  b.sizePerBankBytes = a.sizePerBankBytes;
  b.allocSeq = a.seq;
}

function report(phase: Phase, b: HeldBuffer, seq: number, strategy: Strategy, ctx: LifecycleContext): void {
  const bySequence = strategy.server === "sequence";
  const op = phase === "allocate" || phase === "view-create" ? ChangeOp.ALLOC : ChangeOp.FREE;
  // A view covers one page of its owner: another size at the same address, as a shard or a binary does.
  const view = phase === "view-create" || phase === "view-drop";
  const sizeBytes = view ? b.pageSizeBytes : b.sizeBytes;
  // The original's FREE carries no size (0: not compared); allocwatch's carries the allocation's.
  const reportedSize = op === ChangeOp.FREE && !bySequence ? 0 : sizeBytes;
  ctx.send(
    op,
    b.deviceId,
    b.memoryType,
    bySequence ? seq : 0,
    b.allocationId,
    b.address,
    reportedSize,
    view ? b.pageSizeBytes : b.sizePerBankBytes,
  );
}
