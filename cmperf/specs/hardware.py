"""Hardware specs: one accelerator (device) and the cluster that joins many of them.

The rank is the smallest independently scheduled unit: a die on Ascend 910C (two per package),
a GPU elsewhere. Reports are per device (package); ranks appear where they matter.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from ..quant import DType
from ..units import Dimension
from .reader import Reader, did_you_mean


@dataclass(frozen=True)
class Sourced:
    """A number with the measurement or document it comes from."""

    value: float
    source: str


ROLES = ("matrix", "vector")  # the kinds of work an engine's cores run


@dataclass(frozen=True)
class Engine:
    """A pool of identical cores and the peak rates of the work they run.

    Ascend's AI Cube cores run matrix work and its AI Vector cores vector work: two engines. A
    GPU's SMs run both (tensor cores and CUDA cores are parts of the same units): one engine
    with a peak table per role, so a stream's share of it is a share of both.
    """

    name: str
    cores: int
    peaks: dict[str, dict[DType, float]]  # role -> number format -> FLOP/s of all cores
    # Sustained clock in a running server as a share of the clock the peaks assume (power and
    # thermal limits under load); 1 where the spec states none. Standalone kernel efficiencies
    # are measured at the full clock, so it applies to estimates, not to `cmperf kernel`.
    clock_under_load: Sourced | None = None

    @property
    def clock(self) -> float:
        return 1.0 if self.clock_under_load is None else self.clock_under_load.value

    @property
    def roles(self) -> tuple[str, ...]:
        return tuple(self.peaks)

    def peak(self, role: str, dtype: DType) -> float | None:
        table = self.peaks.get(role, {})
        if dtype in table:
            return table[dtype]
        # Block-scaled FP8 runs on the FP8 units: its peak is theirs.
        if dtype == DType.FP8_BLOCK:
            return table.get(DType.FP8)
        return None


COMPUTE_EFFICIENCIES = ("gemm", "attention", "vector")
MEMORY_EFFICIENCIES = ("hbm",)
COMM_OVERHEADS = ("dispatch_s", "combine_s", "per_peer_s")


@dataclass(frozen=True)
class Device:
    name: str
    source: str
    file: str
    ranks_per_device: int
    engines: dict[str, Engine]
    hbm_capacity_bytes: float
    hbm_bandwidth_bytes_per_s: float
    compute_efficiency: dict[str, Sourced]
    memory_efficiency: dict[str, Sourced]
    comm_overhead: dict[str, Sourced]
    # True where a stream that owns a share of the cores also gets only that share of the HBM
    # bandwidth (each core's DMA engine moves its own operands), False where any stream can
    # draw on the whole memory system.
    hbm_bandwidth_follows_cores: Sourced
    # Kernel-model parameters: family -> variant (or "default") -> parameter -> value.
    kernels: dict[str, dict[str, dict[str, Sourced]]] = field(default_factory=dict)
    # The overlay file each calibrated figure came from, by key (kernels.gemm.bf16.fixed_s).
    kernel_files: dict[str, str] = field(default_factory=dict)
    # The device whose fitted kernel parameters this one includes (no measurements of its own).
    kernels_from: tuple[str, ...] = ()
    # Resolved kernel parameters by (family, variant), filled on first use (a copy made with
    # dataclasses.replace starts empty).
    kernel_memo: dict = field(default_factory=dict, init=False, compare=False, repr=False)

    def engine_for(self, role: str) -> Engine:
        """The engine whose cores run `role` work (matrix or vector)."""
        for engine in self.engines.values():
            if role in engine.peaks:
                return engine
        raise KeyError(role)


@dataclass(frozen=True)
class Tier:
    """One level of the interconnect: groups of up to `ranks` ranks talk at this speed."""

    name: str
    ranks: int
    bandwidth_bytes_per_s: float
    latency_s: float
    source: str
    # Share of the bandwidth a token exchange (MoE dispatch/combine) sustains on this tier,
    # where measured on it; it replaces the exchange kernel's own fitted share, which belongs
    # to the link it was measured on (DeepEP over NVLink and over RDMA differ).
    exchange_efficiency: Sourced | None = None


@dataclass(frozen=True)
class ObjectStore:
    """Where a deployment's model weights come from on a cold start (without a pool, every
    instance reads the whole model from it): the store's bandwidth, shared by every reader."""

    bandwidth_bytes_per_s: float
    latency_s: float
    source: str


@dataclass(frozen=True)
class Cluster:
    name: str
    source: str
    file: str
    device: Device
    nodes: int
    devices_per_node: int
    scale_up: tuple[Tier, ...]
    scale_out: Tier
    extras: dict[str, float] = field(default_factory=dict)
    # Where a deployment's context cache lives, by path name (ub, vpc): per-device bandwidth
    # and latency to the memory pool (cpu_pool over the scale-up fabric, or over the VPC).
    cache_paths: dict[str, Tier] = field(default_factory=dict)
    pool_capacity_bytes: float | None = None  # the cpu_pool's DRAM, where the spec states it
    object_store: ObjectStore | None = None

    @property
    def ranks_per_node(self) -> int:
        return self.devices_per_node * self.device.ranks_per_device

    @property
    def devices(self) -> int:
        return self.nodes * self.devices_per_node

    def tier_for(self, group_ranks: int) -> Tier:
        """The innermost tier whose domain holds a group of `group_ranks` consecutive ranks."""
        for tier in self.scale_up:
            if group_ranks <= tier.ranks:
                return tier
        return self.scale_out


def _sourced(r: Reader, key: str, dimension: Dimension | None = None, high: float = 1.0) -> Sourced:
    s = r.sub(key)
    if dimension is None:
        value = s.number("value", low=0.0, high=high, low_open=True)
    else:
        value = s.quantity("value", dimension)
    source = s.string("source")
    s.done(["value", "source"])
    return Sourced(value, source)


def _sourced_block(
    r: Reader, key: str, names: tuple[str, ...], dimension: Dimension | None = None
) -> dict[str, Sourced]:
    block = r.sub(key)
    out = {name: _sourced(block, name, dimension) for name in names}
    block.done(list(names))  # a key beside the known ones is a typo: rejected, did-you-mean
    return out


def _peak_table(r: Reader) -> dict[DType, float]:
    peak = {}
    for dtype in r.names():
        if dtype not in DType.__members__.values():
            hint = did_you_mean(dtype, list(DType))
            raise r.error(dtype, f"unknown number format{hint}; expected one of {', '.join(DType)}")
        peak[DType(dtype)] = r.quantity(dtype, Dimension.FLOP_RATE)
    return peak


def _engines(r: Reader) -> dict[str, Engine]:
    """Engines by name (data: cube and vector on Ascend, sm on a GPU), each with its cores
    and a peak table per role it runs; every role must be run by exactly one engine."""
    engines: dict[str, Engine] = {}
    er = r.sub("engines")
    runs: dict[str, str] = {}
    for engine_name in er.names():
        e = er.sub(engine_name)
        pr = e.sub("peak")
        peaks = {}
        for role in pr.names():
            if role not in ROLES:
                raise pr.error(
                    role,
                    f"unknown role{did_you_mean(role, ROLES)}: peaks are given per role "
                    f"({', '.join(ROLES)}), e.g. peak: {{matrix: {{bf16: 989 TFLOP/s}}}}",
                )
            if role in runs:
                raise pr.error(role, f"role {role} is already run by engine {runs[role]!r}")
            runs[role] = engine_name
            peaks[role] = _peak_table(pr.sub(role))
        clock = _sourced(e, "clock_under_load") if e.has("clock_under_load") else None
        engines[engine_name] = Engine(engine_name, e.integer("cores"), peaks, clock)
        e.done(["cores", "peak", "clock_under_load"])
    for role in ROLES:
        if role not in runs:
            raise r.error("engines", f"no engine runs {role} work (give one a peak.{role} table)")
    return engines


def read_device(r: Reader, name: str) -> Device:
    ranks = r.integer("ranks_per_device")
    engines = _engines(r)
    hbm = r.sub("hbm")
    capacity = hbm.quantity("capacity", Dimension.BYTES)
    bandwidth = hbm.quantity("bandwidth", Dimension.BANDWIDTH)
    hbm.done(["capacity", "bandwidth"])
    eff = r.sub("efficiency")
    compute = _sourced_block(eff, "compute", COMPUTE_EFFICIENCIES)
    memory = _sourced_block(eff, "memory", MEMORY_EFFICIENCIES)
    follows = eff.sub("hbm_bandwidth_follows_cores")
    follows_value = follows.raw("value")
    if not isinstance(follows_value, bool):
        raise follows.error("value", f"expected true or false, got {follows_value!r}")
    follows_sourced = Sourced(float(follows_value), follows.string("source"))
    follows.done(["value", "source"])
    eff.done(["compute", "memory", "hbm_bandwidth_follows_cores"])
    # Optional: the fixed and per-peer costs of the device's exchange kernels, where measured
    # as such (the 910C's FusedDispatch); a GPU's come from its fitted kernel parameters.
    overhead = (
        _sourced_block(r, "comm_overhead", COMM_OVERHEADS, Dimension.TIME)
        if r.has("comm_overhead")
        else {}
    )
    from .kernel_params import read_kernels

    kernels = read_kernels(r.sub("kernels")) if r.has("kernels") else {}
    r.raw("include", None)  # applied by the loader (specs.calibration) before reading
    raw_from = r.raw("kernels_from", None)  # whose fitted kernel laws it includes
    if raw_from is not None and not (
        isinstance(raw_from, str)
        or (isinstance(raw_from, list) and all(isinstance(x, str) for x in raw_from))
    ):
        raise r.error("kernels_from", f"expected a device name or a list of them, got {raw_from!r}")
    kernels_from = (raw_from,) if isinstance(raw_from, str) else tuple(raw_from or ())
    return Device(
        name=name,
        source=r.string("source"),
        file=r.file,
        ranks_per_device=ranks,
        engines=engines,
        hbm_capacity_bytes=capacity,
        hbm_bandwidth_bytes_per_s=bandwidth,
        compute_efficiency=compute,
        memory_efficiency=memory,
        comm_overhead=overhead,
        hbm_bandwidth_follows_cores=follows_sourced,
        kernels=kernels,
        kernels_from=kernels_from,
    )


def _tier(r: Reader, key: str, name: str) -> Tier:
    t = r.sub(key)
    tier = Tier(
        name=name,
        ranks=t.integer("ranks"),
        bandwidth_bytes_per_s=t.quantity("bandwidth", Dimension.BANDWIDTH),
        latency_s=t.quantity("latency", Dimension.TIME),
        source=t.string("source"),
        exchange_efficiency=(
            _sourced(t, "exchange_efficiency") if t.has("exchange_efficiency") else None
        ),
    )
    t.done(["ranks", "bandwidth", "latency", "source", "exchange_efficiency"])
    return tier


def read_cluster(r: Reader, name: str, device: Device) -> Cluster:
    tiers_reader = r.sub("scale_up")
    # Innermost first, whatever order the file lists them in.
    tiers = tuple(
        sorted((_tier(tiers_reader, k, k) for k in tiers_reader.names()), key=lambda t: t.ranks)
    )
    if not tiers:
        raise r.error("scale_up", "expected at least one tier")
    for inner, outer in itertools.pairwise(tiers):
        if outer.ranks == inner.ranks:
            raise tiers_reader.error(
                outer.name, f"two tiers span {outer.ranks} ranks ({inner.name!r} too)"
            )
    devices_per_node = r.integer("devices_per_node")
    nodes = r.integer("nodes")
    paths, capacity = _cache_paths(r, nodes * devices_per_node, devices_per_node)
    return Cluster(
        name=name,
        source=r.string("source"),
        file=r.file,
        device=device,
        nodes=nodes,
        devices_per_node=devices_per_node,
        scale_up=tiers,
        scale_out=_tier(r, "scale_out", "scale_out"),
        cache_paths=paths,
        pool_capacity_bytes=capacity,
        object_store=None  # absent, or null: the cluster states no store
        if r.raw("object_store", None) is None
        else _object_store(r.sub("object_store")),
    )


def _object_store(r: Reader) -> ObjectStore:
    store = ObjectStore(
        r.quantity("bandwidth", Dimension.BANDWIDTH),
        r.quantity("latency", Dimension.TIME, 0.0),
        r.string("source"),
    )
    r.done(["bandwidth", "latency", "source"])
    return store


def _cache_paths(
    r: Reader, devices: int, devices_per_node: int
) -> tuple[dict[str, Tier], float | None]:
    """The memory pool a deployment caches KV blocks and models in, by path: the CPUs' DRAM
    over the scale-up fabric (`cpu_pool`: CPUs x their UB bandwidth, shared by every device),
    or over the data-centre network (`vpc`: each node's bandwidth, shared by its devices);
    and the pool's capacity where the spec states it."""
    paths, capacity = {}, None
    if r.has("cpu_pool"):
        c = r.sub("cpu_pool")
        total = c.integer("cpus") * c.quantity("bandwidth_per_cpu", Dimension.BANDWIDTH)
        capacity = c.quantity("capacity", Dimension.BYTES, None)
        keys = ["cpus", "bandwidth_per_cpu", "capacity"]
        paths["ub"] = _pool_path(c, "ub", devices, total / devices, keys)
    if r.has("vpc"):
        v = r.sub("vpc")
        per_node = v.quantity("bandwidth_per_node", Dimension.BANDWIDTH)
        paths["vpc"] = _pool_path(
            v, "vpc", devices, per_node / devices_per_node, ["bandwidth_per_node"]
        )
    return paths, capacity


def _pool_path(r: Reader, name: str, devices: int, per_device: float, keys: list[str]) -> Tier:
    """One path to the pool: its bandwidth per device, latency (0 unless stated), source."""
    tier = Tier(
        name,
        devices,
        per_device,
        r.quantity("latency", Dimension.TIME, 0.0),
        r.string("source", f"{name}: the spec's pool figures"),
    )
    r.done([*keys, "latency", "source"])
    return tier
