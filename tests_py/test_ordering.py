"""The test order of scripts/test.sh (tests_py/ordering.py): dearest files first, each file's
tests together and in their order, unknown files before known ones, and the committed cost
table reads."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from lawn.paths import REPO_ROOT
from tests_py.ordering import COSTS_FILE, SHARED_WORLDS, file_of, load_costs, longest_files_first, scope_of


@dataclass(frozen=True)
class FakeItem:
    nodeid: str


def _ids(items: list[FakeItem]) -> list[str]:
    return [item.nodeid for item in items]


def test_files_are_ordered_by_cost_and_stay_whole():
    names = ["a.py::t1", "a.py::t2", "b.py::t1", "c.py::t1", "c.py::t2", "c.py::t3", "d.py::x"]
    items = [FakeItem(name) for name in names]
    costs = {"a.py": 5.0, "b.py": 50.0, "c.py": 5.0, "d.py": 7.5}
    ordered = longest_files_first(items, costs, {})
    expected = ["b.py::t1", "d.py::x", "a.py::t1", "a.py::t2", "c.py::t1", "c.py::t2", "c.py::t3"]
    assert _ids(ordered) == expected
    assert sorted(_ids(ordered)) == sorted(_ids(items))  # nothing lost, nothing doubled


def test_unknown_files_go_first_in_collection_order():
    items = [FakeItem(n) for n in ["a.py::t", "new2.py::t", "b.py::t", "new1.py::t"]]
    ordered = longest_files_first(items, {"a.py": 1.0, "b.py": 2.0}, {})
    assert _ids(ordered) == ["new2.py::t", "new1.py::t", "b.py::t", "a.py::t"]
    assert _ids(longest_files_first(items, {}, {})) == _ids(items)  # no table: collection order


def test_cost_table_reads_its_rows_and_a_missing_table_is_empty(tmp_path: Path):
    table = tmp_path / "costs.csv"
    table.write_text("# a comment\nfile,seconds\ntests_py/test_a.py,12.5\ntests_py/test_b.py,0.3\n")
    assert load_costs(table) == {"tests_py/test_a.py": 12.5, "tests_py/test_b.py": 0.3}
    assert load_costs(tmp_path / "absent.csv") == {}
    assert file_of("tests_py/test_a.py::test_x[1-2]") == "tests_py/test_a.py"


def test_committed_table_reads_and_is_sorted_by_cost():
    costs = load_costs(COSTS_FILE)
    assert costs and all(seconds >= 0 for seconds in costs.values())
    assert all(name.startswith("tests_py/test_") and name.endswith(".py") for name in costs)
    # the current files come out dearest first (ordering only: a stale row skips nothing)
    # (a shared world's files count as one unit: their summed cost)
    present = [FakeItem(f"{name}::t") for name in sorted(costs) if (REPO_ROOT / name).is_file()]
    units: dict[str, float] = {}
    for item in longest_files_first(present, costs):
        scope = scope_of(item.nodeid)
        units[scope] = units.get(scope, 0.0) + costs[file_of(item.nodeid)]
    assert list(units.values()) == sorted(units.values(), reverse=True)
    # every file of a shared world exists and has a cost row
    for files in SHARED_WORLDS.values():
        assert all((REPO_ROOT / name).is_file() and name in costs for name in files), files


def test_a_shared_world_is_one_unit_at_its_summed_cost():
    names = ["a.py::t1", "b.py::t1", "b.py::t2", "c.py::t1", "d.py::t1", "e.py::t1"]
    items = [FakeItem(name) for name in names]
    costs = {"a.py": 40.0, "b.py": 30.0, "c.py": 45.0, "d.py": 20.0, "e.py": 1.0}
    groups = {"w": ("d.py", "b.py")}  # 50 together: before c and a, d first as listed
    ordered = longest_files_first(items, costs, groups)
    assert _ids(ordered) == ["d.py::t1", "b.py::t1", "b.py::t2", "c.py::t1", "a.py::t1", "e.py::t1"]
    group_of = {"d.py": "w", "b.py": "w"}
    assert {scope_of(item.nodeid, group_of) for item in items} == {"a.py", "world:w", "c.py", "e.py"}
    assert scope_of("b.py::t2", group_of) == scope_of("d.py::t1", group_of) == "world:w"
    # with no group it is plain file order
    assert _ids(longest_files_first(items, costs, {})) == [
        "c.py::t1", "a.py::t1", "b.py::t1", "b.py::t2", "d.py::t1", "e.py::t1"
    ]  # fmt: skip


def _file_costs_script():
    spec = importlib.util.spec_from_file_location(
        "test_file_costs", REPO_ROOT / "scripts" / "test_file_costs.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_durations_report_is_summed_per_file_and_read_back(tmp_path: Path):
    script = _file_costs_script()
    report = tmp_path / "durations.txt"
    report.write_text(
        "============================= slowest durations ==============================\n"
        "120.50s call     tests_py/test_b.py::test_one[x y]\n"
        "30.00s setup    tests_py/test_a.py::test_first\n"
        "10.25s call     tests_py/test_a.py::test_first\n"
        "2.00s teardown tests_py/test_b.py::test_one[x y]\n"
        "0.75s call     tests_py/test_a.py::TestGroup::test_second\n"
        "(12 durations < 0.005s hidden.  Use -vv to show these durations.)\n"
        "761 passed, 1 skipped in 2000.00s (0:33:20)\n"
    )
    out = tmp_path / "costs.csv"
    assert script.main([str(report), "--source", "a hand-written report", "--out", str(out)]) == 0
    assert out.read_text().splitlines()[:2] == [
        "# seconds per test file (setup + call + teardown), from a hand-written report",
        "file,seconds",
    ]
    assert load_costs(out) == {"tests_py/test_b.py": 122.5, "tests_py/test_a.py": 41.0}


def test_a_report_without_durations_is_refused(tmp_path: Path, capsys):
    script = _file_costs_script()
    report = tmp_path / "durations.txt"
    report.write_text("761 passed in 3.00s\n")
    assert script.main([str(report), "--source", "x", "--out", str(tmp_path / "c.csv")]) == 2
    assert script.main([str(tmp_path / "absent.txt"), "--source", "x", "--out", str(tmp_path / "c.csv")]) == 2
    errors = capsys.readouterr().err.splitlines()
    assert errors == [f"error: {report}: no durations table (run pytest with --durations=0)",
                      f"error: {tmp_path / 'absent.txt'}: no such file"]  # fmt: skip
    assert not (tmp_path / "c.csv").exists()
