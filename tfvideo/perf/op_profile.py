"""Where a call's time goes, op by op: TensorFlow's profiler around repeated calls, summed per kernel.

`profile_calls(fn, calls)` runs `fn` `calls` times under `tf.profiler.experimental`, reads the trace it writes (the
XSpace protocol buffer of the host plane) and returns an `OpProfile`: for every kernel that ran, the time per call
and how many times it ran per call, plus the largest op instances. Kernels keep the names that TensorFlow ran, so
the table shows which library computed what: `_MklNativeConv2D` is oneDNN's convolution, `Conv2D` Eigen's.

Times are the durations of the ops on TensorFlow's inter-op threads (`tf_Compute` lines of the host plane), summed:
ops that ran at the same time each count in full, so the total can exceed the wall time of the call (the table says
both). Ops placed on a GPU run on device lines that are not read here: on a GPU, use TensorBoard's profiler.
"""

from __future__ import annotations

import collections
import dataclasses
import glob
import os
import tempfile
import time

CONVOLUTION_KERNELS = ("Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter", "DepthwiseConv2dNative",
                       "FusedConv2D")  # what `convolution_share` counts, with or without oneDNN's `_Mkl*` prefix
MATMUL_KERNELS = ("MatMul", "BatchMatMulV2", "FusedMatMul")  # a convolution layer's when in its name scope
EXECUTOR_LINE = "tf_Compute"  # the host plane's lines of inter-op threads, where every op event is recorded


@dataclasses.dataclass(frozen=True)
class KernelTime:
    """One kernel's time per profiled call (milliseconds, summed over its ops) and its ops per call."""
    ms_per_call: float
    ops_per_call: float


@dataclasses.dataclass(frozen=True)
class OpProfile:
    """What `profile_calls` measured: `calls` profiled calls of `wall_ms_per_call` each; `kernels` maps a kernel
    name to its `KernelTime`, largest first; `top_ops` lists (op name, ms per call) of the largest op instances."""
    calls: int
    wall_ms_per_call: float
    kernels: dict[str, KernelTime]
    top_ops: list[tuple[str, float]]
    convolution_ms_per_call: float | None = None  # the convolution layers' ops (`is_convolution_op`), when known

    @property
    def op_ms_per_call(self) -> float:
        """The summed op time per call (can exceed the wall time: concurrent ops each count)."""
        return sum(k.ms_per_call for k in self.kernels.values())

    def to_json(self) -> dict:
        return {"calls": self.calls, "wall_ms_per_call": self.wall_ms_per_call,
                "op_ms_per_call": self.op_ms_per_call, "convolution_ms_per_call": convolution_ms(self),
                "convolution_share": convolution_share(self),
                "kernels": {name: dataclasses.asdict(k) for name, k in self.kernels.items()},
                "top_ops": [list(item) for item in self.top_ops]}


def kernel_family(kernel: str) -> str:
    """The kernel's op without oneDNN's prefix: `_MklNativeConv2DBackpropFilter` -> `Conv2DBackpropFilter`."""
    for prefix in ("_MklNative", "_Mkl", "_"):
        if kernel.startswith(prefix):
            return kernel[len(prefix):]
    return kernel


def is_convolution_op(op: str, kernel: str) -> bool:
    """Whether an op computes a convolution layer: a convolution kernel (any library), or a matrix product inside a
    convolution layer's name scope (`conv2d*`: the layers that are one MatMul, tfvideo.perf.conv_ops)."""
    family = kernel_family(kernel)
    return family in CONVOLUTION_KERNELS or (
        family in MATMUL_KERNELS and any(part.startswith("conv2d") for part in op.split("/")))


def convolution_ms(profile: OpProfile) -> float:
    """The time per call of the convolution layers' ops (the convolution kernels when the ops are not known)."""
    if profile.convolution_ms_per_call is not None:
        return profile.convolution_ms_per_call
    return sum(k.ms_per_call for name, k in profile.kernels.items() if kernel_family(name) in CONVOLUTION_KERNELS)


def convolution_share(profile: OpProfile) -> float:
    """The share of the summed op time spent in convolution kernels (any library), 0 when nothing was timed."""
    total = profile.op_ms_per_call
    return convolution_ms(profile) / total if total > 0 else 0.0


def profile_calls(fn, calls: int, top: int = 15) -> OpProfile:
    """Profiles `calls` calls of the zero-argument `fn` (warm it up first: tracing would be profiled too)."""
    if calls < 1:
        raise ValueError(f"calls must be >= 1; got {calls}.")
    import tensorflow as tf
    with tempfile.TemporaryDirectory(prefix="tfvideo_profile_") as logdir:
        tf.profiler.experimental.start(logdir)
        start = time.perf_counter()
        try:
            for _ in range(calls):
                fn()
        finally:
            wall = time.perf_counter() - start
            tf.profiler.experimental.stop()
        durations = _op_durations(_read_space(logdir))
    return _summarize(durations, calls, 1000.0 * wall / calls, top)


def _read_space(logdir: str):
    from tensorflow.tsl.profiler.protobuf import xplane_pb2
    paths = glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True)
    if not paths:
        raise RuntimeError(f"TensorFlow's profiler wrote no trace in {logdir}: profiling is not available in this "
                           "TensorFlow build.")
    space = xplane_pb2.XSpace()
    with open(paths[0], "rb") as stream:
        space.ParseFromString(stream.read())
    return space


def _op_durations(space) -> list[tuple[str, str, float]]:
    """(op name, kernel, milliseconds) of every op event on the executor lines of the host planes."""
    events = []
    for plane in space.planes:
        metadata = plane.event_metadata
        for line in plane.lines:
            if not line.name.startswith(EXECUTOR_LINE):
                continue
            for event in line.events:
                name = metadata[event.metadata_id].name  # "op name:kernel" for ops (node names have no colon)
                op, sep, kernel = name.partition(":")
                if sep and op and kernel and ":" not in kernel:  # not the executor's own "ExecutorState::Process"
                    events.append((op, kernel, event.duration_ps / 1e9))
    return events


def _summarize(events, calls: int, wall_ms: float, top: int) -> OpProfile:
    time_by_kernel, count_by_kernel, time_by_op = collections.Counter(), collections.Counter(), collections.Counter()
    convolution = 0.0
    for op, kernel, ms in events:
        time_by_kernel[kernel] += ms
        count_by_kernel[kernel] += 1
        time_by_op[f"{op} ({kernel})"] += ms
        convolution += ms if is_convolution_op(op, kernel) else 0.0
    kernels = {kernel: KernelTime(ms / calls, count_by_kernel[kernel] / calls)
               for kernel, ms in time_by_kernel.most_common()}
    return OpProfile(calls, wall_ms, kernels, [(op, ms / calls) for op, ms in time_by_op.most_common(top)],
                     convolution / calls)


def format_profile(profile: OpProfile, title: str, rows: int = 15) -> str:
    """A text table: the `rows` largest kernels (ms per call, share of the summed op time, ops per call), the
    convolution layers' share, then the largest op instances."""
    total = profile.op_ms_per_call
    lines = [f"{title}: {profile.wall_ms_per_call:.1f} ms per call (wall, {profile.calls} calls); ops summed over "
             f"threads {total:.1f} ms, convolution layers {100 * convolution_share(profile):.0f}% of it",
             f"{'ms/call':>9} {'share':>6} {'ops/call':>8}  kernel"]
    for name, kernel in sorted(profile.kernels.items(), key=lambda item: -item[1].ms_per_call)[:rows]:
        share = kernel.ms_per_call / total if total > 0 else 0.0
        lines.append(f"{kernel.ms_per_call:9.2f} {100 * share:5.1f}% {kernel.ops_per_call:8.1f}  {name}")
    lines.append("largest ops:")
    lines += [f"{ms:9.2f}  {op}" for op, ms in profile.top_ops[:rows]]
    return "\n".join(lines)
