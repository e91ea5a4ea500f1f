"""Tests for cmperf.specs: loading specs, the strict reader, quantization, placement, streams."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from support import DECODE, HARDWARE, MODELS, PREFILL, SCENARIOS

from cmperf.errors import CmperfError, InfeasibleError, SpecError
from cmperf.quant import DType
from cmperf.specs import available, load_scenario, parse_override, resolve
from cmperf.specs.hardware import COMM_OVERHEADS, COMPUTE_EFFICIENCIES, MEMORY_EFFICIENCIES
from cmperf.specs.reader import Reader, did_you_mean
from cmperf.specs.scenario import PATHS, Quantization, read_quantization
from cmperf.units import Dimension


@pytest.fixture(scope="module")
def decode() -> Any:
    return load_scenario(DECODE)


@pytest.fixture(scope="module")
def prefill() -> Any:
    return load_scenario(PREFILL)


def spec_error(overrides: list[str], scenario: str = DECODE) -> SpecError:
    with pytest.raises(SpecError) as info:
        load_scenario(scenario, overrides)
    return info.value


# --- errors ---------------------------------------------------------------------------------------


def test_error_classes_and_exit_codes() -> None:
    assert issubclass(SpecError, CmperfError)
    assert issubclass(InfeasibleError, CmperfError)
    assert SpecError("f.yaml", "a.b", "bad").exit_code == 2
    assert InfeasibleError("too big").exit_code == 1
    e = SpecError("f.yaml", "a.b", "bad")
    assert str(e) == "f.yaml: a.b: bad"
    assert (e.file, e.path, e.message) == ("f.yaml", "a.b", "bad")
    assert str(SpecError("f.yaml", "", "bad")) == "f.yaml: bad"


# --- loading ------------------------------------------------------------------------------------


def test_load_scenario_by_name(decode: Any, prefill: Any) -> None:
    assert decode.name == DECODE
    assert decode.cluster.name == "cloudmatrix384"
    assert decode.cluster.device.name == "ascend-910c"
    assert decode.model.name == "deepseek-r1"
    assert decode.decode is not None and decode.prefill is None
    assert [p.name for p in decode.phases] == ["decode"]
    assert prefill.prefill is not None and prefill.decode is None
    assert decode.overrides == ()


def test_load_scenario_by_path(decode: Any) -> None:
    by_path = load_scenario(str(SCENARIOS / f"{DECODE}.yaml"))
    assert by_path.name == decode.name
    assert by_path.decode == decode.decode
    assert by_path.quantization == decode.quantization
    assert Path(by_path.file).name == f"{DECODE}.yaml"


def test_load_scenario_with_overrides() -> None:
    s = load_scenario(DECODE, ["decode.batch_per_device=8", "decode.kv_len=1024"])
    assert s.decode.batch_per_device == 8
    assert s.decode.kv_len == 1024
    assert s.overrides == ("decode.batch_per_device=8", "decode.kv_len=1024")


def test_overrides_do_not_leak_between_loads() -> None:
    load_scenario(DECODE, ["decode.batch_per_device=8"])
    assert load_scenario(DECODE).decode.batch_per_device == 96


def test_available_and_resolve() -> None:
    assert {DECODE, PREFILL} <= set(available("scenario"))
    assert {"cloudmatrix384", "ascend-910c"} <= set(available("hardware"))
    assert {"deepseek-r1", "deepseek-v3"} <= set(available("model"))
    assert resolve("model", "deepseek-r1").name == "deepseek-r1.yaml"
    with pytest.raises(LookupError, match="available: deepseek-r1, deepseek-v3"):
        resolve("model", "nosuch")


def test_resolve_relative_to_the_scenario_folder(tmp_path: Path) -> None:
    (tmp_path / "hw.yaml").write_text("{}", encoding="utf-8")
    assert resolve("hardware", "./hw.yaml", tmp_path) == tmp_path / "hw.yaml"
    assert resolve("hardware", "hw.yaml", tmp_path) == tmp_path / "hw.yaml"


def test_unknown_scenario_is_a_spec_error() -> None:
    with pytest.raises(SpecError, match=r"unknown scenario 'nosuch'.*available: .*decode"):
        load_scenario("nosuch")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("decode.batch_per_device=8", ("decode.batch_per_device", 8)),
        ("decode.mtp.acceptance=0.7", ("decode.mtp.acceptance", 0.7)),
        ("quantization.weights=int8", ("quantization.weights", "int8")),
        (" decode.kv_len = 4096 ", ("decode.kv_len", 4096)),
        ("decode.mtp.acceptance=[0.7, 0.5]", ("decode.mtp.acceptance", [0.7, 0.5])),
        ("description=a=b", ("description", "a=b")),
        ("decode.ep=", ("decode.ep", None)),
    ],
)
def test_parse_override(text: str, expected: tuple[str, Any]) -> None:
    assert parse_override(text) == expected


@pytest.mark.parametrize("text", ["noequals", "=1", "a..b=1", "a.=1", ".a=1"])
def test_parse_override_rejects(text: str) -> None:
    with pytest.raises(SpecError, match=r"dotted\.key=value"):
        parse_override(text)


# --- the strict reader --------------------------------------------------------------------------


def test_reader_errors_name_file_and_key_path() -> None:
    r = Reader({"hbm": {"capacity": "lots"}}, "dev.yaml")
    with pytest.raises(SpecError) as info:
        r.sub("hbm").quantity("capacity", Dimension.BYTES)
    err = info.value
    assert err.file == "dev.yaml"
    assert err.path == "hbm.capacity"
    assert str(err).startswith("dev.yaml: hbm.capacity: ")
    assert 'expected a bytes like "64 GB"' in str(err)


def test_reader_nested_key_path() -> None:
    r = Reader({"a": {"b": {"c": "x"}}}, "f.yaml")
    with pytest.raises(SpecError, match=r"^f\.yaml: a\.b\.c: expected a whole number, got 'x'$"):
        r.sub("a").sub("b").integer("c")


def test_reader_missing_key() -> None:
    with pytest.raises(SpecError, match=r"f\.yaml: sec\.k: missing required key"):
        Reader({"sec": {}}, "f.yaml").sub("sec").raw("k")
    assert Reader({}, "f.yaml").integer("k", 3) == 3


@pytest.mark.parametrize("data", [None, [1, 2], "text", 5])
def test_reader_needs_a_mapping(data: Any) -> None:
    with pytest.raises(SpecError, match="expected a mapping of keys"):
        Reader(data, "f.yaml")


def test_reader_bare_number_for_a_quantity() -> None:
    r = Reader({"bandwidth": 1600}, "hw.yaml", "hbm")
    with pytest.raises(SpecError, match=r'hbm\.bandwidth: expected a bandwidth like "1\.6 TB/s"'):
        r.quantity("bandwidth", Dimension.BANDWIDTH)


def test_reader_quantity_parses_units() -> None:
    r = Reader({"bw": "1.6 TB/s", "t": "74.5 us", "c": "64 GiB"}, "f.yaml")
    assert r.quantity("bw", Dimension.BANDWIDTH) == pytest.approx(1.6e12)
    assert r.quantity("t", Dimension.TIME) == pytest.approx(74.5e-6)
    assert r.quantity("c", Dimension.BYTES) == 64 * 2**30
    with pytest.raises(SpecError, match="must be positive"):
        Reader({"bw": "0 TB/s"}, "f.yaml").quantity("bw", Dimension.BANDWIDTH)


def test_reader_numbers() -> None:
    r = Reader({"x": 0.5, "b": True, "n": 2.5, "i": 3}, "f.yaml")
    assert r.number("x", high=1.0) == 0.5
    with pytest.raises(SpecError, match="expected a number, got True"):
        r.number("b")
    with pytest.raises(SpecError, match=r"expected a number in \[0, 1\]"):
        r.number("n", high=1.0)
    with pytest.raises(SpecError, match=r"expected a number in \(0, 1\]"):
        Reader({"z": 0}, "f.yaml").number("z", high=1.0, low_open=True)
    with pytest.raises(SpecError, match=r"expected a whole number, got 2\.5"):
        r.integer("n")
    with pytest.raises(SpecError, match="expected a whole number, got True"):
        r.integer("b")
    with pytest.raises(SpecError, match="at least 4 and at most 8, got 3"):
        r.integer("i", low=4, high=8)
    assert r.integer("i") == 3


def test_reader_string_choices() -> None:
    r = Reader({"w": "int3"}, "f.yaml", "quantization")
    with pytest.raises(SpecError) as info:
        r.string("w", choices=["bf16", "int8"])
    message = str(info.value)
    assert message.startswith("f.yaml: quantization.w: expected one of bf16, int8; got 'int3'")
    assert "did you mean 'int8'" in message


def test_reader_done_rejects_unknown_keys() -> None:
    r = Reader({"batch_per_dvice": 8, "kv_len": 1}, "s.yaml", "decode")
    r.integer("kv_len")
    with pytest.raises(SpecError) as info:
        r.done(["batch_per_device", "kv_len"])
    assert info.value.path == "decode.batch_per_dvice"
    assert "unknown key (did you mean 'batch_per_device'?)" in str(info.value)
    assert "expected one of: batch_per_device, kv_len" in str(info.value)


def test_reader_done_defaults_to_the_keys_read() -> None:
    r = Reader({"nodez": 1, "nodes": 2}, "c.yaml")
    r.integer("nodes")
    with pytest.raises(SpecError, match="did you mean 'nodes'"):
        r.done()
    r2 = Reader({"a": 1}, "c.yaml")
    r2.integer("a")
    r2.done()  # everything read: no error


def test_did_you_mean() -> None:
    keys = ["batch_per_device", "kv_len", "devices"]
    assert did_you_mean("batch_per_dvice", keys) == " (did you mean 'batch_per_device'?)"
    assert did_you_mean("kvlen", keys) == " (did you mean 'kv_len'?)"
    assert did_you_mean("zzzz", keys) == ""
    assert did_you_mean("x", []) == ""


# --- quantization ---------------------------------------------------------------------------------


def _quant(**values: str) -> Quantization:
    return read_quantization(Reader(values, "q.yaml", "quantization"))


def test_quantization_defaults() -> None:
    q = _quant(weights="int8", activations="int8", kv_cache="int8", dispatch="int8", combine="bf16")
    assert q.attention == DType.BF16
    assert q.head == DType.BF16
    assert q.weights == DType.INT8
    assert q.combine == DType.BF16


def test_quantization_required_and_unknown_keys() -> None:
    with pytest.raises(SpecError, match=r"quantization\.weights: missing required key"):
        _quant(activations="int8", kv_cache="int8", dispatch="int8", combine="bf16")
    with pytest.raises(SpecError, match=r"quantization\.weigths: unknown key"):
        _quant(
            weights="int8",
            weigths="int8",
            activations="int8",
            kv_cache="int8",
            dispatch="int8",
            combine="bf16",
        )


def test_quantization_of_the_scenarios(decode: Any) -> None:
    q = decode.quantization
    assert (q.weights, q.activations, q.kv_cache) == (DType.INT8, DType.INT8, DType.INT8)
    assert (q.dispatch, q.combine, q.attention, q.head) == (
        DType.INT8,
        DType.BF16,
        DType.BF16,
        DType.BF16,
    )


@pytest.mark.parametrize(
    ("weights", "activations", "gemm"),
    [
        ("int8", "int8", "int8"),
        ("int8", "bf16", "bf16"),
        ("bf16", "int8", "bf16"),
        ("int4", "int8", "int8"),
        ("int4", "bf16", "bf16"),
        ("fp4", "fp8", "fp8"),
        ("fp32", "bf16", "fp32"),
    ],
)
def test_gemm_format_is_the_wider(weights: str, activations: str, gemm: str) -> None:
    q = _quant(
        weights=weights, activations=activations, kv_cache="int8", dispatch="int8", combine="bf16"
    )
    assert q.gemm == DType(gemm)
    assert q.gemm.bytes == max(DType(weights).bytes, DType(activations).bytes)


# --- placement ------------------------------------------------------------------------------------


def test_placement_of_the_scenarios(decode: Any, prefill: Any) -> None:
    d = decode.decode
    assert d.devices == 160
    assert d.placement.ep == 320
    assert d.placement.redundant_experts == 32
    assert d.placement.shared_expert_replicas == 32
    p = prefill.prefill
    assert p.placement.ep == 32 == p.placement.shared_expert_replicas
    assert p.attention_tp == 32


def test_ep_defaults_to_all_ranks() -> None:
    s = load_scenario(
        DECODE,
        [
            "decode.ep=",
            "decode.shared_expert_replicas=",
            "decode.redundant_experts=0",
            "decode.devices=128",
        ],
    )
    # 128 devices x 2 dies; 256 routed experts, one per rank, shared expert on every rank.
    assert s.decode.placement.ep == 256
    assert s.decode.placement.shared_expert_replicas == 256


@pytest.mark.parametrize("ep", [7, 3, 640])
def test_ep_must_divide_the_ranks(ep: int) -> None:
    err = spec_error([f"decode.ep={ep}"])
    assert err.path == "decode.ep"
    assert f"ep {ep} does not divide the 320 ranks" in err.message


def test_experts_must_divide_evenly() -> None:
    # Shared expert on every rank: 256 routed + 32 redundant = 288 experts over 320 ranks.
    err = spec_error(["decode.shared_expert_replicas=320"])
    assert err.path == "decode.ep"
    assert "do not place evenly over ep 320" in err.message
    assert "the fewest redundant experts that balance them is 64" in err.message


def test_dedicated_shared_expert_ranks_must_place_evenly() -> None:
    err = spec_error(["decode.shared_expert_replicas=16"])
    assert err.path == "decode.ep"
    assert "do not place evenly over ep 320" in err.message


def test_shared_expert_needs_a_replica() -> None:
    # 144 devices = 288 ranks = 256 routed + 32 redundant experts, one each: places evenly.
    err = spec_error(["decode.devices=144", "decode.ep=288", "decode.shared_expert_replicas=0"])
    assert err.path == "decode.shared_expert_replicas"
    assert "needs at least 1 replica" in err.message


def test_model_without_shared_expert_rejects_replicas(tmp_path: Path) -> None:
    model = yaml.safe_load((MODELS / "deepseek-r1.yaml").read_text(encoding="utf-8"))
    model["moe"]["shared_experts"] = 0
    (tmp_path / "model.yaml").write_text(yaml.safe_dump(model), encoding="utf-8")
    scenario = yaml.safe_load((SCENARIOS / f"{DECODE}.yaml").read_text(encoding="utf-8"))
    scenario["model"] = "./model.yaml"
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(scenario), encoding="utf-8")
    # The scenario's 32 shared-expert replicas do not apply: dropped, with a note; the 288
    # routed instances then do not fill 320 ranks, and the error says the fix.
    from cmperf.specs.notes import take

    take()
    with pytest.raises(SpecError) as info:
        load_scenario(str(path))
    assert info.value.path == "decode.ep"
    assert "decode.redundant_experts=64" in info.value.message
    assert any("no shared expert" in n for n in take())
    # Without the replicas it loads, and the default is no replica.
    s = load_scenario(str(path), ["decode.shared_expert_replicas=", "decode.redundant_experts=64"])
    assert s.decode.placement.shared_expert_replicas == 0


def test_devices_above_the_cluster_are_rejected(decode: Any) -> None:
    assert decode.cluster.devices == 384
    assert (
        load_scenario(
            DECODE,
            [
                "decode.devices=384",
                "decode.ep=768",
                "decode.redundant_experts=480",
                "decode.shared_expert_replicas=32",
            ],
        ).decode.devices
        == 384
    )
    err = spec_error(["decode.devices=385"])
    assert err.path == "decode.devices"
    assert "at most 384" in err.message


def test_attention_tp_must_divide_heads() -> None:
    err = spec_error(["prefill.attention_tp=3"], PREFILL)
    assert err.path == "prefill.attention_tp"
    assert "128 heads" in err.message


# --- streams --------------------------------------------------------------------------------------


def test_streams_of_the_decode_scenario(decode: Any) -> None:
    streams = {s.name: s for s in decode.decode.streams}
    assert set(streams) == {"attention", "moe"}
    assert streams["attention"].paths == ("attention",)
    assert set(streams["moe"].paths) == {"moe", "ffn", "comm"}
    assert streams["attention"].share("cube") == pytest.approx(16 / 24)
    assert streams["moe"].share("vector") == pytest.approx(16 / 48)
    claimed = [p for s in decode.decode.streams for p in s.paths]
    # every path but the optional `route`, which runs with moe when no stream claims it
    assert sorted(claimed) == sorted(p for p in PATHS if p != "route")


def test_one_microbatch_gets_the_whole_rank() -> None:
    s = load_scenario(DECODE, ["decode.microbatches=1"])
    assert len(s.decode.streams) == 1
    (stream,) = s.decode.streams
    assert stream.share("cube") == stream.share("vector") == 1.0
    assert set(stream.paths) >= set(PATHS)


def test_stream_path_claimed_twice() -> None:
    err = spec_error(["decode.streams.attention.paths=[attention, moe]"])
    assert err.path == "decode.streams.moe.paths"
    assert "'moe' already runs on stream 'attention'" in err.message


def test_stream_unknown_path() -> None:
    err = spec_error(["decode.streams.attention.paths=[attention, mlp]"])
    assert err.path == "decode.streams.attention.paths"
    assert "expected a list drawn from" in err.message


def test_stream_cores_over_the_die() -> None:
    err = spec_error(["decode.streams.attention.cores.cube=25"])
    assert err.path == "decode.streams.attention.cores.cube"
    assert "at most 24" in err.message
    # Each stream within the die, but together more than it has.
    err = spec_error(["decode.streams.attention.cores.vector=40"])
    assert err.path == "decode.streams"
    assert "56 vector" in err.message and "the rank has 48" in err.message


def test_stream_cores_of_an_engine_the_device_lacks() -> None:
    err = spec_error(["decode.streams.attention.cores.sm=16"])
    assert err.path == "decode.streams.attention.cores.sm"
    assert "no engine 'sm'" in err.message and "cube, vector" in err.message


def test_stream_missing_path() -> None:
    err = spec_error(["decode.streams.moe.paths=[moe, comm]"])
    assert err.path.startswith("decode.streams")
    assert "no stream runs path(s) ffn" in err.message


def test_computing_stream_needs_cores() -> None:
    err = spec_error(["decode.streams.attention.cores.vector=0"])
    assert err.path == "decode.streams.attention"
    assert "a stream that computes needs cores of cube, vector" in err.message
    assert "vector: N" in err.message


def test_a_routing_stream_needs_vector_cores_only() -> None:
    """ref §3.2: the vector cores do the work around dispatch/combine on their own stream."""
    from cmperf.api import estimate

    e = estimate("cloudmatrix384-prefill")
    route = next(st for st in e.scenario.prefill.streams if st.name == "route")
    assert route.paths == ("route",) and dict(route.shares) == {"vector": 0.5}
    routed = {r.op.name: r.stream for r in e.prefill.ops if r.layer == "moe"}
    assert routed["re_routing"] == routed["finalize_routing"] == "route"
    assert routed["experts_up_gate"] == "compute"
    err = spec_error(["prefill.streams.route.cores={}"], "cloudmatrix384-prefill")
    assert "a stream that routes tokens needs cores of vector" in err.message


# --- hardware -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ranks", "tier"),
    [
        (1, "package"),
        (2, "package"),
        (3, "node"),
        (16, "node"),
        (17, "supernode"),
        (320, "supernode"),
        (768, "supernode"),
        (769, "scale_out"),
        (10_000, "scale_out"),
    ],
)
def test_tier_for(decode: Any, ranks: int, tier: str) -> None:
    assert decode.cluster.tier_for(ranks).name == tier


def test_cluster_shape(decode: Any) -> None:
    c = decode.cluster
    assert c.devices == 384
    assert c.nodes == 48 and c.devices_per_node == 8
    assert c.device.ranks_per_device == 2
    assert c.ranks_per_node == 16
    assert [t.name for t in c.scale_up] == ["package", "node", "supernode"]
    ranks = [t.ranks for t in c.scale_up]
    assert ranks == sorted(ranks) and len(set(ranks)) == len(ranks)
    assert c.scale_out.bandwidth_bytes_per_s == pytest.approx(25e9)  # 200 Gb/s
    for tier in (*c.scale_up, c.scale_out):
        assert tier.source.strip()
        assert tier.bandwidth_bytes_per_s > 0 and tier.latency_s > 0


def test_910c_device(decode: Any) -> None:
    d = decode.cluster.device
    assert d.name == "ascend-910c"
    assert d.hbm_capacity_bytes == pytest.approx(64e9)
    assert d.hbm_bandwidth_bytes_per_s == pytest.approx(1.6e12)
    assert {"cube", "vector"} <= set(d.engines)
    assert d.engines["cube"].peak("matrix", DType.INT8) == pytest.approx(752e12)
    assert d.engines["cube"].peak("matrix", DType.FP8) is None
    assert d.engine_for("matrix").name == "cube" and d.engine_for("vector").name == "vector"
    assert d.source.strip()


def test_910c_every_efficiency_has_a_source(decode: Any) -> None:
    d = decode.cluster.device
    assert set(d.compute_efficiency) == set(COMPUTE_EFFICIENCIES)
    assert set(d.memory_efficiency) == set(MEMORY_EFFICIENCIES)
    assert set(d.comm_overhead) == set(COMM_OVERHEADS)
    for block in (d.compute_efficiency, d.memory_efficiency):
        for name, sourced in block.items():
            assert 0 < sourced.value <= 1, name
            assert isinstance(sourced.source, str) and sourced.source.strip(), name
    for name, sourced in d.comm_overhead.items():
        assert sourced.value > 0, name
        assert sourced.source.strip(), name
    assert d.hbm_bandwidth_follows_cores.source.strip()


# --- model ----------------------------------------------------------------------------------------


def test_mla_kv_cache_per_token(decode: Any) -> None:
    m = decode.model
    assert m.attention.kv_cache_values_per_token == 576  # 512 latent + 64 RoPE key (ref §2)
    assert m.layers == 61
    kv_bytes = m.attention.kv_cache_values_per_token * DType.BF16.bytes * m.layers
    assert kv_bytes == 70_272  # ref §2: ~70 KB per token in BF16


def test_deepseek_shape(decode: Any) -> None:
    m = decode.model
    assert m.dense_layers == 3 and m.moe_layers == 58
    assert m.moe.routed_experts == 256 and m.moe.top_k == 8 and m.moe.shared_experts == 1
    assert m.attention.qk_head_dim == 192
    assert m.mtp_modules == 1


def test_mtp_acceptance(decode: Any) -> None:
    assert decode.decode.mtp_draft_tokens == 1
    assert decode.decode.tokens_emitted_per_step == pytest.approx(1.7)
    s = load_scenario(DECODE, ["decode.mtp.draft_tokens=2", "decode.mtp.acceptance=[0.7, 0.5]"])
    assert s.decode.mtp_acceptance == (0.7, 0.5)
    # per-depth acceptances are conditional: 1 + 0.7 + 0.7 x 0.5
    assert s.decode.tokens_emitted_per_step == pytest.approx(2.05)
    assert load_scenario(DECODE, ["decode.mtp.draft_tokens=0"]).decode.tokens_emitted_per_step == 1


# --- regressions: bugs found and fixed ---------------------------------------------------------


def _scenario_with_device(folder: Path, device_edit: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    device = yaml.safe_load((HARDWARE / "ascend-910c.yaml").read_text(encoding="utf-8"))
    device_edit(device)
    (folder / "device.yaml").write_text(yaml.safe_dump(device), encoding="utf-8")
    cluster = yaml.safe_load((HARDWARE / "cloudmatrix384.yaml").read_text(encoding="utf-8"))
    cluster["device"] = "./device.yaml"
    (folder / "hw.yaml").write_text(yaml.safe_dump(cluster), encoding="utf-8")
    scenario = yaml.safe_load((SCENARIOS / f"{DECODE}.yaml").read_text(encoding="utf-8"))
    scenario["hardware"] = "./hw.yaml"
    path = folder / "s.yaml"
    path.write_text(yaml.safe_dump(scenario), encoding="utf-8")
    return path


def test_device_with_unknown_key_fails_every_time(tmp_path: Path) -> None:
    path = _scenario_with_device(tmp_path, lambda d: d.update(bogus=1))
    for _ in range(2):
        with pytest.raises(SpecError, match="bogus: unknown key"):
            load_scenario(str(path))


def test_relative_spec_path_is_relative_to_the_scenario(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _scenario_with_device(tmp_path / "here", lambda d: None)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    cluster = yaml.safe_load((HARDWARE / "cloudmatrix384.yaml").read_text(encoding="utf-8"))
    cluster["name"] = "wrong-one-in-cwd"
    (elsewhere / "hw.yaml").write_text(yaml.safe_dump(cluster), encoding="utf-8")
    monkeypatch.chdir(elsewhere)
    assert load_scenario(str(path)).cluster.name == "cloudmatrix384"
