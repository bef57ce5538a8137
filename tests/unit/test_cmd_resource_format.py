import pytest

from flux.cmd import resource as cmdres
from flux.cmd.resource import format_resource_info, format_resource_list
from flux.resource.pool import Request, ResourcePool
from flux.resource.Rv1 import encode

HEADER = "     STATE NNODES   NCORES    NGPUS NODELIST"


@pytest.fixture
def status():
    p = ResourcePool(encode("node[0-3]", "0-3", properties={"batch": "0-1"}))
    p.alloc(Request(nslots=5))  # worst-fit: rank0 full, rank1 core0
    p.mark_down("3")
    return p.status()


def test_default_format(status):
    assert format_resource_list(status) == "\n".join(
        [
            HEADER,
            "      free      2        7        0 node[1-2]",
            " allocated      2        5        0 node[0-1]",
            "      down      1        4        0 node3",
            "",
        ]
    )


def test_idle_instance_prints_all_rows():
    p = ResourcePool(encode("node[0-1]", "0-1", gpus="0"))
    out = format_resource_list(p.status(), None, False, [])
    assert out.splitlines() == [
        HEADER,
        "      free      2        4        2 node[0-1]",
        " allocated      0        0        0",
        "      down      0        0        0",
    ]


def test_empty_allocated_and_down_may_be_missing():
    R = encode("node0", "0-1")
    out = format_resource_list({"all": R}, no_header=True, states=["free", "down"])
    assert out.splitlines() == [
        "      free      1        2        0 node0",
        "      down      0        0        0",
    ]


def test_no_header_and_states(status):
    out = format_resource_list(status, None, True, ["all", "up", "allocated"])
    assert out.splitlines() == [
        "       all      4       16        0 node[0-3]",
        "        up      3       12        0 node[0-2]",
        " allocated      2        5        0 node[0-1]",
    ]


def test_custom_and_named_formats(status):
    out = format_resource_list(status, "{state} {ncores} {ranks}", False, ["free", "all"])
    assert out.splitlines() == ["STATE NCORES RANKS", "free 7 1-2", "all 16 0-3"]
    out = format_resource_list(status, "rlist", True, ["free", "allocated"])
    assert out.splitlines() == [
        "      free      2        7        0 rank1/core[1-3] rank2/core[0-3]",
        " allocated      2        5        0 rank0/core[0-3] rank1/core0",
    ]
    out = format_resource_list(status, "{nodelist:>12}|{properties}", False, ["free"])
    assert out.splitlines() == ["    NODELIST|PROPERTIES", "   node[1-2]|batch"]
    out = format_resource_list(status, "{state:<5.5}|{ncores:>6d}", False, ["allocated"])
    assert out.splitlines() == ["STATE|NCORES", "alloc|     5"]


def test_optional_fields(status):
    fmt = "{state:>10} ?:{propertiesx:<10.3+} {nnodes:>6} ?:{ngpus:>8} {nodelist}"
    out = format_resource_list(status, fmt, False, ["free", "down"])
    assert out.splitlines() == [
        # the header obeys width and precision too
        "     STATE PRO        NNODES NODELIST",
        "      free ba+             2 node[1-2]",
        "      down                 1 node3",
    ]


def test_format_errors(status):
    with pytest.raises(ValueError, match="Unknown format field: foo"):
        format_resource_list(status, "{foo}")
    with pytest.raises(ValueError, match="Error in user format"):
        format_resource_list(status, "{state")
    with pytest.raises(ValueError, match="Invalid resource state bogus"):
        format_resource_list(status, None, False, ["bogus"])


def test_info(status):
    assert format_resource_info(status) == "4 Nodes, 16 Cores, 0 GPUs\n"
    assert format_resource_info(status, ["free"]) == "2 Nodes, 7 Cores, 0 GPUs\n"
    assert format_resource_info(status, ["free", "allocated"]) == "3 Nodes, 12 Cores, 0 GPUs\n"
    p = ResourcePool(encode("n[0-1]", "0-3", gpus="0-1"))
    assert format_resource_info(p.status()) == "2 Nodes, 8 Cores, 4 GPUs\n"


def test_main(status, monkeypatch, capsys):
    monkeypatch.setattr(cmdres, "_fetch_status", lambda: status)
    assert cmdres.main(["list"]) == 0
    assert capsys.readouterr().out == format_resource_list(status)
    assert cmdres.main(["list", "-n", "-s", "free,down", "-o", "{state} {nnodes}"]) == 0
    assert capsys.readouterr().out == "free 2\ndown 1\n"
    # as flux-core, the last -s wins
    assert cmdres.main(["list", "-s", "free", "-s", "all", "-no", "{state}"]) == 0
    assert capsys.readouterr().out == "all\n"
    assert cmdres.main(["info"]) == 0
    assert capsys.readouterr().out == "4 Nodes, 16 Cores, 0 GPUs\n"
    assert cmdres.main(["list", "-o", "{nope}"]) == 1
    assert "Unknown format field" in capsys.readouterr().err
    assert cmdres.main([]) == 1
    assert cmdres.main(["frobnicate"]) != 0


def test_main_rpc_error(monkeypatch, capsys):
    def fail():
        raise OSError(38, "Function not implemented")

    monkeypatch.setattr(cmdres, "_fetch_status", fail)
    assert cmdres.main(["list"]) == 1
    assert "Function not implemented" in capsys.readouterr().err
