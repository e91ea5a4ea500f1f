"""What the CLI, tests and notebooks call: estimate a scenario, phase by phase."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from itertools import groupby
from typing import Any

from .build import (
    LOW_LATENCY,
    NORMAL,
    Layer,
    decode_attention_ops,
    dense_ffn_ops,
    embedding_op,
    expert_tokens_per_rank,
    head_ops,
    moe_exchange,
    moe_ops,
    mtp_pre_ops,
    prefill_attention_ops,
)
from .cost import Cost, op_cost
from .formulas import maximum
from .formulas.serving import decode_throughput_per_device, prefill_throughput_per_device, tpot_s
from .memory import MemoryUse, check_fits, memory_use
from .ops import CommKind, Op
from .quant import DType
from .schedule import Task, chain, simulate, stream_of
from .specs import as_scenario
from .specs.hardware import Cluster
from .specs.model import ModelSpec
from .specs.scenario import Decode, Phase, Prefill, Scenario, Stream

PIPELINE_FILL = "pipeline_fill"  # the layers row that holds filling and draining the pipeline
# Per-step ops (embedding, LM head, sampling) run alone on every core of the rank.
WHOLE_RANK = Stream("main", ("attention", "moe", "ffn", "comm", "route", "head"))


@dataclass(frozen=True)
class OpResult:
    name: str  # phase.layer.op
    layer: str
    op: Op
    cost: Cost
    stream: str
    runs_per_layer: int  # microbatches (or 1 for per-step ops)
    stream_spec: Stream = WHOLE_RANK  # the stream (and core share) it was priced on
    first_of_kernel: bool = True  # False: fused into the kernel an earlier op launched
    engine: str = ""  # the device engine that ran it (cube, vector, sm) or link


@dataclass(frozen=True)
class LayerResult:
    name: str
    count: int
    time_s: Any


@dataclass(frozen=True)
class PhaseResult:
    phase: str
    throughput_tokens_per_s_per_device: Any
    step_time_s: Any
    layers: list[LayerResult]
    ops: list[OpResult]
    memory: MemoryUse
    ranks_per_device: int
    microbatches: int
    tpot_s: Any = None
    batch_per_device: Any = None
    extra: dict[str, Any] = field(default_factory=dict)
    # Each layer kind's chain of tasks (what the list schedule ran), for timelines.
    chains: dict[str, list[Task]] = field(default_factory=dict)


@dataclass(frozen=True)
class Estimate:
    scenario: Scenario
    results: dict[str, PhaseResult]  # by phase name, in report order (PHASES)
    deployment: Any = None  # cmperf.deployment.DeploymentResult, for a scenario with pools

    @property
    def phases(self) -> list[PhaseResult]:
        return list(self.results.values())

    def phase(self, name: str) -> PhaseResult | None:
        return self.results.get(name)

    @property
    def decode(self) -> PhaseResult | None:
        return self.results.get("decode")

    @property
    def prefill(self) -> PhaseResult | None:
        return self.results.get("prefill")


def estimate(
    scenario: Scenario | str, overrides: list[str] | tuple[str, ...] = (), check_memory: bool = True
) -> Estimate:
    """Estimate every phase of a scenario (a loaded Scenario, or a name or path)."""
    s = as_scenario(scenario, overrides)
    results = {name: ASSEMBLERS[name](s, block, check_memory) for name, block in s.sections.items()}
    pools = None
    if s.deployment is not None:
        from .deployment import estimate_deployment  # the layer above the instances

        pools = estimate_deployment(s, results["prefill"], results["decode"])
    return Estimate(s, results, pools)


def _costed(
    s: Scenario, ops: list[Op], streams: tuple[Stream, ...]
) -> list[tuple[Op, Cost, Stream]]:
    """Each op priced on its stream. Consecutive ops of one fused kernel share its launch: only
    the first pays the kernel's fixed cost."""
    out = []
    for op, first in zip(ops, launches(ops), strict=True):
        stream = stream_of(op, streams)
        out.append((op, op_cost(op, s.cluster, stream, first, s.ideal), stream))
    return out


def launches(ops: list[Op]) -> list[bool]:
    """For each op, whether it starts a kernel launch (False: fused into the previous op's)."""
    return [not op.kernel or i == 0 or op.kernel != ops[i - 1].kernel for i, op in enumerate(ops)]


def _results(
    s: Scenario, phase: str, layer: str, costed: list[tuple[Op, Cost, Stream]], runs: int
) -> list[OpResult]:
    out = []
    device = s.cluster.device
    firsts = launches([op for op, _, _ in costed])
    for (op, cost, stream), first in zip(costed, firsts, strict=True):
        engine = "link" if op.comm is not None else device.engine_for(op.engine.value).name
        name = f"{phase}.{layer}.{op.name}"
        out.append(OpResult(name, layer, op, cost, stream.name, runs, stream, first, engine))
    return out


def _serial_time(costed: list[tuple[Op, Cost, Stream]]) -> Any:
    return sum((c.total_s for _, c, _ in costed), 0.0)


@dataclass(frozen=True)
class _Stack:
    """The transformer layers of one pass, scheduled."""

    layers: list[Layer]
    costed: dict[str, list[tuple[Op, Cost, Stream]]]
    layer_times: dict[str, Any]  # each kind's layer in steady state (the pipeline full)
    makespan_s: Any
    chains: dict[str, list[Task]]
    runs: dict[str, int]  # times each layer kind's ops run per layer (its microbatches)
    fill_s: Any = 0.0  # what filling and draining the pipelines adds to the layers' sum
    pipelined: bool = False  # whether any run of layers was pipelined

    def rows(self) -> list[LayerResult]:
        """One row per layer kind at its steady time, and the pipeline's fill, which together
        add up to the makespan."""
        out = [
            LayerResult(layer.kind, layer.count, self.layer_times[layer.kind])
            for layer in self.layers
        ]
        if self.pipelined:
            out.append(LayerResult(PIPELINE_FILL, 1, self.fill_s))
        return out


def _run_stack(s: Scenario, layers: list[Layer], phase: Phase) -> _Stack:
    """Schedule the layers in order: each run of consecutive layers the pipeline covers on the
    phase's streams and microbatches, the others as one microbatch on every core."""
    costed: dict[str, list[tuple[Op, Cost, Stream]]] = {}
    chains: dict[str, list[Task]] = {}
    layer_times: dict[str, Any] = {}
    runs: dict[str, int] = {}
    makespan: Any = 0.0
    fill: Any = 0.0
    any_pipelined = False
    for pipelined, segment in groupby(layers, key=lambda layer: phase.is_pipelined(layer.kind)):
        any_pipelined = any_pipelined or pipelined
        segment = list(segment)
        streams, mb = (phase.streams, phase.microbatches) if pipelined else ((WHOLE_RANK,), 1)
        for layer in segment:
            costed[layer.kind] = _costed(s, list(layer.ops), streams)
            chains[layer.kind] = chain(costed[layer.kind])
            runs[layer.kind] = mb
        timeline = simulate([(chains[layer.kind], layer.count) for layer in segment], mb)
        per_layer = timeline.layer_times_s()
        start = 0
        for layer in segment:
            # The last of a run of identical layers repeats the steady state; the first ones
            # also fill the pipeline, which the fill row counts once.
            times = per_layer[start : start + layer.count]
            layer_times[layer.kind] = times[-1]
            fill = fill + sum(times, 0.0) - times[-1] * layer.count
            start += layer.count
        makespan = makespan + timeline.makespan_s
    # (rounding can leave a fill of -1e-14 where the pipeline costs nothing)
    fill = maximum(fill, 0.0)
    return _Stack(layers, costed, layer_times, makespan, chains, runs, fill, any_pipelined)


def _per_run(phase: Phase, kind: str, per_microbatch: Any) -> Any:
    """A quantity of one microbatch, scaled to what one run of the layer kind processes."""
    return per_microbatch * (1 if phase.is_pipelined(kind) else phase.microbatches)


def _check(s: Scenario, phase: str, use: MemoryUse, ranks: int, enabled: bool) -> None:
    if enabled:
        check_fits(use, phase, ranks)


def _layers(
    m: ModelSpec,
    q: Any,
    phase: Phase,
    attention: Callable[[int], list[Op]],
    tokens: Any,
    expert_tokens: Any,
    p: Any,
    tp: int,
    exchange: str,
    domain_ranks: int | None = None,
) -> list[Layer]:
    """Dense-FFN and MoE layers (those the model has) for one run on one rank: one microbatch
    where the pipeline covers the kind, the whole batch where not. `attention(k)` builds the
    attention ops of k microbatches' tokens; `tokens` and `expert_tokens` are per microbatch;
    `exchange` is the MoE dispatch/combine kernel (low_latency in decode, normal in prefill)."""

    def k(kind: str) -> int:
        return _per_run(phase, kind, 1)

    dense = attention(k("dense")) + dense_ffn_ops(m, q, tokens * k("dense"), tp)
    layers = [Layer("dense", m.dense_layers, tuple(dense))]
    if m.moe is not None:
        moe = moe_ops(m, q, expert_tokens * k("moe"), p, exchange, domain_ranks)
        layers.append(Layer("moe", m.moe_layers, tuple(attention(k("moe")) + moe)))
    return [layer for layer in layers if layer.count]


def estimate_decode(s: Scenario, d: Decode, check_memory: bool = True) -> PhaseResult:
    m, q, p = s.model, s.quantization, d.placement
    ranks = s.cluster.device.ranks_per_device
    tp = d.tp
    # A TP group of tp ranks shares its sequences; tp = 1 is data-parallel attention.
    seqs_rank = d.batch_per_device * tp / ranks
    step_tokens = 1 + d.mtp_draft_tokens
    mb = d.microbatches
    seqs_mb = seqs_rank / mb
    tokens_mb = seqs_mb * step_tokens
    # Each rank of a TP group sends its 1/tp share of the group's tokens to the experts.
    expert_tokens_mb = tokens_mb / tp

    def attention(k: int) -> list[Op]:
        return decode_attention_ops(m, q, seqs_mb * k, tokens_mb * k, d.kv_len, tp)

    layers = _layers(m, q, d, attention, tokens_mb, expert_tokens_mb, p, tp, LOW_LATENCY)
    stack = _run_stack(s, layers, d)
    head = _costed(
        s,
        [embedding_op(m, q, seqs_rank * step_tokens), *head_ops(m, q, seqs_rank * step_tokens, tp)],
        (WHOLE_RANK,),
    )
    head_s = _serial_time(head)
    ops = [
        r
        for layer in layers
        for r in _results(s, "decode", layer.kind, stack.costed[layer.kind], stack.runs[layer.kind])
    ]
    layer_rows = stack.rows()
    step_s = stack.makespan_s + head_s
    all_layers = list(layers)
    if d.mtp_draft_tokens:
        # Each draft is one pass of the MTP module over one new token per sequence.
        seqs_run = _per_run(d, "mtp", seqs_mb)
        mtp_layer = Layer(
            "mtp",
            1,
            tuple(
                mtp_pre_ops(m, q, seqs_run)
                + decode_attention_ops(m, q, seqs_run, seqs_run, d.kv_len, tp)
                + moe_ops(m, q, seqs_run / tp, p)
            ),
        )
        mtp_stack = _run_stack(s, [mtp_layer], d)
        mtp_head = _costed(s, head_ops(m, q, seqs_rank, tp), (WHOLE_RANK,))
        mtp_head_s = _serial_time(mtp_head)
        mtp_pass_s = mtp_stack.makespan_s + mtp_head_s
        step_s = step_s + d.mtp_draft_tokens * mtp_pass_s
        ops += _results(s, "decode", "mtp", mtp_stack.costed["mtp"], mtp_stack.runs["mtp"])
        ops += _results(s, "decode", "mtp_head", mtp_head, 1)
        layer_rows.append(LayerResult("mtp", d.mtp_draft_tokens, mtp_stack.makespan_s))
        layer_rows.append(LayerResult("mtp_head", d.mtp_draft_tokens, mtp_head_s))
        all_layers.append(mtp_layer)
    ops += _results(s, "decode", "head", head, 1)
    layer_rows.append(LayerResult("head", 1, head_s))

    chains = dict(stack.chains)
    if d.mtp_draft_tokens:
        chains.update(mtp_stack.chains)
    buffer_tokens = p.ep * expert_tokens_mb if m.moe else 0.0
    use = memory_use(s, d, all_layers, seqs_rank * d.kv_len, buffer_tokens)
    _check(s, "decode", use, ranks, check_memory)
    tpot = tpot_s(step_s, d.tokens_emitted_per_step)
    return PhaseResult(
        phase="decode",
        throughput_tokens_per_s_per_device=decode_throughput_per_device(d.batch_per_device, tpot),
        step_time_s=step_s,
        layers=layer_rows,
        ops=ops,
        memory=use,
        ranks_per_device=ranks,
        microbatches=mb,
        tpot_s=tpot,
        batch_per_device=d.batch_per_device,
        extra={
            "tokens_per_rank_per_microbatch": tokens_mb,
            "tokens_emitted_per_step": d.tokens_emitted_per_step,
            "expert_tokens_busiest_rank": (
                expert_tokens_per_rank(m, p, expert_tokens_mb) if m.moe else 0.0
            ),
        },
        chains=chains,
    )


def estimate_prefill(s: Scenario, f: Prefill, check_memory: bool = True) -> PhaseResult:
    m, q, p = s.model, s.quantization, f.placement
    ranks = s.cluster.device.ranks_per_device
    tokens_rank = f.tokens_per_device / ranks
    mb = f.microbatches
    tokens_mb = tokens_rank / mb
    domain = s.cluster.scale_up[-1].ranks if s.cluster.scale_up else 1  # ranks on scale-up links
    if m.attention.kind == "mla":
        # SP-TP-SP: each rank keeps its own tokens; attention_tp splits the core attention.
        def attention(k: int) -> list[Op]:
            return prefill_attention_ops(
                m, q, tokens_mb * k, f.input_len, f.attention_tp, f.prefix_len
            )

        layers = _layers(m, q, f, attention, tokens_mb, tokens_mb, p, 1, NORMAL, domain)
    else:
        # Tensor parallelism: the tp ranks of a group all process the group's tokens.
        group_mb = tokens_mb * f.tp

        def attention(k: int) -> list[Op]:
            return prefill_attention_ops(m, q, group_mb * k, f.input_len, f.tp, f.prefix_len)

        layers = _layers(m, q, f, attention, group_mb, tokens_mb, p, f.tp, NORMAL, domain)
    stack = _run_stack(s, layers, f)
    prompts_rank = tokens_rank / f.input_len
    head = _costed(
        s,
        [embedding_op(m, q, tokens_rank), *head_ops(m, q, prompts_rank * f.tp, f.tp)],
        (WHOLE_RANK,),
    )
    head_s = _serial_time(head)
    batch_s = stack.makespan_s + head_s
    ops = [
        r
        for layer in layers
        for r in _results(
            s, "prefill", layer.kind, stack.costed[layer.kind], stack.runs[layer.kind]
        )
    ]
    ops += _results(s, "prefill", "head", head, 1)
    layer_rows = stack.rows()
    layer_rows.append(LayerResult("head", 1, head_s))
    kv_tokens = tokens_rank * (f.tp if m.attention.kind == "gqa" else 1)
    buffer_tokens = expert_tokens_per_rank(m, p, tokens_mb) if m.moe else 0.0
    use = memory_use(s, f, layers, kv_tokens, buffer_tokens)
    _check(s, "prefill", use, ranks, check_memory)
    return PhaseResult(
        phase="prefill",
        throughput_tokens_per_s_per_device=prefill_throughput_per_device(
            f.tokens_per_device, batch_s
        ),
        step_time_s=batch_s,
        layers=layer_rows,
        ops=ops,
        memory=use,
        ranks_per_device=ranks,
        microbatches=mb,
        batch_per_device=f.tokens_per_device,
        extra={
            "tokens_per_rank_per_microbatch": tokens_mb,
            "prompts_per_device": prompts_rank * ranks,
        },
        chains=stack.chains,
    )


def model_weight_bytes(s: Scenario) -> float:
    """The whole model's weights in the scenario's formats, every expert once and nothing
    replicated: what a cold start loads. Counted as an instance's memory counts them (one rank
    holding every layer, expert and the embedding table)."""
    m, q = s.model, s.quantization
    block = s.phases[0]
    alone = replace(
        block,
        placement=replace(block.placement, ep=1, redundant_experts=0, shared_expert_replicas=1),
        tp=1,
        microbatches=1,
    )

    def attention(k: int) -> list[Op]:
        return decode_attention_ops(m, q, float(k), float(k), 1, 1)

    layers = _layers(m, q, alone, attention, 1.0, 1.0, alone.placement, 1, LOW_LATENCY)
    return float(memory_use(s, alone, layers, 0.0, 0.0).weights_bytes)


# What assembles each phase's estimate from its block (the phases and their vocabulary:
# cmperf.specs.phases).
ASSEMBLERS = {"prefill": estimate_prefill, "decode": estimate_decode}


def exchange_time_s(
    cluster: Cluster,
    kind: str,
    ep: int,
    tokens_per_rank: float,
    top_k: int,
    model: ModelSpec,
    dtype: DType,
) -> float:
    """One MoE dispatch or combine, as the communication microbenchmarks of ref §4.4 run it."""
    op = moe_exchange(CommKind(kind), model, tokens_per_rank, top_k, ep, dtype)
    return float(op_cost(op, cluster, WHOLE_RANK).total_s)
