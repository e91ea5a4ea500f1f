"""Scenarios: the run (phase, batch, lengths, parallelism, quantization) on hardware."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..formulas.serving import tokens_emitted_per_step
from ..quant import DType
from ..units import Dimension
from .hardware import Cluster
from .model import ModelSpec
from .notes import note
from .reader import Reader, did_you_mean

# The kinds of work a stream runs. `route` is the vector work around a token exchange (prefill's
# sorting and gathering of token copies); unless a stream claims it, it runs with `moe`.
PATHS = ("attention", "moe", "ffn", "comm", "route")
OPTIONAL_PATHS = {"route": "moe"}  # path -> the path whose stream runs it when none claims it
QUANT_KEYS = ("weights", "activations", "kv_cache", "dispatch", "combine", "attention", "head")
_QUANT_DEFAULTS = {"attention": "bf16", "head": "bf16"}


@dataclass(frozen=True)
class Quantization:
    weights: DType
    activations: DType
    kv_cache: DType
    dispatch: DType
    combine: DType
    attention: DType  # compute format of core attention (scores and values)
    head: DType  # embedding and LM head weights

    @property
    def gemm(self) -> DType:
        """Format linear layers compute in: the wider of weights and activations."""
        return max(self.weights, self.activations, key=lambda d: d.bytes)


LAYER_KINDS = ("dense", "moe", "mtp")  # transformer layer kinds a pipeline may cover
EXPERT_ROUTING = ("balanced", "multinomial")


@dataclass(frozen=True)
class Stream:
    """A stream of work that owns a share of the cores of each engine and runs ops of the
    listed paths. An engine it names no share of is wholly its own (one stream, no overlap)."""

    name: str
    paths: tuple[str, ...]
    shares: tuple[tuple[str, float], ...] = ()  # (engine name, share of its cores)

    def share(self, engine: str) -> float:
        return dict(self.shares).get(engine, 1.0)


@dataclass(frozen=True)
class Placement:
    ep: int
    redundant_experts: int
    shared_expert_replicas: int
    expert_imbalance: float
    # multinomial: every routing step draws each token's experts at random (equal expected
    # load), so the busiest rank carries the expected maximum of the ranks' counts; balanced:
    # every rank gets exactly its share (perfect EPLB).
    expert_routing: str = "balanced"


@dataclass(frozen=True)
class Phase:
    name: str
    devices: int
    placement: Placement
    microbatches: int
    streams: tuple[Stream, ...]
    tp: int  # tensor parallelism of attention and dense FFNs (ranks per group)
    # Layer kinds the microbatch pipeline covers (dense, moe, mtp); the others run their whole
    # batch as one microbatch on every core of the rank.
    pipelined: tuple[str, ...] = field(default=LAYER_KINDS, kw_only=True)

    def is_pipelined(self, kind: str) -> bool:
        return self.microbatches > 1 and kind in self.pipelined


@dataclass(frozen=True)
class Decode(Phase):
    batch_per_device: float
    kv_len: int
    mtp_draft_tokens: int
    mtp_acceptance: tuple[float, ...]
    mtp_acceptance_per_depth: bool = False

    @property
    def tokens_emitted_per_step(self) -> float:
        """1 + expected accepted drafts (ref §3.1: 1 draft at 70 % gives 1.7)."""
        return tokens_emitted_per_step(
            self.mtp_draft_tokens, self.mtp_acceptance, self.mtp_acceptance_per_depth
        )


@dataclass(frozen=True)
class Prefill(Phase):
    tokens_per_device: float
    input_len: int
    attention_tp: int
    prefix_len: int = 0  # cached tokens before each prompt, attended to but not computed


@dataclass(frozen=True)
class Deployment:
    """Pools of the scenario's prefill and decode instances, their cache and their workload
    (cmperf.deployment); each prompt is the prefill's input_len tokens."""

    prefill_instances: int
    decode_instances: int
    output_len: int  # generated tokens per request
    reuse: float  # share of each prompt whose KV blocks are found in the context cache
    cache: str  # the path to the cache pool: ub (CPU DRAM over UB) or vpc
    arrival_rate: float | None = None  # requests per second offered to the deployment
    ttft_slo_s: float | None = None  # a p90 TTFT bound: the arrival rate that breaks it
    # Coefficient of variation of the prompts' lengths about the prefill's input_len: each
    # request's share of a packed batch varies with it (0: every prompt the same length).
    input_len_cv: float = 0.0
    concurrency: int | None = None  # requests kept in flight (closed loop), for arrival_rate


CACHE_PATHS = ("ub", "vpc")


def read_deployment(r: Reader, sections: dict[str, Phase], model: ModelSpec) -> Deployment:
    if "decode" not in sections or "prefill" not in sections:
        raise r.error("prefill_instances", "a deployment needs both a prefill and a decode block")
    prefill, decode = sections["prefill"], sections["decode"]
    w = r.sub("workload", {})
    rate = w.raw("arrival_rate", None)
    slo = w.raw("ttft_slo", None)
    concurrency = w.raw("concurrency", None)
    if rate is not None and concurrency is not None:
        raise w.error(
            "concurrency",
            "give an arrival_rate (open loop) or a concurrency (requests in flight), not both",
        )
    deployment = Deployment(
        prefill_instances=r.integer("prefill_instances", 1, high=100_000),
        decode_instances=r.integer("decode_instances", 1, high=100_000),
        output_len=w.integer("output_len", high=10_000_000),
        reuse=w.number("reuse", 0.0, high=0.99),
        cache=r.string("cache", "ub", choices=list(CACHE_PATHS)),
        arrival_rate=None
        if rate is None
        else w.number("arrival_rate", low=0.0, high=1e9, low_open=True),
        ttft_slo_s=None if slo is None else w.quantity("ttft_slo", Dimension.TIME),
        input_len_cv=w.number("input_len_cv", 0.0, high=10.0),
        concurrency=None
        if concurrency is None
        else w.integer("concurrency", low=1, high=1_000_000_000),
    )
    w.done(["output_len", "reuse", "arrival_rate", "ttft_slo", "input_len_cv", "concurrency"])
    prompt = prefill.prefix_len + prefill.input_len  # a reused prefix is part of the prompt
    length = prompt + deployment.output_len
    if model.context_length is not None and length > model.context_length:
        raise w.error(
            "output_len",
            f"{prompt} prompt + {deployment.output_len} generated tokens exceed the "
            f"context length of {model.name} ({model.context_length} tokens)",
        )
    mean_context = prompt + deployment.output_len / 2
    if abs(decode.kv_len - mean_context) > 0.1 * mean_context:
        note(
            f"decode.kv_len {decode.kv_len} prices every decode step, while the workload's "
            f"mean context is {mean_context:g} tokens (prefill.input_len + half of "
            "deployment.workload.output_len); set decode.kv_len to match"
        )
    r.done(["prefill_instances", "decode_instances", "workload", "cache"])
    return deployment


@dataclass(frozen=True)
class Scenario:
    name: str
    file: str
    description: str
    cluster: Cluster
    model: ModelSpec
    quantization: Quantization
    # Its phase blocks by name, in report order (cmperf.specs.phases.PHASE_KINDS).
    sections: dict[str, Phase]
    overrides: tuple[str, ...] = field(default=())
    sweep: dict | None = None  # the search space of `cmperf sweep`, read by cmperf.search
    ideal: bool = False  # price every kernel at the speed of light (peaks, no overheads)
    deployment: Deployment | None = None  # pools above the instances (cmperf.deployment)

    @property
    def phases(self) -> list[Phase]:
        return list(self.sections.values())

    def section(self, name: str) -> Phase | None:
        return self.sections.get(name)

    @property
    def decode(self) -> Decode | None:
        return self.sections.get("decode")  # type: ignore[return-value]

    @property
    def prefill(self) -> Prefill | None:
        return self.sections.get("prefill")  # type: ignore[return-value]


def read_quantization(r: Reader) -> Quantization:
    formats = [d.value for d in DType]
    values = {
        k: DType(r.string(k, _QUANT_DEFAULTS.get(k, ...), choices=formats)) for k in QUANT_KEYS
    }
    r.done(list(QUANT_KEYS))
    return Quantization(**values)


def _streams(r: Reader, cluster: Cluster, microbatches: int) -> tuple[Stream, ...]:
    """Streams and the cores of each engine they own: `cores: {cube: 16, vector: 32}` on
    Ascend, `cores: {sm: 112}` on a GPU (a communication kernel that runs on SMs, such as
    DeepEP, takes its stream's SMs from the same pool)."""
    engines = cluster.device.engines
    whole = (Stream("main", PATHS),)
    if "streams" not in r.data:
        r.raw("streams", None)
        return whole
    sr = r.sub("streams")
    streams = []
    claimed: dict[str, str] = {}
    totals = dict.fromkeys(engines, 0)
    for name in sr.names():
        s = sr.sub(name)
        paths = s.raw("paths")
        if not isinstance(paths, list) or not paths or any(p not in PATHS for p in paths):
            raise s.error("paths", f"expected a list drawn from {', '.join(PATHS)}, got {paths!r}")
        for p in paths:
            if p in claimed:
                raise s.error("paths", f"path {p!r} already runs on stream {claimed[p]!r}")
            claimed[p] = name
        cr = s.sub("cores", {})
        shares = []
        for engine_name in cr.names():
            if engine_name not in engines:
                raise cr.error(
                    engine_name,
                    f"the device has no engine {engine_name!r}{did_you_mean(engine_name, engines)}"
                    f"; its engines: {', '.join(engines)}",
                )
            n = cr.integer(engine_name, low=0, high=engines[engine_name].cores)
            totals[engine_name] += n
            shares.append((engine_name, n / engines[engine_name].cores))
        s.done(["paths", "cores"])
        stream = Stream(name, tuple(paths), tuple(shares))
        # A stream that computes needs cores of every engine; one that only routes tokens
        # (vector work) needs vector cores.
        if any(p not in ("comm", "route") for p in paths):
            needed = list(engines)
        elif "route" in paths:
            needed = [cluster.device.engine_for("vector").name]
        else:
            needed = []
        starved = [e for e in needed if stream.share(e) == 0 or e not in dict(shares)]
        if starved:
            what = "computes" if len(needed) > 1 else "routes tokens"
            raise sr.error(
                name,
                f"a stream that {what} needs cores of {', '.join(needed)}; "
                f"give cores: {{{', '.join(f'{e}: N' for e in starved)}}}",
            )
        streams.append(stream)
    missing = [p for p in PATHS if p not in claimed and p not in OPTIONAL_PATHS]
    if missing:
        raise r.error("streams", f"no stream runs path(s) {', '.join(missing)}")
    over = [e for e, n in totals.items() if n > engines[e].cores]
    if over:
        e = over[0]
        raise r.error(
            "streams", f"streams claim {totals[e]} {e} cores; the rank has {engines[e].cores}"
        )
    # One microbatch leaves nothing to overlap: every op gets the whole rank.
    return tuple(streams) if microbatches > 1 else whole


def _placement(r: Reader, model: ModelSpec, ranks: int) -> Placement:
    if model.moe is None:
        for key in (
            "ep",
            "redundant_experts",
            "shared_expert_replicas",
            "expert_imbalance",
            "expert_routing",
        ):
            if r.has(key):
                raise r.error(key, f"model {model.name} has no experts (a dense model)")
        return Placement(1, 0, 0, 1.0)
    ep = r.integer("ep", ranks)
    if ranks % ep:
        raise r.error(
            "ep",
            f"ep {ep} does not divide the {ranks} ranks of the phase; "
            f"valid: {', '.join(map(str, _divisors(ranks)))}",
        )
    shared = r.integer("shared_expert_replicas", ep if model.moe.shared_experts else 0, low=0)
    if model.moe.shared_experts == 0 and shared:
        note(
            f"{r.key_path('shared_expert_replicas')}: model {model.name} has no shared expert; "
            f"its {shared} replicas are dropped"
        )
        shared = 0
    if model.moe.shared_experts and shared == 0:
        raise r.error(
            "shared_expert_replicas", "the model's shared expert needs at least 1 replica"
        )
    fewest = _fewest_redundant(model.moe.routed_experts, shared, ep)
    if r.has("redundant_experts"):
        redundant = r.integer("redundant_experts", low=0)
    elif fewest is None:
        redundant = 0  # reported below with the placement's error
    else:
        redundant = fewest
    imbalance = r.number("expert_imbalance", 1.0, low=1.0, high=1e3)
    routing = r.string("expert_routing", "balanced", choices=list(EXPERT_ROUTING))
    if not _places(model.moe.routed_experts, redundant, shared, ep):
        fix = (
            f"the fewest redundant experts that balance them is {fewest} "
            f"(--set {r.key_path('redundant_experts')}={fewest})"
            if fewest is not None
            else f"no number of redundant experts does: try shared_expert_replicas = ep ({ep})"
        )
        extra = "" if shared in (0, ep) else f" + {shared} shared-expert replicas"
        raise r.error(
            "ep",
            f"{model.moe.routed_experts} routed + {redundant} redundant experts{extra} do not "
            f"place evenly over ep {ep}; {fix}",
        )
    return Placement(ep, redundant, shared, imbalance, routing)


def _places(routed: int, redundant: int, shared: int, ep: int) -> bool:
    """Whether the experts place evenly: the same number of routed instances on every rank
    (the shared expert on each, shared == ep), or whole ranks of routed instances and whole
    ranks of shared-expert replicas, each rank holding as many as any other."""
    if shared == ep or shared == 0:
        return (routed + redundant) % ep == 0
    instances = routed + redundant + shared
    return instances % ep == 0 and shared % (instances // ep) == 0


def _fewest_redundant(routed: int, shared: int, ep: int) -> int | None:
    """The fewest redundant routed replicas that make the placement even (None: none does)."""
    for redundant in range(0, 2 * ep + routed):
        if _places(routed, redundant, shared, ep):
            return redundant
    return None


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def _pipelined(r: Reader) -> tuple[str, ...]:
    """The layer kinds the microbatch pipeline covers (default: all of them)."""
    raw = r.raw("pipelined", list(LAYER_KINDS))
    if not isinstance(raw, list) or not all(isinstance(k, str) for k in raw):
        raise r.error("pipelined", f"expected a list of layer kinds ({', '.join(LAYER_KINDS)})")
    for kind in raw:
        if kind not in LAYER_KINDS:
            hint = did_you_mean(kind, LAYER_KINDS)
            raise r.error(
                "pipelined", f"unknown layer kind {kind!r}{hint}; expected {', '.join(LAYER_KINDS)}"
            )
    return tuple(raw)


def _ranks(r: Reader, cluster: Cluster) -> tuple[int, int]:
    devices = r.integer("devices", high=cluster.devices)
    return devices, devices * cluster.device.ranks_per_device


def _tp(r: Reader, model: ModelSpec, ranks: int) -> int:
    """Tensor parallelism: heads (and dense FFN columns) split over `tp` ranks."""
    tp = r.integer("tp", 1)
    heads = model.attention.heads
    if ranks % tp or heads % tp:
        raise r.error("tp", f"tp {tp} must divide the {ranks} ranks and the {heads} heads")
    if model.dense_intermediate and model.dense_layers and model.dense_intermediate % tp:
        raise r.error("tp", f"tp {tp} must divide the dense FFN width {model.dense_intermediate}")
    return tp


def read_decode(r: Reader, cluster: Cluster, model: ModelSpec) -> Decode:
    devices, ranks = _ranks(r, cluster)
    placement = _placement(r, model, ranks)
    microbatches = r.integer("microbatches", 1, high=2)
    mtp = r.sub("mtp", {})
    drafts = mtp.integer("draft_tokens", 0, low=0, high=8)
    if drafts and not model.mtp_modules:
        note(
            f"{mtp.key_path('draft_tokens')}: model {model.name} has no MTP module; decoding "
            "without drafts (--set decode.mtp.draft_tokens=0 says so)"
        )
        drafts = 0
    acceptance_raw = mtp.raw("acceptance", 0.0)
    if isinstance(acceptance_raw, list):
        if len(acceptance_raw) < drafts:
            raise mtp.error(
                "acceptance", f"expected {drafts} per-depth acceptances, got {len(acceptance_raw)}"
            )
        acceptance = tuple(_probability(mtp, a) for a in acceptance_raw[:drafts])
        per_depth = True
    else:
        if drafts > 1:
            raise mtp.error(
                "acceptance",
                f"{drafts} draft tokens need {drafts} per-depth acceptances (a list, one per "
                f"depth), got one number {acceptance_raw!r}",
            )
        acceptance = (mtp.number("acceptance", 0.0, high=1.0),) * drafts
        per_depth = False
    mtp.done(["draft_tokens", "acceptance"])
    batch = _whole_batch(r)
    decode = Decode(
        name="decode",
        devices=devices,
        placement=placement,
        microbatches=microbatches,
        tp=_tp(r, model, ranks),
        streams=_streams(r, cluster, microbatches),
        pipelined=_pipelined(r),
        batch_per_device=batch,
        kv_len=_sequence_length(r, "kv_len", model),
        mtp_draft_tokens=drafts,
        mtp_acceptance=acceptance,
        mtp_acceptance_per_depth=per_depth,
    )
    r.done()
    return decode


def _whole_batch(r: Reader) -> float:
    """Sequences per device: a batch is whole sequences (kept a float for the array maths)."""
    value = r.raw("batch_per_device")
    if isinstance(value, float):
        raise r.error(
            "batch_per_device",
            f"a batch is whole sequences: expected a whole number, got {value!r}",
        )
    return float(r.integer("batch_per_device", high=1_000_000))


def _sequence_length(r: Reader, key: str, model: ModelSpec) -> int:
    """A token length, at most the model's context length where the model states one."""
    length = r.integer(key)
    context = model.context_length
    if context is not None and length > context:
        raise r.error(
            key, f"{length} tokens exceed the context length of {model.name} ({context} tokens)"
        )
    return length


def _probability(r: Reader, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise r.error("acceptance", f"expected probabilities in [0, 1], got {value!r}")
    return float(value)


def read_prefill(r: Reader, cluster: Cluster, model: ModelSpec) -> Prefill:
    devices, ranks = _ranks(r, cluster)
    placement = _placement(r, model, ranks)
    microbatches = r.integer("microbatches", 1, high=2)
    tp = r.integer("attention_tp", 1)
    if ranks % tp or model.attention.heads % tp:
        raise r.error(
            "attention_tp",
            f"attention_tp {tp} must divide the {ranks} ranks and the "
            f"{model.attention.heads} heads",
        )
    prefill_tp = _tp(r, model, ranks)
    if prefill_tp > 1 and model.attention.kind == "mla":
        raise r.error("tp", "MLA prefill splits attention with attention_tp (SP-TP-SP); keep tp 1")
    prefill = Prefill(
        name="prefill",
        devices=devices,
        placement=placement,
        microbatches=microbatches,
        tp=prefill_tp,
        streams=_streams(r, cluster, microbatches),
        pipelined=_pipelined(r),
        tokens_per_device=r.number("tokens_per_device", low=0.0, high=1e9, low_open=True),
        input_len=_sequence_length(r, "input_len", model),
        attention_tp=tp,
        prefix_len=r.integer("prefix_len", 0, low=0, high=10_000_000),
    )
    r.done()
    return prefill
