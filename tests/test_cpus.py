"""`rawspace.cpus`: the CPU budget from affinity, cgroups, SLURM and torchrun, and the
thread settings derived from it."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numba
import pytest

from rawspace.cpus import THREAD_VARIABLES, CpuBudget, configure_threads, cpu_budget


@pytest.fixture
def eight_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine of 8 CPUs, all in the affinity mask."""
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)


def _cgroup(tmp_path: Path, proc: str, files: dict[str, str]) -> dict[str, Path]:
    """A fake cgroup tree under ``tmp_path/cg`` and a /proc/self/cgroup file."""
    root = tmp_path / "cg"
    for relpath, text in files.items():
        (root / relpath).parent.mkdir(parents=True, exist_ok=True)
        (root / relpath).write_text(text)
    root.mkdir(exist_ok=True)
    proc_file = tmp_path / "proc-cgroup"
    proc_file.write_text(proc)
    return {"cgroup_root": root, "proc_cgroup": proc_file}


def test_no_limit_but_the_machine(eight_cpus, tmp_path):
    budget = cpu_budget(environ={}, **_cgroup(tmp_path, "0::/\n", {"cpu.max": "max 100000"}))
    assert budget == CpuBudget(
        cpus=8, source="os", affinity=8, quota=None, slurm=None, local_world_size=1
    )


def test_affinity_mask_limits(monkeypatch, eight_cpus, tmp_path):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {2, 5, 7}, raising=False)
    budget = cpu_budget(environ={}, **_cgroup(tmp_path, "0::/\n", {}))
    assert (budget.cpus, budget.source, budget.affinity) == (3, "affinity", 3)


def test_cgroup_v2_quota_of_the_process_or_an_ancestor(eight_cpus, tmp_path):
    files = {"job/cpu.max": "max 100000", "job/step/cpu.max": "250000 100000"}
    budget = cpu_budget(environ={}, **_cgroup(tmp_path, "0::/job/step\n", files))
    assert (budget.cpus, budget.source, budget.quota) == (3, "cgroup", 2.5)  # rounded up
    files = {"job/cpu.max": "150000 100000", "job/step/cpu.max": "max 100000"}
    budget = cpu_budget(environ={}, **_cgroup(tmp_path, "0::/job/step\n", files))
    assert (budget.cpus, budget.quota) == (2, 1.5)


def test_cgroup_v1_quota(eight_cpus, tmp_path):
    proc = "4:memory:/x\n3:cpu,cpuacct:/slurm/job1\n0::/\n"
    files = {
        "cpu,cpuacct/slurm/job1/cpu.cfs_quota_us": "-1",
        "cpu,cpuacct/slurm/job1/cpu.cfs_period_us": "100000",
        "cpu,cpuacct/slurm/cpu.cfs_quota_us": "400000",
        "cpu,cpuacct/slurm/cpu.cfs_period_us": "100000",
    }
    budget = cpu_budget(environ={}, **_cgroup(tmp_path, proc, files))
    assert (budget.cpus, budget.source, budget.quota) == (4, "cgroup", 4.0)
    # Unreadable or garbled files mean no quota, never an error.
    files["cpu,cpuacct/slurm/cpu.cfs_quota_us"] = "lots"
    budget = cpu_budget(environ={}, **_cgroup(tmp_path, proc, files))
    assert (budget.cpus, budget.quota) == (8, None)
    assert cpu_budget(environ={}, cgroup_root=tmp_path / "none", proc_cgroup=tmp_path / "no").cpus


@pytest.mark.parametrize(
    ("environ", "cpus", "slurm"),
    [
        ({"SLURM_CPUS_PER_TASK": "2", "SLURM_CPUS_ON_NODE": "6"}, 2, 2),
        ({"SLURM_CPUS_ON_NODE": "6(x2)"}, 6, 6),
        ({"SLURM_CPUS_PER_TASK": "", "SLURM_CPUS_ON_NODE": "5"}, 5, 5),
        ({"SLURM_CPUS_PER_TASK": "zero"}, 8, None),
    ],
)
def test_slurm_allocation(eight_cpus, tmp_path, environ, cpus, slurm):
    budget = cpu_budget(environ=environ, **_cgroup(tmp_path, "0::/\n", {}))
    assert (budget.cpus, budget.slurm) == (cpus, slurm)
    assert budget.source == ("slurm" if cpus < 8 else "os")


def test_torchrun_ranks_share_the_node(eight_cpus, tmp_path):
    paths = _cgroup(tmp_path, "0::/\n", {"cpu.max": "600000 100000"})
    assert cpu_budget(environ={"LOCAL_WORLD_SIZE": "2"}, **paths).cpus == 3
    assert cpu_budget(environ={"LOCAL_WORLD_SIZE": "16"}, **paths).cpus == 1  # at least one
    assert cpu_budget(environ={"LOCAL_WORLD_SIZE": "2"}, **paths).local_world_size == 2


def _budget(cpus: int) -> CpuBudget:
    return CpuBudget(
        cpus=cpus, source="cgroup", affinity=8, quota=float(cpus), slurm=None, local_world_size=1
    )


def test_configure_threads_fills_what_the_user_left_unset():
    env = {"OPENBLAS_NUM_THREADS": "4", "PATH": "/bin"}
    settings = configure_threads(environ=env, budget=_budget(3))
    assert env["OMP_NUM_THREADS"] == env["MKL_NUM_THREADS"] == env["NUMBA_NUM_THREADS"] == "3"
    assert env["OPENBLAS_NUM_THREADS"] == "4"
    assert env["OMP_WAIT_POLICY"] == "PASSIVE"
    assert settings.kept == ("OPENBLAS_NUM_THREADS",)
    assert settings.threads == 3
    assert settings.resized == ()  # another mapping than os.environ: no library touched
    assert settings.to_dict()["budget"]["source"] == "cgroup"


def test_explicit_threads_override_but_keep_the_wait_policy():
    env = {name: "7" for name in THREAD_VARIABLES} | {"OMP_WAIT_POLICY": "ACTIVE"}
    settings = configure_threads(1, environ=env, budget=_budget(3))
    assert all(env[name] == "1" for name in THREAD_VARIABLES)
    assert env["OMP_WAIT_POLICY"] == "ACTIVE"
    assert settings.kept == ("OMP_WAIT_POLICY",)
    env = {}
    configure_threads(2, environ=env, budget=_budget(3), wait_policy=None)
    assert "OMP_WAIT_POLICY" not in env


@pytest.mark.parametrize("threads", [0, -1, 1.5, "2"])
def test_configure_threads_rejects_bad_counts(threads):
    with pytest.raises(ValueError, match=f"threads must be a positive integer, got {threads!r}"):
        configure_threads(threads, environ={})


def test_configure_threads_resizes_numba_when_it_is_already_loaded(monkeypatch):
    for name in (*THREAD_VARIABLES, "OMP_WAIT_POLICY"):
        monkeypatch.setenv(name, "unset")  # so that the test's changes are undone after it
        monkeypatch.delenv(name)
    before = numba.get_num_threads()
    try:
        settings = configure_threads(1, budget=_budget(3))
        assert numba.get_num_threads() == 1
        assert "numba" in settings.resized
        # Numba refuses another NUMBA_NUM_THREADS than it started with (it reloads its
        # configuration on its own): once loaded, its variable is left as it was.
        assert "NUMBA_NUM_THREADS" not in os.environ
        numba.config.reload_config()
        assert os.environ["OMP_NUM_THREADS"] == "1"
    finally:
        numba.set_num_threads(before)


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="needs torch")
def test_torch_started_after_configure_threads_uses_the_budget():
    env = {k: v for k, v in os.environ.items() if k not in (*THREAD_VARIABLES, "OMP_WAIT_POLICY")}
    env["SLURM_CPUS_PER_TASK"] = "1"
    code = (
        "from rawspace.cpus import configure_threads\n"
        "s = configure_threads()\n"
        "import torch\n"
        "print(s.threads, torch.get_num_threads(), s.variables['OMP_WAIT_POLICY'])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["1", "1", "PASSIVE"]


def test_odd_user_settings_are_kept_and_resize_nothing(monkeypatch):
    monkeypatch.setenv("NUMBA_NUM_THREADS", "many")
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "0")
    before = numba.get_num_threads()
    settings = configure_threads(budget=_budget(1))
    assert numba.get_num_threads() == before
    assert settings.resized == ()
    assert {"NUMBA_NUM_THREADS", "OPENBLAS_NUM_THREADS"} <= set(settings.kept)
