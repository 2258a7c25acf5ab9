"""Benchmark: the gRPC server under concurrent clients, against calling the pipeline in-process.

    .venv/bin/python tests/bench/bench_server.py [--clients 1,4,16] [--requests 16]

Starts a real server on 127.0.0.1 (port 0) in this process' background thread, then for each
client count runs that many threads each scoring short clips, and prints throughput
(scores/s), p50/p95 latency, the ratio of served to in-process throughput (same jobs, same
worker count), time to the first Analyze curve chunk for a 1080p file, and peak RSS before and
after (memory must not grow with the number of requests).
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from v2m.model.pipeline import score
from v2m.model.sample_clip import ClipSpec, render_clip
from v2m.nle_plugins.client import ScoringClient
from v2m.server.app import start_server
from v2m.server.settings import ServerSettings


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="1,4,16")
    parser.add_argument("--requests", type=int, default=16, help="scores per client count")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        clip = root / "clip.mp4"
        render_clip(clip, ClipSpec(duration_s=8, cut_times_s=(2.0, 4.5, 6.0), seed=5))
        big = root / "big.mp4"
        render_clip(big, ClipSpec(duration_s=12, width=1920, height=1080, seed=6))
        settings = ServerSettings(
            port=0,
            media_roots=(tmp,),
            workers=args.workers,
            max_queue=64,
            max_streams_per_client=64,
            data_dir=str(root / "data"),
        )
        loop = asyncio.new_event_loop()
        threading.Thread(target=loop.run_forever, daemon=True).start()
        server, port = asyncio.run_coroutine_threadsafe(start_server(settings), loop).result()
        address = f"127.0.0.1:{port}"
        score(clip, seed=0, follow_motion=False)  # warm up caches once
        with ScoringClient(address) as c:
            c.score(str(clip), seed=0)
            started = time.perf_counter()
            first = None
            for event in c.analyze(str(big)):
                if event.WhichOneof("event") == "curve":
                    first = time.perf_counter() - started
                    break
        print(f"time to first curve chunk, 1080p file: {first:.3f} s (target <= 0.3 s)")
        rss0 = _rss_mib()

        def local_rate(concurrency: int) -> float:
            """In-process baseline: the same jobs, as many at once as the server would run."""
            t0 = time.perf_counter()
            with ThreadPoolExecutor(concurrency) as pool:
                list(
                    pool.map(
                        lambda s: score(clip, seed=s, follow_motion=False), range(args.requests)
                    )
                )
            return args.requests / (time.perf_counter() - t0)

        print(f"{'clients':>7} {'scores/s':>9} {'p50 s':>7} {'p95 s':>7} {'vs local':>9}")
        for n in [int(x) for x in args.clients.split(",")]:
            latencies: list[float] = []

            def one(seed: int, latencies: list[float] = latencies) -> None:
                with ScoringClient(address) as c:
                    t = time.perf_counter()
                    c.score(str(clip), seed=seed)
                    latencies.append(time.perf_counter() - t)

            t0 = time.perf_counter()
            with ThreadPoolExecutor(n) as pool:
                list(pool.map(one, range(args.requests)))
            rate = args.requests / (time.perf_counter() - t0)
            q = statistics.quantiles(latencies, n=20) if len(latencies) > 1 else latencies * 19
            baseline = local_rate(min(n, args.workers))
            print(
                f"{n:7d} {rate:9.2f} {statistics.median(latencies):7.2f} {q[18]:7.2f} "
                f"{rate / baseline:9.2f}"
            )
        print(
            f"peak RSS: {rss0:.0f} MiB before the client runs, {_rss_mib():.0f} MiB after "
            f"{args.requests * len(args.clients.split(','))} served scores"
        )
        asyncio.run_coroutine_threadsafe(server.stop(grace=1), loop).result()


if __name__ == "__main__":
    main()
