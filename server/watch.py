"""Watch folder: score every video or timeline that lands in a folder.

``v2m watch IN OUT`` (or ``v2m serve --watch IN OUT``) takes each new file in ``IN`` once its
size and modification time have stayed the same for ``stable_s`` (a copy still being written is
left alone), scores it and writes the results to ``OUT/NAME/`` — built in a hidden
``OUT/.NAME.partial/`` and renamed into place, so a result folder is always complete. Inputs are
only ever read. Optional sidecars beside an input: ``NAME.prompt.txt`` (the prompt) and
``NAME.v2m.toml`` (a ``[score]`` table: prompt, style, seed, bpm, key, meter, stems, in, out).

A journal (``OUT/.v2m-journal.jsonl``, one JSON line per event, flushed and synced) makes a
crash or restart neither lose nor repeat work: a file whose result folder exists (or whose
failure is reported) is done; a file that was started but not finished is redone from scratch.
Failures go to ``OUT/failed/NAME.txt`` with a readable reason. Events from ``watchdog`` wake the
scanner early; ``polling=True`` uses its polling observer (network shares, where no file events
arrive); a full scan every ``poll_s`` is the ground truth either way.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import threading
import time
import tomllib
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from v2m.model.backends import backend_entry
from v2m.model.folders import remove_partials
from v2m.model.options import ScoreOptions
from v2m.server.claims import DEFAULT_LEASE_S, Claims
from v2m.server.executor import Executor, LocalExecutor

log = logging.getLogger("v2m.watch")

VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi", ".mxf", ".mts", ".gif")
JOURNAL = ".v2m-journal.jsonl"
SIDECAR_KEYS = (
    *(name for name in ScoreOptions.field_names() if name not in ("in_s", "out_s")),
    "in",
    "out",
)
"""``[score]`` keys of a ``NAME.v2m.toml`` sidecar: the ScoreOptions fields, with the
selection as ``in`` / ``out`` (seconds, or record timecode as text for timelines)."""


@dataclass(frozen=True)
class Input:
    """A file seen in the watch folder and its identity (name, size, mtime)."""

    path: Path
    size: int
    mtime_ns: int

    @property
    def key(self) -> str:
        return f"{self.path.name}|{self.size}|{self.mtime_ns}"


class Journal:
    """Append-only record of what was started, done and failed, replayed at start."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        self.last: dict[str, dict] = {}
        """Input key → its latest entry (``state``: started, done or failed; ``output``)."""
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:  # a line cut short by a crash
                    continue
                self.last[entry["key"]] = entry

    def state(self, key: str) -> str | None:
        return self.last.get(key, {}).get("state")

    def record(self, key: str, state: str, **extra) -> None:
        entry = {"key": key, "state": state, "at": time.time(), **extra}
        line = json.dumps(entry)
        with self._lock:  # jobs of one watcher finish in several threads
            self.last[key] = entry
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(line + "\n")
                f.flush()
                os.fsync(f.fileno())


def is_input(path: Path) -> bool:
    """Videos and timelines; never sidecars, hidden or partial files."""
    from v2m.nle_plugins.timeline import is_timeline

    name = path.name
    if name.startswith(".") or name.endswith((".prompt.txt", ".v2m.toml", ".partial")):
        return False
    return path.suffix.lower() in VIDEO_SUFFIXES or is_timeline(path)


def sidecar_options(path: Path) -> dict:
    """The ``[score]`` table of ``NAME.v2m.toml`` beside ``path`` and the prompt of
    ``NAME.prompt.txt`` (unknown keys refused, naming the valid ones)."""
    from v2m.model.errors import InvalidInputError

    options: dict = {}
    toml = path.with_name(path.stem + ".v2m.toml")
    if toml.is_file():
        try:
            table = tomllib.loads(toml.read_text(encoding="utf-8")).get("score", {})
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InvalidInputError(f"{toml.name}: not valid TOML ({exc})") from exc
        unknown = sorted(set(table) - set(SIDECAR_KEYS))
        if unknown:
            raise InvalidInputError(
                f"{toml.name}: unknown [score] keys {unknown}; valid: {list(SIDECAR_KEYS)}"
            )
        options.update(table)
    prompt = path.with_name(path.stem + ".prompt.txt")
    if prompt.is_file():
        try:
            options["prompt"] = prompt.read_text(encoding="utf-8").strip()
        except UnicodeDecodeError as exc:
            raise InvalidInputError(f"{prompt.name}: not UTF-8 text ({exc})") from exc
    return options


def job_request(path: Path, table: dict, *, preview: bool):
    """The (source, ScoreOptions) a watched file and its sidecar table ask for. ``in`` /
    ``out`` are seconds, or record timecode (text) for a timeline; a relative ``music`` path
    is taken from the input's folder."""
    from v2m.model.errors import InvalidInputError
    from v2m.server.cli_options import stem_list
    from v2m.server.score_job import TimelineSource, source_for

    values = dict(table)
    marks = {k: values.pop(k) for k in ("in", "out") if k in values}
    timecodes = {k: v for k, v in marks.items() if isinstance(v, str)}
    seconds = {f"{k}_s": v for k, v in marks.items() if not isinstance(v, str)}
    if isinstance(values.get("stems"), str):
        values["stems"] = stem_list(values["stems"])
    for name in ("stems", "markers_s"):
        if isinstance(values.get(name), list):
            values[name] = tuple(values[name])
    music = values.get("music")
    if isinstance(music, str) and music.strip() and not Path(music).is_absolute():
        values["music"] = str(path.parent / music)  # beside the input, like its sidecar
    values.setdefault("preview", preview)
    options = ScoreOptions(**values, **seconds)
    source = source_for(
        path,
        in_point=timecodes.get("in"),
        out_point=timecodes.get("out"),
        search_paths=(path.parent,),
    )
    if timecodes and not isinstance(source, TimelineSource):
        raise InvalidInputError(f"in/out of a video are seconds (numbers), got {timecodes}")
    return source, options


def score_input(emit, *, source, options: ScoreOptions, out: Path) -> None:
    """One input's job, as an executor runs it (``emit`` unused: a watcher needs no events)."""
    from v2m.server.score_job import run_score_job

    run_score_job(source, options, out)


class WatchFolder:
    """Scores what lands in ``in_dir`` into ``out_dir``; ``run`` until ``stop`` is called."""

    def __init__(
        self,
        in_dir: str | os.PathLike,
        out_dir: str | os.PathLike,
        *,
        stable_s: float = 2.0,
        poll_s: float = 1.0,
        polling: bool = False,
        preview: bool = True,
        on_done: Callable[[str, str], None] | None = None,
        lease_s: float = DEFAULT_LEASE_S,
        executor: Executor | None = None,
        jobs: int = 1,
    ):
        """``executor`` runs each job (default: in this process; a ``RayExecutor`` hands them
        to a cluster), ``jobs`` of them at once."""
        self.in_dir = Path(in_dir).resolve()
        self.out_dir = Path(out_dir).resolve()
        if not self.in_dir.is_dir():
            from v2m.model.errors import InvalidInputError

            raise InvalidInputError(f"watch folder {str(self.in_dir)!r} is not a directory")
        if self.out_dir == self.in_dir or self.out_dir.is_relative_to(self.in_dir):
            from v2m.model.errors import InvalidInputError

            raise InvalidInputError("the output folder must not lie inside the watch folder")
        (self.out_dir / "failed").mkdir(parents=True, exist_ok=True)
        self.stable_s, self.poll_s, self.polling, self.preview = stable_s, poll_s, polling, preview
        self.on_done = on_done or (lambda name, state: None)
        self.journal = Journal(self.out_dir / JOURNAL)
        self.claims = Claims(self.out_dir, lease_s=lease_s)
        self.executor = executor or LocalExecutor()
        self.jobs = jobs
        self._naming = threading.Lock()
        self._in_flight: set[Path] = set()
        """Result folders this watcher's running jobs will create."""
        self._seen: dict[Path, tuple[int, int, float]] = {}
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._clean_partials()

    def _clean_partials(self) -> None:
        """Half-written results of a crashed run: removed (their inputs are redone), but not
        those another watcher on the same folder is writing now."""
        remove_partials(self.out_dir, keep=self.claims.live_outputs())

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def run(self) -> None:
        observer = self._observe()
        try:
            while not self._stop.is_set():
                self.scan_once()
                self._wake.wait(self.poll_s)
                self._wake.clear()
        finally:
            if observer is not None:
                observer.stop()
                observer.join(timeout=5)

    def _observe(self):
        try:
            from watchdog.events import FileSystemEventHandler
            from watchdog.observers import Observer
            from watchdog.observers.polling import PollingObserver
        except ImportError:  # the periodic scan still works
            return None
        wake = self._wake

        class Wake(FileSystemEventHandler):
            def on_any_event(self, event):
                wake.set()

        observer = (PollingObserver if self.polling else Observer)()
        observer.schedule(Wake(), str(self.in_dir), recursive=False)
        observer.start()
        return observer

    def scan_once(self) -> int:
        """Score every stable, not yet handled input once (``jobs`` at once); returns how
        many were handled."""
        ready: list[Input] = []
        now = time.monotonic()
        for path in sorted(self.in_dir.iterdir()):
            if self._stop.is_set():
                break
            if not path.is_file() or not is_input(path):
                continue
            stat = path.stat()
            item = Input(path, stat.st_size, stat.st_mtime_ns)
            if not self._stable(item, now):
                continue
            if self.journal.state(item.key) in ("done", "failed"):
                continue
            claim = self.claims.state(item.key)
            if claim and claim.get("state") in ("done", "failed"):
                continue  # another watcher on this folder finished it
            ready.append(item)
        if self.jobs == 1:
            for item in ready:
                self.handle(item)
        else:
            with ThreadPoolExecutor(self.jobs, thread_name_prefix="v2m-watch-job") as pool:
                list(pool.map(self.handle, ready))
        return len(ready)

    def _stable(self, item: Input, now: float) -> bool:
        """Unchanged for ``stable_s``: seen with this size and mtime that long ago, or last
        modified that long ago (files already there when the watch starts)."""
        if time.time() - item.mtime_ns / 1e9 >= self.stable_s:
            return True
        previous = self._seen.get(item.path)
        if previous is None or previous[:2] != (item.size, item.mtime_ns):
            self._seen[item.path] = (item.size, item.mtime_ns, now)
            return False
        return now - previous[2] >= self.stable_s

    def _result_dir(self, item: Input) -> Path:
        """``OUT/NAME``, or ``OUT/NAME-2``... when another version of NAME was scored before;
        the same folder again for an input whose run was cut short."""
        started = self.journal.last.get(item.key, {}).get("output")
        if started:
            return Path(started)
        final, n = self.out_dir / item.path.stem, 1
        while final.exists() or final in self._in_flight:
            n += 1
            final = self.out_dir / f"{item.path.stem}-{n}"
        return final

    def handle(self, item: Input) -> None:
        """Score one input: result folder renamed into place, or a failure report."""
        if self._stop.is_set():
            return
        with self._naming:  # two inputs of one name (clip.mp4, clip.mov) get two folders
            final = self._result_dir(item)
            if final.exists():  # renamed into place just before a crash could record it
                self.journal.record(item.key, "done", output=str(final))
                return
            if not self.claims.take(item.key, output=str(final)):
                return  # another watcher on this folder is scoring it
            self._in_flight.add(final)
        try:
            self._score(item, final)
        finally:
            with self._naming:
                self._in_flight.discard(final)

    def _score(self, item: Input, final: Path) -> None:
        """Score a claimed input into ``final`` on the executor; record how it ended."""
        remove_partials(self.out_dir, only=str(final))  # a dead watcher's half-written try
        self.journal.record(item.key, "started", output=str(final))
        started = time.perf_counter()
        alive = self.claims.heartbeat(item.key)
        try:
            source, options = job_request(
                item.path, sidecar_options(item.path), preview=self.preview
            )
            entry = backend_entry(options.backend)
            work = functools.partial(score_input, source=source, options=options, out=final)
            self.executor.run(work, resources=entry.resources_for(options.backend_options))
        except Exception as exc:  # noqa: BLE001 — every failure is reported, the watch goes on
            alive.set()
            self.claims.finish(item.key, "failed", reason=str(exc))
            self._report_failure(item, exc)
            return
        alive.set()
        self.claims.finish(item.key, "done", output=str(final))
        self.journal.record(item.key, "done", output=str(final))
        self._failure_report(item).unlink(missing_ok=True)  # an earlier try of this file failed
        log.info("scored %s in %.1f s -> %s", item.path.name, time.perf_counter() - started, final)
        self.on_done(item.path.name, "done")

    def _failure_report(self, item: Input) -> Path:
        return self.out_dir / "failed" / f"{item.path.name}.txt"

    def _report_failure(self, item: Input, exc: Exception) -> None:
        report = self._failure_report(item)
        text = (
            f"v2m could not score {item.path.name}\n\n"
            f"reason: {exc}\n"
            f"kind: {type(exc).__name__}\n"
            f"input: {item.path} ({item.size} bytes)\n\n"
            "Fix the input (or its .prompt.txt / .v2m.toml sidecar) and copy it in again.\n"
        )
        if not isinstance(exc, ValueError | FileNotFoundError):
            text += "\n" + "".join(traceback.format_exception(exc))
        tmp = report.with_name(f".{report.name}.partial")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, report)
        self.journal.record(item.key, "failed", reason=str(exc))
        log.warning("failed %s: %s", item.path.name, exc)
        self.on_done(item.path.name, "failed")
