"""Costs -> layer, microbatch and step times: streams, overlap and microbatch pipelining.

One mechanism covers every kind of overlap. Each op runs on the stream that owns its path
(attention, moe, ffn, comm); consecutive ops of one stream form a task. A layer is the same
chain of tasks for every microbatch. Tasks are issued in the order (layer, position in the
chain, microbatch), each starting when its stream is free and its microbatch's previous task
has finished: a small list schedule. With one stream it is plain sequential execution; with
an attention stream and an MoE stream it is CloudMatrix decode's two-stream pipeline; with a
compute stream and a DMA stream it is prefill's communication hidden behind the other
microbatch's compute (and GPU two-batch overlap).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from .cost import Cost
from .formulas import maximum
from .ops import Op
from .specs.scenario import Stream


@dataclass(frozen=True)
class Task:
    stream: str
    ops: tuple[tuple[Op, Cost], ...]

    @functools.cached_property
    def time_s(self) -> Any:
        return sum((c.total_s for _, c in self.ops), 0.0)

    @functools.cached_property
    def hbm_s(self) -> Any:
        return sum((c.hbm_s for _, c in self.ops), 0.0)


def stream_of(op: Op, streams: tuple[Stream, ...]) -> Stream:
    """The stream that runs the op's path (an optional path: the stream of the path it falls
    back to, see specs.scenario.OPTIONAL_PATHS)."""
    from .specs.scenario import OPTIONAL_PATHS

    for path in (op.path, OPTIONAL_PATHS.get(op.path)):
        for stream in streams:
            if path in stream.paths:
                return stream
    return streams[0]


def chain(costed: list[tuple[Op, Cost, Stream]]) -> list[Task]:
    """Group consecutive ops of the same stream into tasks."""
    tasks: list[Task] = []
    for op, cost, stream in costed:
        if tasks and tasks[-1].stream == stream.name:
            tasks[-1] = Task(stream.name, (*tasks[-1].ops, (op, cost)))
        else:
            tasks.append(Task(stream.name, ((op, cost),)))
    return tasks


@dataclass(frozen=True)
class Timeline:
    """When each task of each microbatch ran: (layer, task index, microbatch, start, end)."""

    layer_end_s: tuple[Any, ...]
    events: tuple[tuple[int, int, int, Any, Any], ...]

    @property
    def makespan_s(self) -> Any:
        return self.layer_end_s[-1] if self.layer_end_s else 0.0

    def layer_times_s(self) -> list[Any]:
        starts = (0.0, *self.layer_end_s[:-1])
        return [end - start for start, end in zip(starts, self.layer_end_s, strict=True)]


def _same(a: Any, b: Any) -> bool:
    """Equal to rounding, for floats or arrays (used to detect a periodic schedule)."""
    if isinstance(a, int | float) and isinstance(b, int | float):
        return abs(a - b) <= 1e-12 * max(abs(a), abs(b), 1e-12)
    import numpy as np

    return bool(np.allclose(a, b, rtol=1e-12, atol=1e-18))


def simulate(
    layers: list[tuple[list[Task], int]], microbatches: int, keep_events: bool = False
) -> Timeline:
    """List-schedule groups of identical layers: (chain of tasks, how many such layers).

    A layer also lasts at least as long as its microbatches keep the shared HBM busy: where
    overlapping streams would together move bytes faster than the memory system can, the layer
    is stretched to that bound (every later task starts that much later).

    Once a layer leaves the schedule in the same state, relative to its end, as the layer
    before it, every further identical layer repeats it: the rest of the group is extended by
    that period instead of being scheduled one by one (not when events are kept).
    """
    stream_free: dict[str, Any] = {}
    ready: list[Any] = [0.0] * microbatches
    layer_end: list[Any] = []
    events: list[tuple[int, int, int, Any, Any]] = []
    previous_end: Any = 0.0
    index = 0
    for tasks, count in layers:
        hbm_busy = microbatches * sum((t.hbm_s for t in tasks), 0.0)
        previous_state: tuple | None = None
        done = 0
        while done < count:
            start_of_layer = previous_end
            for position, task in enumerate(tasks):
                duration = task.time_s
                for mb in range(microbatches):
                    start = maximum(stream_free.get(task.stream, 0.0), ready[mb])
                    end = start + duration
                    stream_free[task.stream] = end
                    ready[mb] = end
                    if keep_events:
                        events.append((index, position, mb, start, end))
            scheduled_end = maximum(*ready) if microbatches > 1 else ready[0]
            stretch = maximum(previous_end + hbm_busy - scheduled_end, 0.0)
            ready = [r + stretch for r in ready]
            stream_free = {name: free + stretch for name, free in stream_free.items()}
            previous_end = scheduled_end + stretch
            layer_end.append(previous_end)
            index += 1
            done += 1
            period = previous_end - start_of_layer
            state = (
                period,
                [r - previous_end for r in ready],
                {name: free - previous_end for name, free in sorted(stream_free.items())},
            )
            if not keep_events and previous_state is not None and _periodic(previous_state, state):
                remaining = count - done
                layer_end.extend(previous_end + period * k for k in range(1, remaining + 1))
                shift = period * remaining
                ready = [r + shift for r in ready]
                stream_free = {name: free + shift for name, free in stream_free.items()}
                previous_end = previous_end + shift
                index += remaining
                done = count
            previous_state = state
    return Timeline(tuple(layer_end), tuple(events))


def _periodic(before: tuple, after: tuple) -> bool:
    period_a, ready_a, free_a = before
    period_b, ready_b, free_b = after
    return (
        _same(period_a, period_b)
        and all(_same(x, y) for x, y in zip(ready_a, ready_b, strict=True))
        and free_a.keys() == free_b.keys()
        and all(_same(free_a[k], free_b[k]) for k in free_a)
    )


@dataclass(frozen=True)
class Bar:
    """One task of one microbatch on a timeline, clipped to the window shown."""

    stream: str
    microbatch: int
    layer: int  # relative to the layer shown: 0 is that layer, 1 the next one
    task: Task
    start_s: float
    end_s: float


def steady_layer(tasks: list[Task], microbatches: int, warmup: int = 2) -> tuple[float, list[Bar]]:
    """One layer of a long run of identical layers, after the pipeline has filled: the window
    between two consecutive layer ends and every task that runs inside it."""
    timeline = simulate([(tasks, warmup + 2)], microbatches, keep_events=True)
    start, end = float(timeline.layer_end_s[warmup - 1]), float(timeline.layer_end_s[warmup])
    bars = []
    for layer, position, mb, t0, t1 in timeline.events:
        t0, t1 = float(t0), float(t1)
        if t1 <= start or t0 >= end or t1 == t0:
            continue
        task = tasks[position]
        bars.append(
            Bar(task.stream, mb, layer - warmup, task, max(t0, start) - start, min(t1, end) - start)
        )
    return end - start, bars
