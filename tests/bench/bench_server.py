"""Benchmark: the gRPC server under concurrent clients, against calling the pipeline in-process.

    .venv/bin/python tests/bench/bench_server.py [--clients 1,4,16] [--requests 16]
    .venv/bin/python tests/bench/bench_server.py --executor ray [--requests 16]

Starts a real `v2m serve` on 127.0.0.1 in its own process (as in production: clients and the
server do not share a Python interpreter), then for each client count runs that many client
threads scoring short clips, and prints throughput (scores/s), p50/p95 latency, the ratio of
served to in-process throughput, time to the
first Analyze curve chunk for a 1080p file, and the server's resident memory after warm-up and
after all requests (it must not grow with the number of requests).

``--executor ray`` compares the executors instead: a server with the local executor and one
with ``--ray`` on a local Ray cluster (head on 127.0.0.1, as many CPUs as workers) score the
same clips with as many clients as workers; it prints each one's throughput, then the time from
a lone client's Score call to its first event and to its first curve chunk (the smoothed curve
of the whole selection: it comes once the clip is analysed), and the ratio ray / local.

The in-process baseline does the same jobs, as many at once as the server runs, with the same
work product: ``score()`` and its artifacts written to disk (``write_outputs``, as `v2m score`
and the server both do). The ratio against ``score()`` alone is printed too: the gap between
the two is the cost of writing 24-bit WAV stems, not of serving.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from v2m.model.options import ScoreOptions
from v2m.model.outputs import write_outputs
from v2m.model.pipeline import score
from v2m.model.sample_clip import ClipSpec, render_clip
from v2m.nle_plugins.client import ScoringClient
from v2m.v1 import scoring_pb2 as pb
from v2m.v1 import scoring_pb2_grpc as pb_grpc


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_server(root: Path, workers: int, *extra: str) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {
        **os.environ,
        "V2M_MAX_QUEUE": "64",
        "V2M_MAX_STREAMS_PER_CLIENT": "64",
        "V2M_WORKERS": str(workers),
    }
    exe = Path(sys.executable).with_name("v2m")
    proc = subprocess.Popen(
        [
            str(exe),
            "serve",
            "--port",
            str(port),
            "--media-root",
            str(root),
            "--data-dir",
            str(root / "data"),
            *extra,
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    address = f"127.0.0.1:{port}"
    with grpc.insecure_channel(address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for _ in range(1200):
            try:
                reply = health.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return proc, address
            except grpc.RpcError:
                time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the server did not start")


def _timed_scores(address: str, clip: Path, *, clients: int, requests: int) -> dict:
    """``requests`` scores of ``clip`` from ``clients`` threads: throughput, median latency,
    and the median time from the Score call to its first event and its first curve chunk."""
    firsts: list[float] = []
    curves: list[float] = []
    latencies: list[float] = []
    channel = grpc.insecure_channel(address)
    stub = pb_grpc.ScoringServiceStub(channel)

    def one(seed: int) -> None:
        t = time.perf_counter()
        first = curve = None
        request = pb.ScoreRequest(media=pb.MediaRef(path=str(clip)), seed=seed)
        for event in stub.Score(request, timeout=600):
            now = time.perf_counter() - t
            first = first if first is not None else now
            if curve is None and event.WhichOneof("event") == "curve":
                curve = now
        latencies.append(time.perf_counter() - t)
        firsts.append(first)
        curves.append(curve)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, range(requests)))
    rate = requests / (time.perf_counter() - t0)
    channel.close()
    return {
        "rate": rate,
        "p50": statistics.median(latencies),
        "first": statistics.median(firsts),
        "curve": statistics.median(curves),
    }


def compare_executors(root: Path, clip: Path, *, workers: int, requests: int) -> None:
    """The same Score jobs on a local-executor server and on a Ray-executor server."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # for tests.ray_cluster
    from tests.ray_cluster import LocalRayCluster

    rows = {}
    with LocalRayCluster(root / "ray", cpus=workers) as ray_address:
        for name, extra in (("local", ()), ("ray", ("--ray", ray_address))):
            proc, address = _start_server(root, workers, "--data-dir", str(root / name), *extra)
            try:
                _timed_scores(address, clip, clients=workers, requests=workers)  # warm up
                rows[name] = _timed_scores(address, clip, clients=workers, requests=requests)
                alone = _timed_scores(address, clip, clients=1, requests=5)  # one editor
                rows[name].update(first=alone["first"], curve=alone["curve"])
            finally:
                proc.terminate()
                proc.wait(timeout=30)
    print(
        f"{requests} scores of an 8 s clip, {workers} clients, {workers} workers "
        f"(ray: {workers} replicas on a local cluster); first event and first curve chunk: "
        "median of 5 scores from one client"
    )
    head = f"{'executor':>8} {'scores/s':>9} {'p50 s':>7} {'first event s':>14}"
    print(f"{head} {'first curve s':>14}")
    for name, r in rows.items():
        print(f"{name:>8} {r['rate']:9.2f} {r['p50']:7.2f} {r['first']:14.3f} {r['curve']:14.3f}")
    ratio = rows["ray"]["rate"] / rows["local"]["rate"]
    print(f"throughput ray / local: {ratio:.2f} (target >= 0.85)")
    print(f"time to first curve chunk with ray: {rows['ray']['curve']:.3f} s (target <= 0.5 s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="1,4,16")
    parser.add_argument("--requests", type=int, default=16, help="scores per client count")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--memory-requests",
        type=int,
        default=200,
        help="sequential scores of a 3 s clip for the memory check (default 200)",
    )
    parser.add_argument(
        "--audio-format",
        default="pcm_s16le",
        choices=["pcm_s16le", "f32le"],
        help="how stems travel (default pcm_s16le, the server default)",
    )
    parser.add_argument(
        "--executor",
        choices=["local", "ray"],
        default="local",
        help="ray: compare the Ray executor with the local one on the same jobs",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        clip = root / "clip.mp4"
        render_clip(clip, ClipSpec(duration_s=8, cut_times_s=(2.0, 4.5, 6.0), seed=5))
        if args.executor == "ray":
            compare_executors(root, clip, workers=args.workers, requests=args.requests)
            return
        big = root / "big.mp4"
        render_clip(big, ClipSpec(duration_s=12, width=1920, height=1080, seed=6))
        proc, address = _start_server(root, args.workers)
        try:
            score(clip, ScoreOptions(seed=0))  # warm up this process too
            with ScoringClient(address) as c:
                c.score(str(clip), {"seed": 0})  # warm up the server
                started = time.perf_counter()
                first = None
                for event in c.analyze(str(big)):
                    if event.WhichOneof("event") == "curve":
                        first = time.perf_counter() - started
                        break
            print(f"time to first curve chunk, 1080p file: {first:.3f} s (target <= 0.3 s)")
            rss0 = _rss_mib(proc.pid)

            def local_rate(concurrency: int, *, write: bool) -> float:
                """In-process baseline: the same jobs, as many at once as the server runs."""

                def job(seed: int) -> None:
                    scored = score(clip, ScoreOptions(seed=seed))
                    if write:
                        write_outputs(scored, root / "local" / str(seed), preview=False, plot=False)

                t0 = time.perf_counter()
                with ThreadPoolExecutor(concurrency) as pool:
                    list(pool.map(job, range(args.requests)))
                return args.requests / (time.perf_counter() - t0)

            print(
                f"{'clients':>7} {'scores/s':>9} {'p50 s':>7} {'p95 s':>7} "
                f"{'vs local':>9} {'vs score() only':>16}"
            )
            for n in [int(x) for x in args.clients.split(",")]:
                latencies: list[float] = []

                def one(seed: int, latencies: list[float] = latencies) -> None:
                    with ScoringClient(address) as c:
                        t = time.perf_counter()
                        c.score(str(clip), {"seed": seed}, audio_format=args.audio_format)
                        latencies.append(time.perf_counter() - t)

                t0 = time.perf_counter()
                with ThreadPoolExecutor(n) as pool:
                    list(pool.map(one, range(args.requests)))
                rate = args.requests / (time.perf_counter() - t0)
                q = statistics.quantiles(latencies, n=20) if len(latencies) > 1 else latencies * 19
                local = local_rate(min(n, args.workers), write=True)
                score_only = local_rate(min(n, args.workers), write=False)
                print(
                    f"{n:7d} {rate:9.2f} {statistics.median(latencies):7.2f} {q[18]:7.2f} "
                    f"{rate / local:9.2f} {rate / score_only:16.2f}"
                )
            short = root / "short.mp4"
            render_clip(short, ClipSpec(duration_s=3, cut_times_s=(1.5,), seed=7))
            marks = []
            with ScoringClient(address) as c:
                for i in range(args.memory_requests):
                    c.score(str(short), {"seed": i}, audio_format="pcm_s16le")
                    if (i + 1) % max(1, args.memory_requests // 4) == 0:
                        marks.append(f"{_rss_mib(proc.pid):.0f}")
            print(
                f"server RSS during {args.memory_requests} sequential scores: "
                f"{' -> '.join(marks)} MiB"
            )
            total = args.requests * len(args.clients.split(",")) + args.memory_requests
            print(
                f"server RSS: {rss0:.0f} MiB after warm-up, {_rss_mib(proc.pid):.0f} MiB after "
                f"{total} served scores"
            )
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
