// Ceiling solution (GPU profile) for optimize_kernel: one kernel, one pass over memory, using a
// decoupled look-back scan (Merrill & Garland, "Single-pass Parallel Prefix Scan with Decoupled
// Look-back") over a fused (parity, sum) state. It calibrates the task's headroom; agents never
// see it.
//
// The scan state. For a contiguous segment, let
//   p      = number of positives in the segment, mod 2;
//   s[q]   = sum of the segment's elements that are included in the output sums when the parity
//            of the positives *before* the segment is q. Element j is included iff
//            q ^ (positives before j inside the segment, mod 2) == 1.
// For A followed by B: parity entering B is q ^ A.p, so
//   (A ⊕ B).p    = A.p ^ B.p
//   (A ⊕ B).s[q] = A.s[q] + B.s[q ^ A.p]
// which is associative: for A ⊕ B ⊕ C both groupings give s[q] = A.s[q] + B.s[q ^ A.p] +
// C.s[q ^ A.p ^ B.p] (mod 2^32). The identity is {0, 0, 0}. The whole array is entered with
// parity 0, so the output just before element i is s[0] of the segment [0, i).
//
// Structure: each block takes the next tile (kTileItems elements) from an atomic counter, so
// tiles start in index order and a tile only ever waits on tiles that are already running (no
// deadlock whatever the residency). It loads the tile with coalesced 16-byte loads, transposes
// through shared memory so each thread owns kItemsPerThread consecutive elements, scans thread
// -> warp (shuffles) -> block (shared memory), publishes the tile's aggregate, looks back over
// predecessors' published states with one warp to get the tile's incoming state, publishes its
// inclusive prefix, and writes the outputs with 16-byte stores.
#include <cuda_runtime.h>
#include <cuda/atomic>

#include <cstddef>
#include <cstdint>

namespace {

// Measured on an H100 at n = 1e8 (copy floor 0.270 ms): 8 int4 per thread 0.322 ms, 6: 0.343,
// 4: 0.360; 128 threads x 8 int4: 0.326. Bigger tiles mean fewer look-backs and more loads in
// flight per thread; 64 registers still leave 4 blocks (1024 threads) per SM.
constexpr int kThreads = 256;
constexpr int kVecsPerThread = 8;                    // int4 loads per thread
constexpr int kItemsPerThread = 4 * kVecsPerThread;  // 32
constexpr int kWarps = kThreads / 32;
constexpr int kTileItems = kThreads * kItemsPerThread;  // 8192
constexpr int kWarpVecs = 32 * kVecsPerThread;          // int4s per warp and tile
// One int4 of padding per 8 makes both transpose directions free of bank conflicts (for 4 or 8
// int4 per thread): a quarter warp (8 lanes, 128 bytes) then touches 8 distinct 16-byte groups.
constexpr int kWarpVecsPadded = kWarpVecs + kWarpVecs / 8;
constexpr unsigned kFullMask = 0xffffffffu;

struct State {
  uint32_t parity;
  uint32_t s0;  // sum of included elements if the incoming parity is even
  uint32_t s1;  // ... if it is odd
};

__device__ __forceinline__ State identity_state() { return {0u, 0u, 0u}; }

// a ⊕ b where a comes first in the array.
__device__ __forceinline__ State combine(const State& a, const State& b) {
  return {a.parity ^ b.parity, a.s0 + (a.parity ? b.s1 : b.s0), a.s1 + (a.parity ? b.s0 : b.s1)};
}

// Advance a concrete running state (parity of positives so far, output value so far) over a
// segment summarised by `seg`.
__device__ __forceinline__ void advance(uint32_t& parity, uint32_t& sum, const State& seg) {
  sum += parity ? seg.s1 : seg.s0;
  parity ^= seg.parity;
}

__device__ __forceinline__ State shfl_up(const State& s, int delta) {
  return {__shfl_up_sync(kFullMask, s.parity, delta), __shfl_up_sync(kFullMask, s.s0, delta),
          __shfl_up_sync(kFullMask, s.s1, delta)};
}

__device__ __forceinline__ State shfl_down(const State& s, int delta) {
  return {__shfl_down_sync(kFullMask, s.parity, delta), __shfl_down_sync(kFullMask, s.s0, delta),
          __shfl_down_sync(kFullMask, s.s1, delta)};
}

__device__ __forceinline__ State shfl(const State& s, int lane) {
  return {__shfl_sync(kFullMask, s.parity, lane), __shfl_sync(kFullMask, s.s0, lane),
          __shfl_sync(kFullMask, s.s1, lane)};
}

// Published tile state. Each tile owns two 64-bit words; a word carries its own status next to
// its value and is written with one 64-bit store, so a reader that sees a non-zero status also
// sees the matching value: no fences are needed. Layout: bits 63..62 status, bit 32 parity,
// bits 31..0 value.
//   word 0: kAggregate -> (tile parity, tile s0); later overwritten by
//           kPrefix    -> (parity, sum) of everything up to and including the tile.
//   word 1: kAggregate -> (tile parity, tile s1); read only while word 0 is still an aggregate.
// The words are zeroed (kInvalid) before every launch.
using Word = unsigned long long;
constexpr Word kInvalid = 0;
constexpr Word kAggregate = 1ull << 62;
constexpr Word kPrefix = 2ull << 62;
constexpr Word kStatusMask = 3ull << 62;

__device__ __forceinline__ Word pack(Word status, uint32_t parity, uint32_t value) {
  return status | (static_cast<Word>(parity) << 32) | value;
}
__device__ __forceinline__ uint32_t word_parity(Word w) {
  return static_cast<uint32_t>(w >> 32) & 1u;
}
__device__ __forceinline__ uint32_t word_value(Word w) { return static_cast<uint32_t>(w); }
__device__ __forceinline__ Word word_status(Word w) { return w & kStatusMask; }

// Relaxed device-scope atomics: single-copy atomic 64-bit accesses that bypass stale L1 lines.
__device__ __forceinline__ void store_word(Word* p, Word w) {
  cuda::atomic_ref<Word, cuda::thread_scope_device>(*p).store(w, cuda::memory_order_relaxed);
}
__device__ __forceinline__ Word load_word(Word* p) {
  return cuda::atomic_ref<Word, cuda::thread_scope_device>(*p).load(cuda::memory_order_relaxed);
}

// Run by one full warp. Returns (in every lane) the concrete state entering `tile`: parity of all
// positives before it and the output value just before its first element. Lane l inspects tile
// window_end - 1 - l, so lane 0 is the nearest predecessor; windows of 32 move back until one
// holds an inclusive prefix.
__device__ __forceinline__ void look_back(Word* words, uint32_t tile, int lane, uint32_t& parity,
                                          uint32_t& sum) {
  State acc = identity_state();  // covers [window_end, tile)
  int64_t window_end = tile;
  while (true) {
    const int64_t t = window_end - 1 - lane;
    // Positions before the array start behave as an empty inclusive prefix (parity 0, sum 0).
    Word a = t >= 0 ? load_word(&words[2 * t]) : kPrefix;
    while (__any_sync(kFullMask, word_status(a) == kInvalid)) {
      if (word_status(a) == kInvalid) a = load_word(&words[2 * t]);
    }
    const unsigned prefix_lanes = __ballot_sync(kFullMask, word_status(a) == kPrefix);
    // The nearest inclusive prefix ends the look-back; lanes beyond it are not needed.
    const int first_prefix = prefix_lanes ? __ffs(prefix_lanes) - 1 : 32;
    State v = identity_state();
    if (lane < first_prefix) {
      // word 1 may become visible after word 0: wait for it too.
      Word b = load_word(&words[2 * t + 1]);
      while (word_status(b) == kInvalid) b = load_word(&words[2 * t + 1]);
      v = {word_parity(a), word_value(a), word_value(b)};
    } else if (lane == first_prefix) {
      // A prefix starts at the array start, where the parity is 0 by definition; only its s0
      // is ever used, so s1 can hold anything.
      v = {word_parity(a), word_value(a), word_value(a)};
    }
    // Ordered reduction: higher lanes are earlier in the array, so combine(other, mine).
    for (int d = 1; d < 32; d <<= 1) {
      const State other = shfl_down(v, d);
      if (lane + d < 32) v = combine(other, v);
    }
    acc = combine(shfl(v, 0), acc);
    if (prefix_lanes) break;
    window_end -= 32;
  }
  parity = acc.parity;
  sum = acc.s0;
}

// kVectorized: x and y are 16-byte aligned, so full tiles use int4 loads and stores. The last,
// partial tile (and every tile when misaligned) uses guarded scalar accesses and pads with 0,
// which is neither positive nor adds anything, so padding cannot change any result.
template <bool kVectorized>
__global__ void __launch_bounds__(kThreads)
    fused_prefix_sum(const int32_t* __restrict__ x, int32_t* __restrict__ y, int64_t n,
                     unsigned int* __restrict__ tile_counter, Word* __restrict__ words) {
  __shared__ int4 transpose[kWarps][kWarpVecsPadded];
  __shared__ State warp_totals[kWarps];
  __shared__ uint32_t tile_index;
  __shared__ uint32_t tile_in_parity;
  __shared__ uint32_t tile_in_sum;

  const int warp = threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (threadIdx.x == 0) tile_index = atomicAdd(tile_counter, 1u);
  __syncthreads();
  const uint32_t tile = tile_index;
  const int64_t tile_base = static_cast<int64_t>(tile) * kTileItems;
  const bool full_tile = kVectorized && tile_base + kTileItems <= n;
  int4* my_transpose = transpose[warp];

  // ---- Load: thread t ends up with elements tile_base + t * kItemsPerThread + [0, 32).
  uint32_t v[kItemsPerThread];
  if (full_tile) {
    const int4* src = reinterpret_cast<const int4*>(x + tile_base) + warp * kWarpVecs;
    int4 r[kVecsPerThread];
#pragma unroll
    for (int i = 0; i < kVecsPerThread; ++i) r[i] = __ldcs(src + i * 32 + lane);  // streaming
#pragma unroll
    for (int i = 0; i < kVecsPerThread; ++i) {
      const int c = i * 32 + lane;
      my_transpose[c + c / 8] = r[i];
    }
    __syncwarp();
#pragma unroll
    for (int j = 0; j < kVecsPerThread; ++j) {
      const int c = lane * kVecsPerThread + j;
      const int4 q = my_transpose[c + c / 8];
      v[4 * j + 0] = q.x;
      v[4 * j + 1] = q.y;
      v[4 * j + 2] = q.z;
      v[4 * j + 3] = q.w;
    }
  } else {
    const int64_t base = tile_base + static_cast<int64_t>(threadIdx.x) * kItemsPerThread;
#pragma unroll
    for (int k = 0; k < kItemsPerThread; ++k)
      v[k] = base + k < n ? static_cast<uint32_t>(x[base + k]) : 0u;
  }

  // ---- Thread summary (branch-free: masks select s0 or s1).
  State mine = identity_state();
#pragma unroll
  for (int k = 0; k < kItemsPerThread; ++k) {
    mine.s0 += v[k] & (0u - mine.parity);  // included under even incoming parity
    mine.s1 += v[k] & (mine.parity - 1u);  // included under odd incoming parity
    mine.parity ^= static_cast<int32_t>(v[k]) > 0 ? 1u : 0u;
  }

  // ---- Warp inclusive scan; lower lanes come first, so combine(other, mine).
  State inclusive = mine;
#pragma unroll
  for (int d = 1; d < 32; d <<= 1) {
    const State other = shfl_up(inclusive, d);
    if (lane >= d) inclusive = combine(other, inclusive);
  }
  State lane_exclusive = shfl_up(inclusive, 1);
  if (lane == 0) lane_exclusive = identity_state();
  if (lane == 31) warp_totals[warp] = inclusive;
  __syncthreads();

  State warp_exclusive = identity_state();
#pragma unroll
  for (int w = 0; w < kWarps; ++w)
    if (w < warp) warp_exclusive = combine(warp_exclusive, warp_totals[w]);

  // ---- Tile prefix: publish the aggregate, look back, publish the inclusive prefix.
  if (warp == 0) {
    State tile_total = identity_state();
#pragma unroll
    for (int w = 0; w < kWarps; ++w) tile_total = combine(tile_total, warp_totals[w]);
    uint32_t in_parity = 0, in_sum = 0;
    if (tile == 0) {
      if (lane == 0) store_word(&words[0], pack(kPrefix, tile_total.parity, tile_total.s0));
    } else {
      if (lane == 0) {
        store_word(&words[2 * tile + 1], pack(kAggregate, tile_total.parity, tile_total.s1));
        store_word(&words[2 * tile], pack(kAggregate, tile_total.parity, tile_total.s0));
      }
      look_back(words, tile, lane, in_parity, in_sum);
      if (lane == 0) {
        uint32_t out_parity = in_parity, out_sum = in_sum;
        advance(out_parity, out_sum, tile_total);
        store_word(&words[2 * tile], pack(kPrefix, out_parity, out_sum));
      }
    }
    if (lane == 0) {
      tile_in_parity = in_parity;
      tile_in_sum = in_sum;
    }
  }
  __syncthreads();

  // ---- Outputs: the concrete state entering this thread's first element, then walk.
  uint32_t parity = tile_in_parity, sum = tile_in_sum;
  advance(parity, sum, warp_exclusive);
  advance(parity, sum, lane_exclusive);
#pragma unroll
  for (int k = 0; k < kItemsPerThread; ++k) {
    const uint32_t value = v[k];
    sum += value & (0u - parity);
    parity ^= static_cast<int32_t>(value) > 0 ? 1u : 0u;
    v[k] = sum;
  }

  // ---- Store: the load's transpose in reverse, then coalesced streaming int4 stores.
  if (full_tile) {
#pragma unroll
    for (int j = 0; j < kVecsPerThread; ++j) {
      const int c = lane * kVecsPerThread + j;
      my_transpose[c + c / 8] = make_int4(v[4 * j], v[4 * j + 1], v[4 * j + 2], v[4 * j + 3]);
    }
    __syncwarp();
    int4* dst = reinterpret_cast<int4*>(y + tile_base) + warp * kWarpVecs;
#pragma unroll
    for (int i = 0; i < kVecsPerThread; ++i) {
      const int c = i * 32 + lane;
      __stcs(dst + i * 32 + lane, my_transpose[c + c / 8]);
    }
  } else {
    const int64_t base = tile_base + static_cast<int64_t>(threadIdx.x) * kItemsPerThread;
#pragma unroll
    for (int k = 0; k < kItemsPerThread; ++k)
      if (base + k < n) y[base + k] = static_cast<int32_t>(v[k]);
  }
}

// Scratch: a 16-byte header holding the tile counter, then two words per tile. Cached per device
// and grown on demand with plain cudaMalloc (device-wide, so no stream-ordering hazard when the
// caller switches streams). Concurrent calls on different streams would share it: not supported.
constexpr int kMaxDevices = 64;
struct Scratch {
  void* ptr = nullptr;
  size_t bytes = 0;
};
Scratch g_scratch[kMaxDevices];

}  // namespace

extern "C" int rebench_prefix_sum(const int32_t* x, int32_t* y, int64_t n, void* stream_ptr) {
  if (n < 1) return static_cast<int>(cudaErrorInvalidValue);
  cudaStream_t stream = static_cast<cudaStream_t>(stream_ptr);
  int device = 0;
  cudaError_t err = cudaGetDevice(&device);
  if (err != cudaSuccess) return static_cast<int>(err);
  if (device >= kMaxDevices) return static_cast<int>(cudaErrorInvalidDevice);

  const int64_t tiles = (n + kTileItems - 1) / kTileItems;
  if (tiles > 0x7fffffff) return static_cast<int>(cudaErrorInvalidValue);
  const size_t bytes = 16 + static_cast<size_t>(tiles) * 2 * sizeof(Word);
  Scratch& scratch = g_scratch[device];
  if (scratch.bytes < bytes) {
    if (scratch.ptr) cudaFree(scratch.ptr);  // synchronises: earlier launches are done with it
    scratch = Scratch{};
    err = cudaMalloc(&scratch.ptr, bytes);
    if (err != cudaSuccess) return static_cast<int>(err);
    scratch.bytes = bytes;
  }
  // Counter and all tile states back to zero (kInvalid); stream-ordered before the kernel.
  err = cudaMemsetAsync(scratch.ptr, 0, bytes, stream);
  if (err != cudaSuccess) return static_cast<int>(err);
  auto* counter = static_cast<unsigned int*>(scratch.ptr);
  auto* words = reinterpret_cast<Word*>(static_cast<char*>(scratch.ptr) + 16);

  const bool aligned =
      reinterpret_cast<uintptr_t>(x) % 16 == 0 && reinterpret_cast<uintptr_t>(y) % 16 == 0;
  const dim3 grid(static_cast<unsigned int>(tiles));
  if (aligned)
    fused_prefix_sum<true><<<grid, kThreads, 0, stream>>>(x, y, n, counter, words);
  else
    fused_prefix_sum<false><<<grid, kThreads, 0, stream>>>(x, y, n, counter, words);
  return static_cast<int>(cudaGetLastError());
}
