"""Durability: SIGKILL at random points of a sweep, of a checkpoint write and of a results write; damaged files.

After every kill the run folders are checked (nothing half-written is read as valid: every file a finished run
lists matches its checksum, every JSON file parses); after the last one the sweep is resumed and must end with
every run finished once, with the numbers of an uninterrupted sweep. Damaged run folders (truncated, empty or
garbled JSON, a checkpoint whose bytes changed) are quarantined and redone. The kill trials of whole sweeps
and the two-node Ray cluster are slow (``pytest -m slow``); docs/reliability.md reports their outcome.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from empirical.collect import collect
from empirical.runs import inspect_folder, is_finished, load_run, run_folder
from empirical.sweep import SweepLocked, _RootLock, load_sweep, run_sweep

ROOT = Path(__file__).resolve().parents[2]
HAS_RAY = importlib.util.find_spec("ray") is not None

SWEEP = """
name = "durable"
[base]
dataset = "gaussian"
n_train = 48
n_test = 16
data_options = { dim = 4, num_classes = 3 }
model = "mlp"
model_options = { hidden = [6] }
epochs = 2
batch_size = 16
alphas = 4
n_gauss = 4
gauss_tol = 1e-2
gauss_max_evaluations = 100
[grid]
seed = [0, 1, 2]
[scales.smoke]
[scales.small]
[scales.paper]
"""

#: kill trials of whole sweeps (slow): kills per backend, and the seed of their random times
KILLS = {"local": 6, "process": 4, "ray": 3}
KILL_SEED = 15
#: SIGKILLs of a process that writes checkpoints, results and run JSON in a loop
WRITE_KILLS_DEFAULT, WRITE_KILLS_SLOW = 3, 20


def _measures(root: Path, configs) -> list:
    return [json.loads((run_folder(root, c) / "metrics.json").read_text())["measures"] for c in configs]


def _env(**extra) -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", **extra}


def _check_folders(root: Path, configs) -> None:
    """Nothing half-written is read as valid: every folder intact (finished) or unfinished and readable; one
    folder per configuration, no other."""
    hashes = {c.hash for c in configs}
    folders = {p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")}
    assert folders <= hashes, f"folders that belong to no configuration: {folders - hashes}"
    for c in configs:
        assert inspect_folder(run_folder(root, c), c) == "", run_folder(root, c)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """A finished sweep of three runs (local backend) and its measures, run once for the module."""
    tmp = tmp_path_factory.mktemp("reference")
    (tmp / "durable.toml").write_text(SWEEP)
    configs = load_sweep(tmp / "durable.toml").configs
    root = tmp / "runs"
    summary = run_sweep(configs, root, progress=False)
    assert summary.done == len(configs) and summary.failed == 0
    return tmp / "durable.toml", configs, root, _measures(root, configs)


# ---------------------------------------------------------------------------------------------- damaged files


def _damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "bytes":
        path.write_bytes(bytes(np.random.default_rng(len(data)).integers(0, 256, 200, dtype=np.uint8)))
    elif how == "flip":
        b = bytearray(data)
        b[len(b) // 2] ^= 0x01
        path.write_bytes(bytes(b))
    elif how == "delete":
        path.unlink()


DAMAGES = [
    ("metrics.json", "truncate"),
    ("metrics.json", "empty"),
    ("metrics.json", "bytes"),
    ("config.json", "bytes"),
    ("config.json", "truncate"),
    ("status.json", "empty"),
    ("status.json", "bytes"),
    ("checkpoints/final.pt", "flip"),
    ("checkpoints/final.pt", "delete"),
    ("checkpoints/init.pt", "truncate"),
    ("curve.json", "flip"),
    ("train_log.json", "truncate"),
]


@pytest.mark.parametrize(("name", "how"), DAMAGES, ids=[f"{n} {h}" for n, h in DAMAGES])
def test_a_damaged_run_is_quarantined_and_redone(reference, tmp_path, name, how):
    """Resume finds the damaged run, moves it aside (reported by path), redoes it; the others are kept."""
    _, configs, ref_root, ref = reference
    root = tmp_path / "runs"
    shutil.copytree(ref_root, root)
    victim = run_folder(root, configs[1])
    _damage(victim / name, how)
    assert inspect_folder(victim, configs[1]) != ""
    rows = {r["hash"]: r for r in collect(root)}
    assert rows[configs[1].hash]["status"] in ("corrupt", "unreadable"), "collect reads a damaged run as valid"
    kept = {p: p.read_bytes() for c in (configs[0], configs[2]) for p in run_folder(root, c).rglob("*") if p.is_file()}

    summary = run_sweep(configs, root, progress=False)
    assert (summary.done, summary.skipped, summary.failed) == (1, 2, 0)
    assert len(summary.quarantined) == 1
    moved, reason = summary.quarantined[0]
    assert Path(moved).parent == root / ".quarantine" and name.split("/")[-1] in reason
    assert (Path(moved) / "QUARANTINED.txt").is_file() and "QUARANTINED" in summary.summary()
    assert _measures(root, configs) == ref, "the redone run differs from the original"
    assert kept == {p: p.read_bytes() for p in kept}, "an intact run was touched"
    _check_folders(root, configs)
    assert [r["status"] for r in collect(root)] == ["finished"] * 3


@pytest.mark.parametrize("how", ["truncate", "bytes", "empty"])
def test_a_damaged_training_state_of_a_paused_run_is_quarantined_and_the_run_redone(reference, tmp_path, how):
    """A run paused after an epoch keeps checkpoints/resume.pt; damaged, it is moved aside with the folder, and the
    run is redone from its start to the numbers of the uninterrupted run."""
    from empirical.runs import RESUME_FILE, execute_run

    _, configs, _, ref = reference
    root = tmp_path / "runs"
    paused = execute_run(configs[0], root, deadline=time.time())  # past the deadline: pause after the first epoch
    assert paused.status == "paused"
    state = run_folder(root, configs[0]) / "checkpoints" / RESUME_FILE
    assert state.is_file()
    _damage(state, how)
    outcome = execute_run(configs[0], root)
    assert outcome.status == "finished" and outcome.quarantined
    moved = Path(outcome.quarantined)
    assert moved.parent == root / ".quarantine" and RESUME_FILE in (moved / "QUARANTINED.txt").read_text()
    assert _measures(root, configs[:1]) == ref[:1]
    assert not state.exists()  # removed once the run finished


def test_legacy_runs_without_checksums_are_kept(reference, tmp_path):
    """A finished run written before checksums were recorded is still finished (nothing to verify)."""
    _, configs, ref_root, _ = reference
    root = tmp_path / "runs"
    shutil.copytree(ref_root, root)
    p = run_folder(root, configs[0]) / "metrics.json"
    m = json.loads(p.read_text())
    del m["checksums"]
    p.write_text(json.dumps(m))
    assert inspect_folder(p.parent, configs[0]) == ""
    assert run_sweep(configs, root, progress=False).skipped == 3


def test_an_empty_lock_file_is_stale_after_a_few_seconds(tmp_path):
    lock = tmp_path / ".sweep.lock"
    lock.write_text("")
    with pytest.raises(SweepLocked, match="a sweep that is starting"):
        _RootLock(tmp_path).__enter__()
    old = time.time() - 60
    os.utime(lock, (old, old))
    with _RootLock(tmp_path):
        assert lock.read_text().endswith(str(os.getpid()))
    assert not lock.exists()


# ---------------------------------------------------------------------------------------------- killed writes

WRITER = textwrap.dedent(
    """
    import sys, torch
    from pathlib import Path
    from empirical.runs import _write_json
    from empirical.train import save_checkpoint
    from mlitheory.distance import weight_distance
    out = Path(sys.argv[1])
    i = int(sys.argv[2])
    while True:
        v = torch.full((256, 256), float(i))
        save_checkpoint(out / "final.pt", {"w": v, "i": torch.tensor(i)})
        weight_distance({"w": v}, {"w": v + 1.0}).save(out / "result", overwrite=True)
        _write_json(out / "metrics.json", {"i": i, "payload": [i] * 20000})
        if i == int(sys.argv[2]):
            print("ready", flush=True)
        i += 1
    """
)


def _check_written(out: Path) -> int:
    """Each file is absent or one complete version (never half-written); returns the checkpoint's version."""
    import torch

    from empirical.train import load_checkpoint
    from mlitheory.distance import WeightDistance

    state = load_checkpoint(out / "final.pt")
    i = int(state["i"])
    assert torch.equal(state["w"], torch.full((256, 256), float(i))), "a checkpoint mixes two versions"
    r = WeightDistance.load(out / "result")
    assert r.value == pytest.approx(256.0), "a result was read half-written"
    m = json.loads((out / "metrics.json").read_text())
    assert m["payload"] == [m["i"]] * 20000, "a JSON file mixes two versions"
    return i


def _kill_writes(tmp_path: Path, kills: int) -> list[int]:
    rng = np.random.default_rng(KILL_SEED)
    versions = []
    start = 0
    for _ in range(kills):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), str(start)], cwd=ROOT, env=_env(),
                                stdout=subprocess.PIPE, text=True)  # fmt: skip
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(float(rng.uniform(0.0, 0.4)))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        versions.append(_check_written(tmp_path))
        start = versions[-1] + 1
        leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
        for name in leftovers:  # a temporary file of an interrupted write is never read
            (tmp_path / name).unlink()
    return versions


def test_sigkill_during_checkpoint_result_and_json_writes(tmp_path):
    versions = _kill_writes(tmp_path, WRITE_KILLS_DEFAULT)
    assert versions == sorted(versions)


@pytest.mark.slow
def test_sigkill_during_writes_many_times(tmp_path):
    versions = _kill_writes(tmp_path, WRITE_KILLS_SLOW)
    assert len(versions) == WRITE_KILLS_SLOW and versions == sorted(versions)


# ---------------------------------------------------------------------------------------------- killed sweeps


@pytest.fixture
def short_tmp():
    """A fresh folder with a short path for Ray's temporary files (a session's socket paths add some 70 bytes to
    it, and a Unix socket path may not exceed 107 bytes), removed after the test."""
    short = Path(tempfile.mkdtemp(prefix="mli-ray-", dir="/tmp"))
    yield short
    shutil.rmtree(short, ignore_errors=True)


def _processes_mentioning(text: str) -> list[int]:
    pids = []
    for cmd in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text in cmd.read_bytes().decode("utf-8", "replace"):
                pids.append(int(cmd.parent.name))
        except OSError:
            continue
    return [p for p in pids if p != os.getpid()]


def _kill_pids(pids) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _sweep_cmd(sweep: Path, root: Path, backend: str) -> list[str]:
    cmd = [sys.executable, "-m", "empirical", "sweep", str(sweep), "--out", str(root), "--no-progress",
           "--backend", backend, "--threads", "1"]  # fmt: skip
    return cmd + (["--workers", "2"] if backend != "local" else [])


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to find the processes of a killed sweep")
@pytest.mark.parametrize("backend", ["local", "process", "ray"])
def test_random_kills_of_a_sweep_lose_nothing(reference, tmp_path, backend, short_tmp):
    """SIGKILL the whole sweep (its process group, and for Ray every process of its session) at random moments,
    resume each time; in the end every run is finished once, with the numbers of the uninterrupted sweep."""
    if backend == "ray" and not HAS_RAY:
        pytest.skip("Ray is not installed")
    sweep = reference[0]
    sweep_file = tmp_path / "durable.toml"
    sweep_file.write_text(sweep.read_text().replace("epochs = 2", "epochs = 30"))
    configs = load_sweep(sweep_file).configs
    root = tmp_path / "runs"
    ray_tmp = short_tmp  # Ray's sockets live below it: AF_UNIX paths are at most 107 bytes
    env = _env(RAY_TMPDIR=str(ray_tmp), RAY_USAGE_STATS_ENABLED="0")
    rng = np.random.default_rng(KILL_SEED)
    kills = 0
    for _ in range(KILLS[backend]):
        proc = subprocess.Popen(_sweep_cmd(sweep_file, root, backend), cwd=ROOT, env=env, start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
        deadline = time.time() + 300
        while not any((run_folder(root, c) / "status.json").exists() for c in configs if not is_finished(
                run_folder(root, c))) and proc.poll() is None:  # fmt: skip
            assert time.time() < deadline, "the sweep never started a run"
            time.sleep(0.05)
        time.sleep(float(rng.uniform(0.0, 3.0)))
        if proc.poll() is not None:  # finished before the kill: nothing left to kill
            break
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        _kill_pids(_processes_mentioning(str(tmp_path)) + _processes_mentioning(str(ray_tmp)))  # Ray's, pool workers
        kills += 1
        _check_folders(root, configs)
    summary = run_sweep(configs, root, backend=backend, workers=2, threads=1, progress=False)
    assert summary.failed == 0 and all(is_finished(run_folder(root, c)) for c in configs)
    _check_folders(root, configs)
    assert not (root / ".quarantine").exists(), "a kill left a damaged folder"
    rows = collect(root)
    assert sorted(r["hash"] for r in rows) == sorted(c.hash for c in configs), "a run is missing or duplicated"
    reference_root = tmp_path / "uninterrupted"
    run_sweep(configs, reference_root, progress=False, threads=1)
    assert _measures(root, configs) == _measures(reference_root, configs), "a resumed run differs"
    assert kills >= 1
    print(f"{backend}: {kills} kills, {len(configs)} runs, 0 results lost")


# ---------------------------------------------------------------------------------------------- a Ray cluster


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ancestors(pid: int) -> set[int]:
    out = set()
    while pid > 1:
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
        out.add(pid)
    return out


def _raylets(tag: str) -> set[int]:
    return {p for p in _processes_mentioning(tag) if "raylet/raylet" in Path(f"/proc/{p}/cmdline").read_text()}


@pytest.mark.slow
@pytest.mark.skipif(not HAS_RAY, reason="Ray is not installed")
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to find the worker node's processes")
def test_ray_cluster_of_two_nodes_loses_the_worker_node_mid_sweep(tmp_path, short_tmp):
    """`ray start --head` and a second `ray start --address` with its own CPUs, both given 127.0.0.1; the sweep is
    sent there with --address. Once a run is on the worker node, that node is killed (SIGKILL of its raylet and
    every process under it): Ray reruns its tasks on the head node, and the sweep ends with every run finished."""
    ray = shutil.which("ray", path=str(Path(sys.executable).parent)) or "ray"
    tag = str(short_tmp)  # Ray's sockets live below it: AF_UNIX paths are at most 107 bytes
    token = tmp_path / "token"
    token.write_text(secrets.token_hex(32))
    env = _env(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN_PATH=str(token), RAY_USAGE_STATS_ENABLED="0")
    port = _free_port()
    address = f"127.0.0.1:{port}"
    sweep = tmp_path / "cluster.toml"
    sweep.write_text(SWEEP.replace("epochs = 2", "epochs = 60").replace("seed = [0, 1, 2]", "seed = [0, 1, 2, 3, 4]"))
    configs = load_sweep(sweep).configs
    root = tmp_path / "runs"
    start = [ray, "start", "--node-ip-address", "127.0.0.1", "--disable-usage-stats"]
    try:
        subprocess.run([*start, "--head", "--port", str(port), "--num-cpus", "1", "--include-dashboard", "false",
                        "--temp-dir", tag], env=env, check=True, timeout=300, capture_output=True)  # fmt: skip
        head = _raylets(tag)
        subprocess.run([*start, "--address", address, "--num-cpus", "2"], env=env, check=True, timeout=300,
                       capture_output=True)  # fmt: skip
        worker = _raylets(tag) - head
        assert len(head) == 1 and len(worker) == 1, (head, worker)
        t0 = time.time()
        proc = subprocess.Popen([*_sweep_cmd(sweep, root, "ray"), "--address", address], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
        on_worker: dict[str, int] = {}
        deadline = time.time() + 600
        while not on_worker:
            assert proc.poll() is None, proc.communicate()
            assert time.time() < deadline, "no run reached the worker node"
            for c in configs:
                try:
                    status = json.loads((run_folder(root, c) / "status.json").read_text())
                except (OSError, ValueError):
                    continue
                if status.get("state") == "running" and worker & _ancestors(int(status["pid"])):
                    on_worker[c.hash] = int(status["pid"])
            time.sleep(0.1)
        time.sleep(1.0)
        doomed = [p for p in _processes_mentioning(tag) if worker & ({p} | _ancestors(p))]
        _kill_pids(doomed)
        killed_at = time.time() - t0
        out, err = proc.communicate(timeout=900)
        assert proc.returncode == 0, err[-3000:]
        assert "0 failed" in out
        assert all(is_finished(run_folder(root, c)) for c in configs)
        _check_folders(root, configs)
        for h, pid in on_worker.items():  # the runs the worker node held were redone by another process
            rec = load_run(root / h)
            assert rec.state == "finished"
            assert json.loads((root / h / "status.json").read_text())["pid"] != pid
        print(
            f"2-node Ray cluster: {len(configs)} runs, {len(on_worker)} on the worker node when it was killed "
            f"({killed_at:.0f} s in, {len(doomed)} processes), all finished after {time.time() - t0:.0f} s, "
            "0 results lost"
        )
    finally:
        _kill_pids(_processes_mentioning(tag))
